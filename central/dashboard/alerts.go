package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/wire"
)

// Severity of an alert type: critical ones lose sales or stock now or are
// a health risk; the rest want attention on the next visit.
const (
	sevCritical = "critical"
	sevWarning  = "warning"
)

var critical = []wire.AlertType{wire.OutOfStock, wire.Expired, wire.TemperatureHigh, wire.PowerOff, wire.MachineOffline}

func severity(t string) string {
	if slices.Contains(critical, wire.AlertType(t)) {
		return sevCritical
	}
	return sevWarning
}

// faultView is a fault as listed.
type faultView struct {
	Site, Machine, City, Type, Description, Status, UpdatedBy string
	ID                                                        int64
	Reported, Updated                                         time.Time
	Resolved                                                  *time.Time
}

// alertView is an alert as listed.
type alertView struct {
	Site, Machine, City, Product, Type, Severity, Status, Detail string
	ID                                                           int64
	Opened                                                       time.Time
	Closed                                                       *time.Time
}

func (d *Dashboard) faultList(ctx context.Context, f readmodel.FaultFilter) ([]faultView, error) {
	fs, err := d.cfg.Store.Faults(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]faultView, 0, len(fs))
	for _, x := range fs {
		out = append(out, faultView{Site: x.Site, ID: x.FaultID, Machine: x.MachineID, City: x.City, Type: x.FaultType,
			Description: x.Description, Status: x.Status, UpdatedBy: x.By, Reported: x.ReportedAt, Updated: x.EventTime, Resolved: x.ResolvedAt})
	}
	return out, nil
}

func (d *Dashboard) alertList(ctx context.Context, f readmodel.AlertFilter) ([]alertView, error) {
	as, err := d.cfg.Store.Alerts(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]alertView, 0, len(as))
	for _, x := range as {
		out = append(out, alertView{Site: x.Site, ID: x.AlertID, Machine: x.MachineID, City: x.City, Product: x.ProductID,
			Type: x.Type, Severity: severity(x.Type), Status: x.Status, Detail: x.Detail, Opened: x.OpenedAt, Closed: x.ClosedAt})
	}
	return out, nil
}

// alertFilter is the alerts page's filter form.
type alertFilter struct {
	City, Site, Type string
	// Status is open (open alerts, open and in-progress faults), closed
	// (closed alerts, resolved faults) or all.
	Status string
}

// alertsPage is GET /ui/alerts.
type alertsPage struct {
	Filter     alertFilter
	Faults     []faultView
	Alerts     []alertView
	Types      []string
	Back       string
	Limit      int
	FaultsMore bool
	AlertsMore bool
}

// listLimit caps each list of the alerts page.
const listLimit = 200

func (d *Dashboard) alerts(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	f := alertFilter{City: strings.TrimSpace(q.Get("city")), Site: strings.TrimSpace(q.Get("siteId")),
		Type: strings.ToUpper(strings.TrimSpace(q.Get("type"))), Status: q.Get("status")}
	if f.Status != "closed" && f.Status != "all" {
		f.Status = "open"
	}
	if f.Site != "" {
		if err := envelope.ValidateSiteID(f.Site); err != nil {
			return httpErr(http.StatusBadRequest, "Site %q: %v.", f.Site, err)
		}
	}
	p := alertsPage{Filter: f, Back: r.URL.RequestURI(), Limit: listLimit}
	for _, t := range wire.AlertTypes {
		p.Types = append(p.Types, string(t))
	}
	ctx := r.Context()
	var faultStatuses, alertStatus []string
	switch f.Status {
	case "open":
		faultStatuses, alertStatus = []string{"OPEN", "IN_PROGRESS"}, []string{"OPEN"}
	case "closed":
		faultStatuses, alertStatus = []string{"RESOLVED"}, []string{"CLOSED"}
	default:
		faultStatuses, alertStatus = []string{""}, []string{""}
	}
	isAlertType := slices.Contains(p.Types, f.Type)
	if !isAlertType {
		for _, st := range faultStatuses {
			fs, err := d.faultList(ctx, readmodel.FaultFilter{Status: st, City: f.City, Site: f.Site, Limit: listLimit + 1})
			if err != nil {
				return err
			}
			for _, x := range fs {
				if f.Type == "" || x.Type == f.Type {
					p.Faults = append(p.Faults, x)
				}
			}
		}
		slices.SortStableFunc(p.Faults, func(a, b faultView) int { return b.Updated.Compare(a.Updated) })
		if len(p.Faults) > listLimit {
			p.Faults, p.FaultsMore = p.Faults[:listLimit], true
		}
	}
	if f.Type == "" || isAlertType {
		as, err := d.alertList(ctx, readmodel.AlertFilter{Status: alertStatus[0], Type: f.Type, City: f.City, Site: f.Site, Limit: listLimit + 1})
		if err != nil {
			return err
		}
		if len(as) > listLimit {
			as, p.AlertsMore = as[:listLimit], true
		}
		p.Alerts = as
	}
	return d.render(w, r, http.StatusOK, "alerts", "Alerts & faults", s, p)
}

// updateFault is POST /ui/faults/{siteId}/{faultId}: the API's PATCH
// /faults/{siteId}/{faultId}, called in-process, sends the new status down
// to the site; the fault's row changes when the site's answer comes back up.
func (d *Dashboard) updateFault(w http.ResponseWriter, r *http.Request, s *session) error {
	site, id := r.PathValue("siteId"), r.PathValue("faultId")
	status := strings.ToUpper(r.PostFormValue("status"))
	back := safeNext(r.PostFormValue("back"))
	if _, err := strconv.ParseInt(id, 10, 64); err != nil || envelope.ValidateSiteID(site) != nil {
		return httpErr(http.StatusNotFound, "There is no fault %s at site %s.", id, site)
	}
	res, err := d.callAPI(r.Context(), s, http.MethodPatch, "/faults/"+url.PathEscape(site)+"/"+id, map[string]string{"status": status})
	if err != nil {
		return err
	}
	if res.status != http.StatusAccepted {
		return apiError(res)
	}
	d.log.Info().Str("client", s.ClientID).Str("site", site).Str("fault", id).Str("status", status).Msg("fault update sent from the dashboard")
	msg := fmt.Sprintf("Sent %s for fault %s to site %s; the list shows it once the site confirms.", status, id, site)
	http.Redirect(w, r, withFlash(back, msg), http.StatusSeeOther)
	return nil
}

func withFlash(path, msg string) string {
	u, err := url.Parse(path)
	if err != nil {
		return Prefix
	}
	q := u.Query()
	q.Set("flash", msg)
	u.RawQuery = q.Encode()
	return u.String()
}

// apiAnswer is what an in-process API call answered.
type apiAnswer struct {
	status int
	header http.Header
	body   bytes.Buffer
}

func (a *apiAnswer) Header() http.Header         { return a.header }
func (a *apiAnswer) Write(b []byte) (int, error) { return a.body.Write(b) }
func (a *apiAnswer) WriteHeader(status int) {
	if a.status == 0 {
		a.status = status
	}
}

// apiRequest builds an in-process API request on behalf of the session's
// client, with a token that lives a minute.
func (d *Dashboard) apiRequest(ctx context.Context, s *session, method, path string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode api body: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return nil, fmt.Errorf("api request: %w", err)
	}
	tok, err := d.cfg.Signer.Issue(auth.Claims{ClientID: s.ClientID, Role: s.Role}, d.cfg.Now())
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.RemoteAddr = "127.0.0.1:0"
	return req, nil
}

// callAPI calls the API in-process and returns its whole answer.
func (d *Dashboard) callAPI(ctx context.Context, s *session, method, path string, body any) (*apiAnswer, error) {
	req, err := d.apiRequest(ctx, s, method, path, body)
	if err != nil {
		return nil, err
	}
	res := &apiAnswer{header: http.Header{}}
	d.cfg.API.ServeHTTP(res, req)
	if res.status == 0 {
		res.status = http.StatusOK
	}
	return res, nil
}

// apiError shows an API error answer's message.
func apiError(a *apiAnswer) error {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(a.body.Bytes(), &e) == nil && e.Error.Message != "" {
		return httpErr(a.status, "%s", e.Error.Message)
	}
	return fmt.Errorf("api answered %d: %s", a.status, a.body.String())
}
