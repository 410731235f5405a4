package tui

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// Messages: every answer of an I/O command, and the screens' requests to
// the root model.
type (
	cacheMsg struct {
		route *cachedRoute
		pick  *PickList
		edge  *cachedEdge
		err   error
	}
	routeMsg struct {
		cands []hqapi.Candidate
		at    time.Time
		err   error
	}
	machinesMsg struct {
		gen      int
		site     string
		machines []edgeapi.Machine
		alerts   []edgeapi.Alert
		err      error
	}
	inventoryMsg struct {
		gen     int
		machine string
		items   []edgeapi.InventoryItem
		err     error
	}
	restockMsg struct {
		restock Restock
		result  *edgeapi.RestockResult
		queued  bool
		err     error
	}
	deliveredMsg struct {
		gen       int
		delivered []string // machine ids
		err       error
	}
	exportedMsg struct {
		paths []string
		err   error
	}
	pickSavedMsg struct{ err error }
	tickMsg      struct{}

	// From the screens to the root.
	pickBuiltMsg    struct{ pick PickList }
	openMachineMsg  struct{ id string }
	startRestockMsg struct{ count bool }
	// submitMsg sends a restock; replaces is the refused one it corrects.
	submitMsg struct {
		restock  Restock
		replaces string
	}
)

// deps are what the app works with.
type deps struct {
	client     Client
	queue      *Queue
	edge       *edgeCache
	edgeURL    string // the configured edge (its cache is kept under it)
	cacheDir   string
	exportDir  string
	now        func() time.Time
	retryEvery time.Duration
	timeout    time.Duration
	newID      func() string
	loc        *time.Location // times are shown in it (default time.Local)

	// route is the route file (nil: one edge from the flags); dial makes
	// the client of one of its sites; depot is where the day starts.
	route *RouteFile
	dial  func(RouteSite) Client
	depot *Point
	// noCentral: edge-only, no central URL configured.
	noCentral bool
	// gen counts site changes: an answer of an earlier site's edge is dropped.
	gen int
	log zerolog.Logger
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "rs-" + time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

func send(msg tea.Msg) tea.Cmd { return func() tea.Msg { return msg } }

func (d deps) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d.timeout)
}

func (d deps) loadCache() tea.Cmd {
	return func() tea.Msg {
		var msg cacheMsg
		var r cachedRoute
		ok, err := readJSON(filepath.Join(d.cacheDir, routeFile), &r)
		if err != nil {
			return cacheMsg{err: err}
		}
		if ok {
			msg.route = &r
		}
		var p PickList
		ok, err = readJSON(filepath.Join(d.cacheDir, pickFile), &p)
		if err != nil {
			return cacheMsg{err: err}
		}
		if ok {
			msg.pick = &p
		}
		e, ok, err := d.edge.load(d.edgeURL)
		if err != nil {
			return cacheMsg{err: err}
		}
		if ok {
			msg.edge = &e
		}
		return msg
	}
}

// fetchRoute gets the route from central and caches it for the road.
func (d deps) fetchRoute() tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := d.ctx()
		defer cancel()
		cands, err := d.client.Candidates(ctx)
		if err != nil {
			return routeMsg{err: err}
		}
		at := d.now().UTC()
		if err := writeJSON(filepath.Join(d.cacheDir, routeFile), cachedRoute{FetchedAt: at, Candidates: cands}); err != nil {
			return routeMsg{cands: cands, at: at, err: fmt.Errorf("cache route: %w", err)}
		}
		return routeMsg{cands: cands, at: at}
	}
}

func (d deps) fetchMachines() tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := d.ctx()
		defer cancel()
		ml, err := d.client.Machines(ctx)
		if err != nil {
			return machinesMsg{gen: d.gen, err: err}
		}
		as, err := d.client.OpenAlerts(ctx)
		if err != nil {
			return machinesMsg{gen: d.gen, site: ml.Site, err: err}
		}
		at := d.now().UTC()
		err = d.edge.update(d.edgeURL, ml.Site, func(e *cachedEdge) {
			e.FetchedAt, e.Machines, e.Alerts = at, ml.Machines, as
		})
		if err != nil {
			err = fmt.Errorf("cache machines: %w", err)
		}
		return machinesMsg{gen: d.gen, site: ml.Site, machines: ml.Machines, alerts: as, err: err}
	}
}

func (d deps) fetchInventory(id string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := d.ctx()
		defer cancel()
		items, err := d.client.Inventory(ctx, id)
		if err == nil {
			at := d.now().UTC()
			if cerr := d.edge.update(d.edgeURL, "", func(e *cachedEdge) { e.Inventory[id], e.InventoryAt[id] = items, at }); cerr != nil {
				err = fmt.Errorf("cache products: %w", cerr)
			}
		}
		return inventoryMsg{gen: d.gen, machine: id, items: items, err: err}
	}
}

func (d deps) savePick(p PickList) tea.Cmd {
	return func() tea.Msg { return pickSavedMsg{err: writeJSON(filepath.Join(d.cacheDir, pickFile), p)} }
}

func (d deps) export(p PickList) tea.Cmd {
	return func() tea.Msg {
		if err := os.MkdirAll(d.exportDir, 0o755); err != nil {
			return exportedMsg{err: fmt.Errorf("export: %w", err)}
		}
		csvPath, txtPath := filepath.Join(d.exportDir, "picklist.csv"), filepath.Join(d.exportDir, "picklist.txt")
		if err := writeFileSync(csvPath, p.CSV()); err != nil {
			return exportedMsg{err: err}
		}
		if err := writeFileSync(txtPath, p.Text()); err != nil {
			return exportedMsg{err: err}
		}
		return exportedMsg{paths: []string{csvPath, txtPath}}
	}
}

// exportKits writes the per-machine kits (kit.csv, kit.txt) for labels.
func (d deps) exportKits(p PickList) tea.Cmd {
	return func() tea.Msg {
		if err := os.MkdirAll(d.exportDir, 0o755); err != nil {
			return exportedMsg{err: fmt.Errorf("export kits: %w", err)}
		}
		csvPath, txtPath := filepath.Join(d.exportDir, "kit.csv"), filepath.Join(d.exportDir, "kit.txt")
		if err := writeFileSync(csvPath, p.KitCSV()); err != nil {
			return exportedMsg{err: err}
		}
		if err := writeFileSync(txtPath, p.KitText()); err != nil {
			return exportedMsg{err: err}
		}
		d.log.Info().Str("csv", csvPath).Int("slots", len(p.Slots)).Msg("kits exported")
		return exportedMsg{paths: []string{csvPath, txtPath}}
	}
}

// submit queues r durably first, then delivers the queue: a restock the
// driver confirmed is never lost, and it is sent with the same movementId
// until the edge has answered it (so it is applied exactly once).
func (d deps) submit(r Restock, replaces string) tea.Cmd {
	if d.route != nil && r.VanID == "" && len(r.Items) > 0 {
		r.VanID = d.route.VanID // the units come from the driver's van
	}
	site := r.SiteID
	log := d.log.With().Str("site", site).Str("machine", r.MachineID).Str("movement", r.MovementID).Logger()
	return func() tea.Msg {
		if err := d.queue.Add(r, d.now()); err != nil {
			log.Error().Err(err).Msg("restock not queued")
			return restockMsg{restock: r, err: fmt.Errorf("queue restock: %w", err)}
		}
		log.Info().Str("kind", r.Kind()).Str("lines", lineSummary(r.Items)).Msg("queued")
		if replaces != "" {
			if err := d.queue.Discard(replaces); err != nil {
				log.Error().Err(err).Str("replaces", replaces).Msg("refused restock not replaced")
			} else {
				log.Info().Str("replaces", replaces).Msg("refused restock replaced by the edited one")
			}
		}
		var mine *edgeapi.RestockResult
		var mineErr error
		_, err := d.queue.Deliver(site, func(x Restock) error {
			ctx, cancel := d.ctx()
			defer cancel()
			res, err := deliverOne(ctx, d.client, x)
			if x.MovementID == r.MovementID {
				if err == nil {
					if res == nil {
						res = &edgeapi.RestockResult{}
					}
					mine = res
				} else {
					mineErr = err
				}
			}
			return err
		})
		if mine != nil {
			log.Info().Bool("replayed", mine.Replayed).Msg("restock delivered")
			return restockMsg{restock: r, result: mine}
		}
		if mineErr != nil && !client.Retryable(mineErr) && r.Kind() != "restock" {
			// Refused: kept, with the reason, for the driver to see (Q).
			log.Warn().Err(mineErr).Msg(r.Kind() + " refused by the edge (kept in the queue)")
			return restockMsg{restock: r, err: mineErr}
		}
		if mineErr != nil && !client.Retryable(mineErr) {
			// Refused: the driver corrects the form and confirms again.
			_ = d.queue.Discard(r.MovementID)
			log.Warn().Err(mineErr).Msg("restock refused by the edge (the form stays open to correct it)")
			return restockMsg{restock: r, err: mineErr}
		}
		if err == nil && mineErr == nil && !d.queue.Has(r.MovementID) {
			// Another delivery took it to the edge first.
			return restockMsg{restock: r, result: &edgeapi.RestockResult{}}
		}
		if err == nil {
			err = mineErr
		}
		log.Info().AnErr("reason", err).Msg("waits in the queue for the edge")
		return restockMsg{restock: r, queued: true, err: err}
	}
}

// deliver sends the queued restocks of site.
func (d deps) deliver(site string) tea.Cmd {
	return func() tea.Msg {
		var done []string
		_, err := d.queue.Deliver(site, func(x Restock) error {
			ctx, cancel := d.ctx()
			defer cancel()
			_, err := deliverOne(ctx, d.client, x)
			log := d.log.With().Str("site", site).Str("machine", x.MachineID).Str("movement", x.MovementID).Logger()
			switch {
			case err == nil:
				done = append(done, x.MachineID)
				log.Info().Str("kind", x.Kind()).Msg("queued work delivered")
			case siteMismatch(err):
				log.Warn().Err(err).Msg("queued restock kept: the edge says it belongs to another site")
			case client.Retryable(err):
				log.Info().AnErr("reason", err).Msg("queued restock still waits")
			default:
				log.Warn().Err(err).Msg("queued restock refused by the edge")
			}
			return err
		})
		return deliveredMsg{gen: d.gen, delivered: done, err: err}
	}
}

func (d deps) tick() tea.Cmd {
	if d.retryEvery <= 0 {
		return nil
	}
	return tea.Tick(d.retryEvery, func(time.Time) tea.Msg { return tickMsg{} })
}
