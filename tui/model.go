package tui

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/vendsync/vendsync/central/route"
)

// state is the screen the app shows.
type state int

const (
	stateRoute     state = iota // depot: the route candidates from central
	statePick                   // depot: the pick list of the chosen sites
	stateMachines               // site: the machines at the edge
	stateInventory              // site: one machine's products
	stateRestock                // site: the restock form of one machine
)

var titles = map[state]string{
	stateRoute: "Route", statePick: "Pick list", stateMachines: "Machines at site",
	stateInventory: "Machine", stateRestock: "Restock",
}

// conn is what the app knows of a link.
type conn int

const (
	connUnknown conn = iota
	connOnline
	connOffline
)

func (c conn) String() string {
	switch c {
	case connOnline:
		return "online"
	case connOffline:
		return "offline"
	}
	return "…"
}

// Messages: every answer of an I/O command.
type (
	cacheMsg struct {
		route *cachedRoute
		pick  *PickList
		err   error
	}
	routeMsg struct {
		cands []route.Candidate
		at    time.Time
		err   error
	}
	machinesMsg struct {
		machines []Machine
		alerts   []Alert
		err      error
	}
	inventoryMsg struct {
		machine string
		items   []Item
		err     error
	}
	restockMsg struct {
		restock Restock
		result  *RestockResult
		queued  bool
		err     error
	}
	deliveredMsg struct {
		delivered []string // machine ids
		err       error
	}
	exportedMsg struct {
		paths []string
		err   error
	}
	pickSavedMsg struct{ err error }
	tickMsg      struct{}
)

// deps are what the model works with.
type deps struct {
	client     Client
	queue      *Queue
	cacheDir   string
	exportDir  string
	now        func() time.Time
	retryEvery time.Duration
	timeout    time.Duration
	newID      func() string
	loc        *time.Location // times are shown in it (default time.Local)
}

// Model is the root model: it routes keys and messages by state.
type Model struct {
	d      deps
	state  state
	width  int
	height int
	keys   keymap
	help   help.Model

	filter    textinput.Model
	filtering bool
	cursor    map[state]int

	status    string
	statusErr bool
	central   conn
	edge      conn

	cands        []route.Candidate
	routeAt      time.Time
	routeCached  bool
	chosen       map[string]bool
	pick         *PickList
	machines     []Machine
	alerts       []Alert
	machine      string
	items        []Item
	form         []formRow
	col          int
	confirming   bool
	sending      bool
	delivering   bool
	lastDelivery []string
}

func newModel(d deps) *Model {
	if d.now == nil {
		d.now = time.Now
	}
	if d.newID == nil {
		d.newID = randomID
	}
	if d.loc == nil {
		d.loc = time.Local
	}
	if d.timeout == 0 {
		d.timeout = 10 * time.Second
	}
	ti := textinput.New()
	ti.Prompt = "/"
	ti.Placeholder = "filter"
	ti.Cursor.SetMode(cursor.CursorStatic)
	h := help.New()
	return &Model{d: d, keys: defaultKeys(), help: h, filter: ti, cursor: map[state]int{}, chosen: map[string]bool{}, width: 80, height: 24}
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "rs-" + time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

// Init loads the cache and starts the first fetches and the retry tick.
func (m *Model) Init() tea.Cmd {
	return tea.Batch(m.loadCache(), m.fetchRoute(), m.fetchMachines(), m.tick())
}

// --- commands (all I/O happens here) ---

func (m *Model) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), m.d.timeout)
}

func (m *Model) loadCache() tea.Cmd {
	dir := m.d.cacheDir
	return func() tea.Msg {
		var msg cacheMsg
		var r cachedRoute
		ok, err := readJSON(filepath.Join(dir, routeFile), &r)
		if err != nil {
			return cacheMsg{err: err}
		}
		if ok {
			msg.route = &r
		}
		var p PickList
		ok, err = readJSON(filepath.Join(dir, pickFile), &p)
		if err != nil {
			return cacheMsg{err: err}
		}
		if ok {
			msg.pick = &p
		}
		return msg
	}
}

func (m *Model) fetchRoute() tea.Cmd {
	c, dir, now := m.d.client, m.d.cacheDir, m.d.now
	return func() tea.Msg {
		ctx, cancel := m.ctx()
		defer cancel()
		cands, err := c.Candidates(ctx)
		if err != nil {
			return routeMsg{err: err}
		}
		at := now().UTC()
		if err := writeJSON(filepath.Join(dir, routeFile), cachedRoute{FetchedAt: at, Candidates: cands}); err != nil {
			return routeMsg{cands: cands, at: at, err: fmt.Errorf("cache route: %w", err)}
		}
		return routeMsg{cands: cands, at: at}
	}
}

func (m *Model) fetchMachines() tea.Cmd {
	c := m.d.client
	return func() tea.Msg {
		ctx, cancel := m.ctx()
		defer cancel()
		ms, err := c.Machines(ctx)
		if err != nil {
			return machinesMsg{err: err}
		}
		as, err := c.OpenAlerts(ctx)
		return machinesMsg{machines: ms, alerts: as, err: err}
	}
}

func (m *Model) fetchInventory(id string) tea.Cmd {
	c := m.d.client
	return func() tea.Msg {
		ctx, cancel := m.ctx()
		defer cancel()
		items, err := c.Inventory(ctx, id)
		return inventoryMsg{machine: id, items: items, err: err}
	}
}

func (m *Model) savePick(p PickList) tea.Cmd {
	dir := m.d.cacheDir
	return func() tea.Msg { return pickSavedMsg{err: writeJSON(filepath.Join(dir, pickFile), p)} }
}

func (m *Model) export(p PickList) tea.Cmd {
	dir := m.d.exportDir
	return func() tea.Msg {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return exportedMsg{err: fmt.Errorf("export: %w", err)}
		}
		csvPath, txtPath := filepath.Join(dir, "picklist.csv"), filepath.Join(dir, "picklist.txt")
		if err := writeFileSync(csvPath, p.CSV()); err != nil {
			return exportedMsg{err: err}
		}
		if err := writeFileSync(txtPath, p.Text()); err != nil {
			return exportedMsg{err: err}
		}
		return exportedMsg{paths: []string{csvPath, txtPath}}
	}
}

// submit queues r durably first, then delivers the queue: a restock the
// driver confirmed is never lost, and it is sent with the same movementId
// until the edge has answered it (so it is applied exactly once).
func (m *Model) submit(r Restock) tea.Cmd {
	q, c, now := m.d.queue, m.d.client, m.d.now
	return func() tea.Msg {
		if err := q.Add(r, now()); err != nil {
			return restockMsg{restock: r, err: fmt.Errorf("queue restock: %w", err)}
		}
		var mine *RestockResult
		var mineErr error
		_, err := q.Deliver(func(x Restock) error {
			ctx, cancel := m.ctx()
			defer cancel()
			res, err := c.Restock(ctx, x)
			if x.MovementID == r.MovementID {
				if err == nil {
					mine = &res
				} else {
					mineErr = err
				}
			}
			return err
		})
		if mine != nil {
			return restockMsg{restock: r, result: mine}
		}
		if mineErr != nil && !Retryable(mineErr) {
			// Refused: the driver corrects the form and confirms again.
			_ = q.Discard(r.MovementID)
			return restockMsg{restock: r, err: mineErr}
		}
		if err == nil {
			err = mineErr
		}
		return restockMsg{restock: r, queued: true, err: err}
	}
}

func (m *Model) deliver() tea.Cmd {
	q, c := m.d.queue, m.d.client
	return func() tea.Msg {
		var done []string
		_, err := q.Deliver(func(x Restock) error {
			ctx, cancel := m.ctx()
			defer cancel()
			_, err := c.Restock(ctx, x)
			if err == nil {
				done = append(done, x.MachineID)
			}
			return err
		})
		return deliveredMsg{delivered: done, err: err}
	}
}

func (m *Model) tick() tea.Cmd {
	every := m.d.retryEvery
	if every <= 0 {
		return nil
	}
	return tea.Tick(every, func(time.Time) tea.Msg { return tickMsg{} })
}

// --- update ---

func (m *Model) setErr(err error) {
	m.status, m.statusErr = "error: "+err.Error(), true
}

func (m *Model) setStatus(format string, args ...any) {
	m.status, m.statusErr = fmt.Sprintf(format, args...), false
}

func linkState(err error) conn {
	if err != nil && errors.Is(err, ErrUnreachable) {
		return connOffline
	}
	return connOnline
}

// Update implements tea.Model.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = max(msg.Width, 1), max(msg.Height, 1)
		m.help.Width = m.width
		m.filter.Width = max(m.width-4, 1)
		return m, nil
	case tea.KeyMsg:
		return m, m.key(msg)
	case cacheMsg:
		if msg.err != nil {
			m.setErr(msg.err)
		}
		if msg.route != nil && m.cands == nil {
			m.cands, m.routeAt, m.routeCached = msg.route.Candidates, msg.route.FetchedAt, true
		}
		if msg.pick != nil && m.pick == nil {
			m.pick = msg.pick
		}
		return m, nil
	case routeMsg:
		m.central = linkState(msg.err)
		if msg.cands != nil {
			m.cands, m.routeAt, m.routeCached = msg.cands, msg.at, false
			m.clamp(stateRoute)
		}
		if msg.err != nil {
			if m.cands != nil && errors.Is(msg.err, ErrUnreachable) {
				m.setStatus("central unreachable: showing the route cached %s", m.routeAt.In(m.d.loc).Format("Jan 2 15:04"))
			} else {
				m.setErr(msg.err)
			}
		}
		return m, nil
	case machinesMsg:
		m.edge = linkState(msg.err)
		if msg.err != nil {
			m.setErr(msg.err)
			return m, nil
		}
		m.machines, m.alerts = msg.machines, msg.alerts
		m.clamp(stateMachines)
		var cmd tea.Cmd
		if m.d.queue.Pending() > 0 && !m.delivering {
			m.delivering = true
			cmd = m.deliver()
		}
		return m, cmd
	case inventoryMsg:
		m.edge = linkState(msg.err)
		if msg.err != nil {
			m.setErr(msg.err)
			return m, nil
		}
		if msg.machine == m.machine {
			m.items = msg.items
			m.clamp(stateInventory)
		}
		return m, nil
	case restockMsg:
		return m, m.restocked(msg)
	case deliveredMsg:
		m.delivering = false
		if msg.err != nil {
			m.edge = linkState(msg.err)
		} else {
			m.edge = connOnline
		}
		if len(msg.delivered) > 0 {
			m.lastDelivery = msg.delivered
			m.setStatus("delivered %d queued restock(s): %s", len(msg.delivered), strings.Join(msg.delivered, ", "))
			return m, tea.Batch(m.fetchMachines(), m.refreshInventory())
		}
		return m, nil
	case exportedMsg:
		if msg.err != nil {
			m.setErr(msg.err)
		} else {
			m.setStatus("exported %s", strings.Join(msg.paths, " and "))
		}
		return m, nil
	case pickSavedMsg:
		if msg.err != nil {
			m.setErr(msg.err)
		}
		return m, nil
	case tickMsg:
		cmds := []tea.Cmd{m.tick()}
		if m.d.queue.Pending() > 0 && !m.delivering && !m.sending {
			m.delivering = true
			cmds = append(cmds, m.deliver())
		}
		return m, tea.Batch(cmds...)
	}
	if m.filtering {
		var cmd tea.Cmd
		m.filter, cmd = m.filter.Update(msg)
		return m, cmd
	}
	return m, nil
}

func (m *Model) refreshInventory() tea.Cmd {
	if m.machine == "" || (m.state != stateInventory && m.state != stateRestock) {
		return nil
	}
	return m.fetchInventory(m.machine)
}

func (m *Model) restocked(msg restockMsg) tea.Cmd {
	m.sending = false
	switch {
	case msg.result != nil:
		m.edge = connOnline
		word := "restocked"
		if msg.result.Replayed {
			word = "already recorded"
		}
		m.setStatus("%s %s: %d movement(s) recorded at the edge", word, msg.restock.MachineID, len(msg.result.Lines))
		if m.state == stateRestock {
			m.state = stateInventory
		}
		return tea.Batch(m.fetchInventory(msg.restock.MachineID), m.fetchMachines())
	case msg.queued:
		m.edge = connOffline
		m.setStatus("edge unreachable: restock of %s queued (pending), it will be sent when the edge is back", msg.restock.MachineID)
		if m.state == stateRestock {
			m.state = stateInventory
		}
		return nil
	default:
		m.edge = linkState(msg.err)
		m.setErr(msg.err)
		return nil
	}
}

func (m *Model) key(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	if msg.String() == "ctrl+c" {
		return tea.Quit
	}
	if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 {
		// Keys typed quickly (or by tmux send-keys) arrive together: each
		// rune is a key of its own.
		var cmds []tea.Cmd
		for _, r := range msg.Runes {
			cmds = append(cmds, m.key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}))
		}
		return tea.Batch(cmds...)
	}
	if m.filtering {
		switch msg.String() {
		case "esc":
			m.filtering = false
			m.filter.Blur()
			m.filter.SetValue("")
		case "enter":
			m.filtering = false
			m.filter.Blur()
		default:
			var cmd tea.Cmd
			m.filter, cmd = m.filter.Update(msg)
			m.clamp(m.state)
			return cmd
		}
		m.clamp(m.state)
		return nil
	}
	if m.confirming {
		switch msg.String() {
		case "y", "Y", "enter":
			m.confirming = false
			r, err := m.buildRestock()
			if err != nil {
				m.setErr(err)
				return nil
			}
			m.sending = true
			m.setStatus("sending restock of %s…", r.MachineID)
			return m.submit(r)
		case "n", "N", "esc":
			m.confirming = false
			m.setStatus("restock not sent")
		}
		return nil
	}
	if key.Matches(msg, k.Help) {
		m.help.ShowAll = !m.help.ShowAll
		return nil
	}
	if m.state == stateRestock {
		return m.formKey(msg)
	}
	switch {
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case key.Matches(msg, k.Filter):
		m.filtering = true
		return m.filter.Focus()
	case key.Matches(msg, k.Up):
		m.move(-1)
	case key.Matches(msg, k.Down):
		m.move(1)
	case key.Matches(msg, k.Back):
		return m.back()
	case key.Matches(msg, k.Switch):
		m.clearFilter()
		if m.state == stateRoute || m.state == statePick {
			m.state = stateMachines
			return m.fetchMachines()
		}
		m.state = stateRoute
	case key.Matches(msg, k.Refresh):
		switch m.state {
		case stateRoute, statePick:
			m.setStatus("refreshing route…")
			return m.fetchRoute()
		case stateMachines:
			return m.fetchMachines()
		case stateInventory:
			return m.fetchInventory(m.machine)
		}
	default:
		return m.stateKey(msg)
	}
	return nil
}

func (m *Model) clearFilter() {
	m.filtering = false
	m.filter.Blur()
	m.filter.SetValue("")
}

func (m *Model) back() tea.Cmd {
	if m.filter.Value() != "" {
		m.clearFilter()
		m.clamp(m.state)
		return nil
	}
	switch m.state {
	case statePick:
		m.state = stateRoute
	case stateInventory:
		m.state = stateMachines
	case stateMachines:
		m.state = stateRoute
	}
	return nil
}

func (m *Model) stateKey(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	rows := m.visible(m.state)
	cur := m.cursor[m.state]
	switch m.state {
	case stateRoute:
		switch {
		case key.Matches(msg, k.Toggle):
			if cur < len(rows) {
				s := m.cands[rows[cur]].Site
				m.chosen[s] = !m.chosen[s]
			}
		case key.Matches(msg, k.Pick), key.Matches(msg, k.Open):
			var chosen []route.Candidate
			for _, c := range m.cands {
				if m.chosen[c.Site] {
					chosen = append(chosen, c)
				}
			}
			if len(chosen) == 0 && cur < len(rows) {
				chosen = []route.Candidate{m.cands[rows[cur]]}
			}
			if len(chosen) == 0 {
				m.setErr(errors.New("no site to build a pick list for"))
				return nil
			}
			p := BuildPickList(chosen, m.d.now())
			m.pick = &p
			m.clearFilter()
			m.state = statePick
			m.cursor[statePick] = 0
			m.setStatus("pick list for %d site(s): %d units", len(p.Sites), p.TotalUnits)
			return m.savePick(p)
		}
	case statePick:
		if key.Matches(msg, k.Export) {
			if m.pick == nil {
				m.setErr(errors.New("no pick list yet: choose sites in the route view"))
				return nil
			}
			return m.export(*m.pick)
		}
	case stateMachines:
		if key.Matches(msg, k.Discard) {
			n := 0
			for _, p := range m.d.queue.Items() {
				if p.Error == "" {
					continue
				}
				if err := m.d.queue.Discard(p.Restock.MovementID); err != nil {
					m.setErr(err)
					return nil
				}
				n++
			}
			m.setStatus("discarded %d refused restock(s)", n)
			return nil
		}
		if key.Matches(msg, k.Open) && cur < len(rows) {
			m.machine = m.machines[rows[cur]].MachineID
			m.items = nil
			m.clearFilter()
			m.state = stateInventory
			m.cursor[stateInventory] = 0
			return m.fetchInventory(m.machine)
		}
	case stateInventory:
		if key.Matches(msg, k.Open) || msg.String() == "R" {
			if len(m.items) == 0 {
				m.setErr(fmt.Errorf("no products loaded for %s yet (r to refresh)", m.machine))
				return nil
			}
			m.startForm()
		}
	}
	return nil
}

// --- restock form ---

// formRow is one product in the restock form; fields hold what was typed.
type formRow struct {
	item   Item
	fields [5]string // added, expired, damaged, counted, expiry
}

var formCols = []string{"ADDED", "EXPIRED", "DAMAGED", "COUNTED", "NEW EXPIRY"}

func (m *Model) startForm() {
	m.form = make([]formRow, len(m.items))
	for i, it := range m.items {
		// What the pick list loaded for the slot, but never past its par
		// level: the slot may have been refilled or counted since.
		add := max(0, it.ParLevel-it.Quantity)
		if planned, ok := m.pick.Planned(m.machine, it.ProductID); ok {
			add = min(add, planned)
		}
		m.form[i] = formRow{item: it}
		if add > 0 {
			m.form[i].fields[0] = strconv.FormatInt(add, 10)
		}
	}
	m.state = stateRestock
	m.cursor[stateRestock] = 0
	m.col = 0
	m.setStatus("restock %s: type numbers, tab to move, enter to confirm", m.machine)
}

func (m *Model) formKey(msg tea.KeyMsg) tea.Cmd {
	k := m.keys
	row := m.cursor[stateRestock]
	if row >= len(m.form) {
		m.state = stateInventory
		return nil
	}
	f := &m.form[row].fields[m.col]
	switch s := msg.String(); {
	case key.Matches(msg, k.Cancel):
		m.state = stateInventory
		m.setStatus("restock cancelled")
	case key.Matches(msg, k.Confirm):
		if _, err := m.buildRestock(); err != nil {
			m.setErr(err)
			return nil
		}
		m.confirming = true
	case key.Matches(msg, k.NextField):
		m.col = (m.col + 1) % len(formCols)
	case key.Matches(msg, k.PrevField):
		m.col = (m.col + len(formCols) - 1) % len(formCols)
	case key.Matches(msg, k.Up):
		m.move(-1)
	case key.Matches(msg, k.Down):
		m.move(1)
	case s == "backspace":
		if *f != "" {
			*f = (*f)[:len(*f)-1]
		}
	case len(s) == 1 && s >= "0" && s <= "9", s == "-" && m.col == 4:
		if len(*f) < 10 {
			*f += s
		}
	}
	return nil
}

func parseField(name, product, v string) (int64, bool, error) {
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false, fmt.Errorf("%s of %s: %q is not a whole number", name, product, v)
	}
	return n, true, nil
}

// buildRestock turns the form into a restock, checking what can be checked
// here; the edge checks again.
func (m *Model) buildRestock() (Restock, error) {
	r := Restock{MachineID: m.machine}
	for _, row := range m.form {
		p := row.item.ProductID
		var vals [4]int64
		var set [4]bool
		for i := 0; i < 4; i++ {
			v, ok, err := parseField(strings.ToLower(formCols[i]), p, row.fields[i])
			if err != nil {
				return r, err
			}
			vals[i], set[i] = v, ok
		}
		if vals[1]+vals[2] > row.item.Quantity {
			return r, fmt.Errorf("%s: cannot remove %d units, the machine holds %d", p, vals[1]+vals[2], row.item.Quantity)
		}
		exp := row.fields[4]
		if exp != "" {
			if _, err := time.Parse(time.DateOnly, exp); err != nil {
				return r, fmt.Errorf("new expiry of %s: %q is not a date YYYY-MM-DD", p, exp)
			}
		}
		line := RestockLine{ProductID: p, Added: vals[0], RemovedExpired: vals[1], RemovedDamaged: vals[2], ExpiryDate: exp}
		if set[3] {
			c := vals[3]
			line.CountedQuantity = &c
		}
		if line.Added == 0 && line.RemovedExpired == 0 && line.RemovedDamaged == 0 && line.CountedQuantity == nil && exp == "" {
			continue
		}
		r.Items = append(r.Items, line)
	}
	if len(r.Items) == 0 {
		return r, errors.New("nothing to record: enter units added, removed or counted")
	}
	r.MovementID = m.d.newID()
	return r, nil
}

// --- lists, filter and cursor ---

func (m *Model) rowText(s state, i int) string {
	switch s {
	case stateRoute:
		c := m.cands[i]
		return c.Site + " " + c.City + " " + c.Summary()
	case statePick:
		l := m.pick.Lines[i]
		return l.ProductID + " " + l.Name + " " + strings.Join(l.Machines, " ")
	case stateMachines:
		mc := m.machines[i]
		return mc.MachineID + " " + mc.Location.City + " " + mc.Location.Building + " " + strings.Join(m.machineAlerts(mc.MachineID), " ")
	case stateInventory:
		it := m.items[i]
		return it.ProductID + " " + it.Name + " " + strings.Join(it.OpenAlerts, " ")
	}
	return ""
}

func (m *Model) count(s state) int {
	switch s {
	case stateRoute:
		return len(m.cands)
	case statePick:
		if m.pick == nil {
			return 0
		}
		return len(m.pick.Lines)
	case stateMachines:
		return len(m.machines)
	case stateInventory:
		return len(m.items)
	case stateRestock:
		return len(m.form)
	}
	return 0
}

// visible lists the indexes of the rows the filter lets through.
func (m *Model) visible(s state) []int {
	n := m.count(s)
	q := strings.ToLower(strings.TrimSpace(m.filter.Value()))
	out := make([]int, 0, n)
	for i := 0; i < n; i++ {
		if q == "" || s == stateRestock || strings.Contains(strings.ToLower(m.rowText(s, i)), q) {
			out = append(out, i)
		}
	}
	return out
}

func (m *Model) clamp(s state) {
	n := len(m.visible(s))
	if m.cursor[s] >= n {
		m.cursor[s] = n - 1
	}
	if m.cursor[s] < 0 {
		m.cursor[s] = 0
	}
}

func (m *Model) move(d int) {
	m.cursor[m.state] += d
	m.clamp(m.state)
}

func (m *Model) machineAlerts(id string) []string {
	counts := map[string]int{}
	for _, a := range m.alerts {
		if a.MachineID == id {
			counts[a.Type]++
		}
	}
	out := make([]string, 0, len(counts))
	for t, n := range counts {
		if n > 1 {
			out = append(out, fmt.Sprintf("%s×%d", t, n))
		} else {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// --- view ---

var (
	titleStyle  = lipgloss.NewStyle().Bold(true)
	selStyle    = lipgloss.NewStyle().Reverse(true)
	errStyle    = lipgloss.NewStyle().Foreground(lipgloss.Color("9"))
	dimStyle    = lipgloss.NewStyle().Faint(true)
	statusStyle = lipgloss.NewStyle().Reverse(true)
)

// View implements tea.Model.
func (m *Model) View() string {
	w := max(m.width, 10)
	var head []string
	title := "vendsync driver · " + titles[m.state]
	if m.state == stateInventory || m.state == stateRestock {
		title += " " + m.machine
	}
	head = append(head, titleStyle.Render(ansi.Truncate(title, w, "…")))
	if m.filtering || m.filter.Value() != "" {
		head = append(head, ansi.Truncate(m.filter.View(), w, "…"))
	}
	header, rows, footer := m.body(w)
	helpView := m.help.View(m.keys.forState(m.state))
	foot := []string{m.statusLine(w)}
	for _, l := range strings.Split(helpView, "\n") {
		foot = append(foot, ansi.Truncate(l, w, "…"))
	}
	room := m.height - len(head) - len(header) - len(footer) - len(foot)
	room = max(room, 1)
	cur := m.cursor[m.state]
	start := 0
	if cur >= room {
		start = cur - room + 1
	}
	end := min(len(rows), start+room)
	lines := append([]string{}, head...)
	for _, l := range header {
		lines = append(lines, ansi.Truncate(l, w, "…"))
	}
	for i := start; i < end; i++ {
		l := ansi.Truncate(rows[i], w, "…")
		if i == cur && m.state != stateRestock {
			l = selStyle.Render(l)
		}
		lines = append(lines, l)
	}
	for i := end - start; i < room; i++ {
		lines = append(lines, "")
	}
	for _, l := range footer {
		lines = append(lines, ansi.Truncate(l, w, "…"))
	}
	lines = append(lines, foot...)
	if len(lines) > m.height {
		lines = lines[:m.height]
	}
	return strings.Join(lines, "\n")
}

func (m *Model) statusLine(w int) string {
	pending := m.d.queue.Pending()
	failed := len(m.d.queue.Items()) - pending
	s := fmt.Sprintf(" central %s │ edge %s │ pending %d", m.central, m.edge, pending)
	if failed > 0 {
		s += fmt.Sprintf(" │ refused %d", failed)
	}
	if m.confirming {
		return statusStyle.Render(ansi.Truncate(s+" │ send this restock to the edge? y/n ", w, "…"))
	}
	line := statusStyle.Render(ansi.Truncate(s+" ", w, "…"))
	if m.status != "" {
		msg := ansi.Truncate(m.status, max(w-ansi.StringWidth(s)-2, 0), "…")
		if m.statusErr {
			msg = errStyle.Render(msg)
		}
		line = statusStyle.Render(s+" ") + " " + msg
	}
	return line
}

// body returns the header lines, the rows (scrolled by View) and the footer.
func (m *Model) body(w int) (header, rows, footer []string) {
	vis := m.visible(m.state)
	switch m.state {
	case stateRoute:
		src := "central"
		if m.routeCached {
			src = "cache"
		}
		if m.cands == nil {
			header = []string{dimStyle.Render("loading the route from central…")}
			return
		}
		header = []string{fmt.Sprintf("%d site(s) by priority · from %s %s · %d chosen", len(m.cands), src, m.routeAt.In(m.d.loc).Format("Jan 2 15:04"), m.countChosen()),
			fmt.Sprintf("   %-16s %-12s %5s  %s", "SITE", "CITY", "SCORE", "WHY")}
		for _, i := range vis {
			c := m.cands[i]
			mark := "[ ]"
			if m.chosen[c.Site] {
				mark = "[x]"
			}
			rows = append(rows, fmt.Sprintf("%s %-16s %-12s %5d  %s", mark, c.Site, c.City, c.Score, c.Summary()))
		}
		if len(m.cands) == 0 {
			rows = append(rows, "nothing needs a visit")
		}
	case statePick:
		if m.pick == nil {
			header = []string{"no pick list yet: choose sites in the route view (space) and press p"}
			return
		}
		p := m.pick
		header = []string{fmt.Sprintf("sites %s · built %s", strings.Join(p.Sites, ", "), p.BuiltAt.In(m.d.loc).Format("Jan 2 15:04")),
			fmt.Sprintf("%-12s %-20s %6s %6s %8s  %s", "PRODUCT", "NAME", "NEED", "UNITS", "CASES", "MACHINES")}
		for _, i := range vis {
			l := p.Lines[i]
			cases := "-"
			if l.CasePack > 0 {
				cases = fmt.Sprintf("%d×%d", l.Cases, l.CasePack)
			}
			rows = append(rows, fmt.Sprintf("%-12s %-20s %6d %6d %8s  %s", l.ProductID, l.Name, l.Need, l.Units, cases, strings.Join(l.Machines, " ")))
		}
		footer = []string{fmt.Sprintf("%-12s %-20s %6s %6d %8d", "TOTAL", "", "", p.TotalUnits, p.TotalCases)}
	case stateMachines:
		if m.machines == nil {
			header = []string{dimStyle.Render("connecting to the site's edge…")}
		} else {
			header = []string{fmt.Sprintf("%-14s %-24s %-12s %s", "MACHINE", "LOCATION", "STATUS", "OPEN ALERTS")}
		}
		pending := map[string]int{}
		for _, p := range m.d.queue.Items() {
			pending[p.Machine]++
		}
		for _, i := range vis {
			mc := m.machines[i]
			loc := mc.Location.City
			if mc.Location.Building != "" {
				loc += "/" + mc.Location.Building
			}
			al := strings.Join(m.machineAlerts(mc.MachineID), ", ")
			if al == "" {
				al = "-"
			}
			if pending[mc.MachineID] > 0 {
				al += fmt.Sprintf("  [%d restock pending]", pending[mc.MachineID])
			}
			rows = append(rows, fmt.Sprintf("%-14s %-24s %-12s %s", mc.MachineID, loc, mc.Status, al))
		}
		for _, p := range m.d.queue.Items() {
			st := "pending"
			if p.Error != "" {
				st = "refused: " + p.Error
			}
			footer = append(footer, fmt.Sprintf("queued %s for %s at %s (%d attempts): %s", p.Restock.MovementID, p.Machine, p.QueuedAt.In(m.d.loc).Format("15:04"), p.Attempts, st))
		}
	case stateInventory:
		if m.items == nil {
			header = []string{dimStyle.Render("loading products…")}
			return
		}
		header = []string{fmt.Sprintf("%-12s %-20s %6s %6s %7s  %-10s  %s", "PRODUCT", "NAME", "STOCK", "PAR", "PLANNED", "EXPIRY", "OPEN ALERTS")}
		for _, i := range vis {
			it := m.items[i]
			planned := "-"
			if n, ok := m.pick.Planned(m.machine, it.ProductID); ok {
				planned = strconv.FormatInt(n, 10)
			}
			exp := it.ExpiryDate
			if exp == "" {
				exp = "-"
			}
			al := strings.Join(it.OpenAlerts, ", ")
			if al == "" {
				al = "-"
			}
			rows = append(rows, fmt.Sprintf("%-12s %-20s %6d %6d %7s  %-10s  %s", it.ProductID, it.Name, it.Quantity, it.ParLevel, planned, exp, al))
		}
	case stateRestock:
		header = []string{fmt.Sprintf("%-12s %6s %6s  %-7s %-7s %-7s %-7s %-10s", "PRODUCT", "STOCK", "PAR", formCols[0], formCols[1], formCols[2], formCols[3], formCols[4])}
		cur := m.cursor[stateRestock]
		for i, r := range m.form {
			cells := make([]string, len(formCols))
			for c := range formCols {
				width := 7
				if c == 4 {
					width = 10
				}
				v := r.fields[c]
				if v == "" {
					v = "·"
				}
				cell := fmt.Sprintf("%-*s", width, v)
				if i == cur && c == m.col {
					cell = selStyle.Render(cell)
				}
				cells[c] = cell
			}
			rows = append(rows, fmt.Sprintf("%-12s %6d %6d  %s", r.item.ProductID, r.item.Quantity, r.item.ParLevel, strings.Join(cells, " ")))
		}
	}
	return
}

func (m *Model) countChosen() int {
	n := 0
	for _, c := range m.cands {
		if m.chosen[c.Site] {
			n++
		}
	}
	return n
}
