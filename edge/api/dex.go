package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/vendsync/vendsync/edge/dex"
	"github.com/vendsync/vendsync/edge/dex/audit"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/web"
)

// MaxDEXBody is the largest DEX file POST /machines/{id}/dex takes.
const MaxDEXBody = dex.MaxSize

var (
	// dexUploaders may upload a machine's DEX file: the machine itself
	// (its own only), a driver, an admin.
	dexUploaders = []auth.Role{auth.RoleMachine, auth.RoleDriver, auth.RoleAdmin}
	// dexReaders may read reconciliations.
	dexReaders = []auth.Role{auth.RoleAdmin, auth.RoleOps, auth.RoleFinance, auth.RoleDriver}
)

// dexRoutes are the DEX audit, visit and cash endpoints.
var dexRoutes = []Route{
	{Method: "POST", Pattern: "/machines/{id}/dex", Roles: dexUploaders},
	{Method: "GET", Pattern: "/reconciliations", Roles: dexReaders},
	{Method: "POST", Pattern: "/machines/{id}/visits", Roles: field},
	{Method: "POST", Pattern: "/machines/{id}/cash-collections", Roles: field},
}

func (s *server) dexHandlers() map[string]web.Handler {
	return map[string]web.Handler{
		"POST /machines/{id}/dex":              s.uploadDEX,
		"GET /reconciliations":                 s.listReconciliations,
		"POST /machines/{id}/visits":           s.postVisit,
		"POST /machines/{id}/cash-collections": s.postCash,
	}
}

// dexRules is the DEX rules, or a 503 when the edge runs without them.
func (s *server) dexRules() (*audit.Rules, error) {
	if s.cfg.Audit == nil {
		return nil, web.Errorf(http.StatusServiceUnavailable, "UNAVAILABLE", "", "DEX audits are not enabled on this edge")
	}
	return s.cfg.Audit, nil
}

// uploadDEX takes a raw DEX file (text/plain) for a machine: 201 with the
// parsed read and its reconciliation, or the first answer again with
// Idempotent-Replayed: true for the same file. ?readAt= (RFC 3339) says
// when the meters were read when the file does not.
func (s *server) uploadDEX(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.dexRules()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := ownMachine(r, id); err != nil {
		return err
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "text/plain" && mt != "application/octet-stream") {
			return web.Errorf(http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "Content-Type",
				"a DEX file is sent as text/plain, not %q", ct)
		}
	}
	tooLarge := web.Errorf(http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE", "", "a DEX file is at most %d bytes", MaxDEXBody)
	if web.TooLong(r, MaxDEXBody) {
		return tooLarge
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxDEXBody))
	if err != nil {
		var tooB *http.MaxBytesError
		if errors.As(err, &tooB) {
			return tooLarge
		}
		return web.Errorf(http.StatusBadRequest, "INVALID_DEX", "body", "body could not be read: %v", err)
	}
	out, err := rules.Upload(r.Context(), audit.Upload{MachineID: id, Raw: raw, ReadAt: r.URL.Query().Get("readAt")}, who(r))
	if err != nil {
		return err
	}
	writeRecorded(w, out.Replayed, out)
	return nil
}

// listReconciliations answers GET /reconciliations?machineId=&from=&to=&limit=
// (from/to: RFC 3339, or a date or local time in the site's timezone).
func (s *server) listReconciliations(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.dexRules()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	n, err := limit(r)
	if err != nil {
		return err
	}
	f := audit.Query{MachineID: q.Get("machineId"), Limit: n}
	loc := s.cfg.Store.Site.Loc
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			*p.dst = t
			continue
		}
		naive, err := web.ParseRangeTime(p.name, v, loc)
		if err != nil {
			return err
		}
		*p.dst = time.Date(naive.Year(), naive.Month(), naive.Day(), naive.Hour(), naive.Minute(), naive.Second(), 0, loc)
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return web.Invalid("from", "from must be before to")
	}
	recs, err := rules.Reconciliations(r.Context(), f)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, edgeapi.ReconciliationList{Reconciliations: recs})
	return nil
}

// postVisit records a driver's visit: 201, or the first answer again with
// Idempotent-Replayed: true for a replayed visitId.
func (s *server) postVisit(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.dexRules()
	if err != nil {
		return err
	}
	var in edgeapi.VisitIn
	if err := web.Decode(w, r, &in, MaxBody); err != nil {
		return err
	}
	out, err := rules.Visit(r.Context(), r.PathValue("id"), in, who(r))
	if err != nil {
		return err
	}
	writeRecorded(w, out.Replayed, out)
	return nil
}

// postCash records a cash collection: 201 with what was expected, or the
// first answer again with Idempotent-Replayed: true for a replayed
// collectionId.
func (s *server) postCash(w http.ResponseWriter, r *http.Request) error {
	rules, err := s.dexRules()
	if err != nil {
		return err
	}
	var in edgeapi.CashIn
	if err := web.Decode(w, r, &in, MaxBody); err != nil {
		return err
	}
	out, err := rules.CashCollection(r.Context(), r.PathValue("id"), in, who(r))
	if err != nil {
		return err
	}
	writeRecorded(w, out.Replayed, out)
	return nil
}
