package tui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// Files in the cache directory.
const (
	routeFile = "route.json"
	pickFile  = "picklist.json"
	queueFile = "queue.json"
	edgeFile  = "edge.json"
)

// writeFileSync replaces path with data durably: a temporary file is
// written and fsync'd, renamed over path, and the directory fsync'd.
func writeFileSync(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return writeFileSync(path, append(b, '\n'))
}

// readJSON reads path into v; a missing file leaves v alone and is not an error.
func readJSON(path string, v any) (bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	return true, nil
}

// cachedRoute is the last route fetched from central.
type cachedRoute struct {
	FetchedAt  time.Time         `json:"fetchedAt"`
	Candidates []hqapi.Candidate `json:"candidates"`
}

// cachedEdge is the last data fetched from the site's edge: which site it
// is, its machines and alerts, and each machine's products as last seen.
type cachedEdge struct {
	EdgeURL     string                             `json:"edgeUrl"`
	Site        string                             `json:"site"`
	FetchedAt   time.Time                          `json:"fetchedAt"`
	Machines    []edgeapi.Machine                  `json:"machines"`
	Alerts      []edgeapi.Alert                    `json:"alerts"`
	Inventory   map[string][]edgeapi.InventoryItem `json:"inventory"`
	InventoryAt map[string]time.Time               `json:"inventoryAt"`
}

// edgeCache keeps cachedEdge on disk; the fetch commands update it from
// their goroutines.
type edgeCache struct {
	path string
	mu   sync.Mutex
}

// load reads the cache; ok is false when there is none for edgeURL (a
// cache of another edge says nothing about this one).
func (c *edgeCache) load(edgeURL string) (e cachedEdge, ok bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	found, err := readJSON(c.path, &e)
	if err != nil || !found || e.EdgeURL != edgeURL || e.Site == "" {
		return cachedEdge{}, false, err
	}
	return e, true, nil
}

// update applies fn to the cache of edgeURL (a new one if the cache holds
// another edge or another site) and writes it durably.
func (c *edgeCache) update(edgeURL, site string, fn func(*cachedEdge)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var e cachedEdge
	if _, err := readJSON(c.path, &e); err != nil || e.EdgeURL != edgeURL || (site != "" && e.Site != site) {
		e = cachedEdge{EdgeURL: edgeURL, Site: site}
	}
	if e.Inventory == nil {
		e.Inventory, e.InventoryAt = map[string][]edgeapi.InventoryItem{}, map[string]time.Time{}
	}
	fn(&e)
	if e.Site == "" {
		return nil // nothing worth keeping before the edge said which site it is
	}
	return writeJSON(c.path, e)
}

// Pending is a restock waiting to be delivered to the edge.
type Pending struct {
	Restock  Restock   `json:"restock"`
	Machine  string    `json:"machineId"`
	QueuedAt time.Time `json:"queuedAt"`
	// Error is the last refusal from the edge (a non-retryable answer): the
	// entry stays for the driver to see and is not retried.
	Error    string `json:"error,omitempty"`
	Attempts int    `json:"attempts"`
}

// Queue is the on-disk queue of restocks not yet acknowledged by the edge.
// Every change is fsync'd before it returns, so a restock confirmed by the
// driver survives a crash or a flat battery.
type Queue struct {
	path string
	mu   sync.Mutex
	// sending serializes deliveries: one restock is on the wire at a time.
	sending sync.Mutex
	items   []Pending
}

// OpenQueue loads the queue in dir (empty if there is none yet).
func OpenQueue(dir string) (*Queue, error) {
	q := &Queue{path: filepath.Join(dir, queueFile)}
	if _, err := readJSON(q.path, &q.items); err != nil {
		return nil, err
	}
	for i := range q.items {
		// The machine is part of the URL, not of the body.
		q.items[i].Restock.MachineID = q.items[i].Machine
	}
	return q, nil
}

// Items returns a copy of the queue.
func (q *Queue) Items() []Pending {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]Pending(nil), q.items...)
}

// Pending counts the entries still to deliver.
func (q *Queue) Pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, p := range q.items {
		if p.Error == "" {
			n++
		}
	}
	return n
}

// PendingElsewhere counts the entries still to deliver that belong to
// another site than site.
func (q *Queue) PendingElsewhere(site string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for _, p := range q.items {
		if p.Error == "" && !p.forSite(site) {
			n++
		}
	}
	return n
}

// forSite reports whether p may be delivered to site's edge. An entry
// queued before visits were bound to a site has none and goes anywhere.
func (p Pending) forSite(site string) bool {
	return p.Restock.SiteID == "" || p.Restock.SiteID == site
}

// Add appends r durably.
func (q *Queue) Add(r Restock, now time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := append(append([]Pending(nil), q.items...), Pending{Restock: r, Machine: r.MachineID, QueuedAt: now})
	if err := writeJSON(q.path, items); err != nil {
		return err
	}
	q.items = items
	return nil
}

// update applies fn to the entry with movement id, durably; fn returning
// false removes it.
func (q *Queue) update(id string, fn func(*Pending) bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := make([]Pending, 0, len(q.items))
	for _, p := range q.items {
		if p.Restock.MovementID == id && !fn(&p) {
			continue
		}
		items = append(items, p)
	}
	if err := writeJSON(q.path, items); err != nil {
		return err
	}
	q.items = items
	return nil
}

// Deliver sends every pending restock of site in order with send; visits
// bound to another site stay queued, untouched, for that site's edge (and
// with site "" — the edge's site not known yet — only unbound ones go). A
// delivered one (including an idempotent replay) leaves the queue; a
// refused one stays, marked with the refusal; one the edge says belongs to
// another site stays as it is; delivery stops at the first retryable
// failure. It returns how many were delivered and the error that stopped it.
func (q *Queue) Deliver(site string, send func(Restock) error) (int, error) {
	q.sending.Lock()
	defer q.sending.Unlock()
	n := 0
	for _, p := range q.Items() {
		if p.Error != "" || !p.forSite(site) {
			continue
		}
		err := send(p.Restock)
		switch {
		case siteMismatch(err):
			continue
		case err == nil:
			if uerr := q.update(p.Restock.MovementID, func(*Pending) bool { return false }); uerr != nil {
				return n, uerr
			}
			n++
		case client.Retryable(err):
			_ = q.update(p.Restock.MovementID, func(x *Pending) bool { x.Attempts++; return true })
			return n, err
		default:
			if uerr := q.update(p.Restock.MovementID, func(x *Pending) bool { x.Attempts++; x.Error = err.Error(); return true }); uerr != nil {
				return n, uerr
			}
		}
	}
	return n, nil
}

// siteMismatch reports the edge's refusal of a visit recorded at another site.
func siteMismatch(err error) bool {
	var e *client.Error
	return errors.As(err, &e) && e.Code == "SITE_MISMATCH"
}

// Has reports whether the entry with movement id is in the queue.
func (q *Queue) Has(id string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, p := range q.items {
		if p.Restock.MovementID == id {
			return true
		}
	}
	return false
}

// Retry clears an entry's refusal so it is delivered again as it is.
func (q *Queue) Retry(id string) error {
	return q.update(id, func(p *Pending) bool { p.Error = ""; return true })
}

// Discard removes a refused entry the driver has seen.
func (q *Queue) Discard(id string) error {
	return q.update(id, func(*Pending) bool { return false })
}
