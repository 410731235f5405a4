package tui

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
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

// parent is where esc goes from each screen.
var parent = map[state]state{statePick: stateRoute, stateMachines: stateRoute, stateInventory: stateMachines, stateRestock: stateInventory}

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

func linkState(err error) conn {
	if err != nil && errors.Is(err, client.ErrUnreachable) {
		return connOffline
	}
	return connOnline
}

// model is the root model: it owns the data (common), applies every I/O
// answer to it, handles the keys that mean the same everywhere, and routes
// the others to the concrete screen of the current state.
type model struct {
	c      *common
	state  state
	width  int
	height int
	help   help.Model

	filter    textinput.Model
	filtering bool

	route     *routeScreen
	pick      *pickScreen
	machines  *machinesScreen
	inventory *inventoryScreen
	restock   *restockScreen // nil outside the restock form

	sending    bool
	delivering bool
}

func newModel(d deps) *model {
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
	if d.edge == nil {
		d.edge = &edgeCache{path: filepath.Join(d.cacheDir, edgeFile)}
	}
	c := &common{d: d, keys: defaultKeys()}
	ti := textinput.New()
	ti.Prompt = "/"
	ti.Placeholder = "filter"
	ti.Cursor.SetMode(cursor.CursorStatic)
	return &model{c: c, help: help.New(), filter: ti, width: 80, height: 24,
		route: &routeScreen{c: c, chosen: map[string]bool{}}, pick: &pickScreen{c: c},
		machines: &machinesScreen{c: c}, inventory: &inventoryScreen{c: c}}
}

func (m *model) screen() screen {
	switch m.state {
	case statePick:
		return m.pick
	case stateMachines:
		return m.machines
	case stateInventory:
		return m.inventory
	case stateRestock:
		if m.restock != nil {
			return m.restock
		}
	}
	return m.route
}

// Init loads the cache and starts the first fetches and the retry tick.
func (m *model) Init() tea.Cmd {
	d := m.c.d
	// The cache first, so that a route from central always wins over it.
	return tea.Batch(tea.Sequence(d.loadCache(), d.fetchRoute()), d.fetchMachines(), d.tick())
}

func (m *model) goTo(s state) {
	m.clearFilter()
	m.state = s
	if s != stateRestock {
		m.restock = nil
	}
}

// Update implements tea.Model.
func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	c, d := m.c, m.c.d
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
			c.setErr(msg.err)
		}
		if msg.route != nil && c.cands == nil {
			c.cands, c.routeAt, c.routeCached = msg.route.Candidates, msg.route.FetchedAt, true
		}
		if msg.pick != nil && c.pick == nil {
			c.pick = msg.pick
		}
		if msg.edge != nil && c.cached == nil {
			c.cached = msg.edge
			if c.site == "" {
				c.site = msg.edge.Site
			}
		}
		m.offlineFromCache()
	case routeMsg:
		c.central = linkState(msg.err)
		if msg.cands != nil {
			c.cands, c.routeAt, c.routeCached = msg.cands, msg.at, false
		}
		m.offlineFromCache()
		switch {
		case msg.err == nil:
		case c.cands != nil && errors.Is(msg.err, client.ErrUnreachable):
			c.setStatus("central unreachable: showing the route cached %s", c.routeAt.In(d.loc).Format("Jan 2 15:04"))
		default:
			c.setErr(msg.err)
		}
	case machinesMsg:
		c.edge = linkState(msg.err)
		if msg.site != "" {
			c.site = msg.site
		}
		if msg.err != nil {
			if c.edge == connOffline && m.offlineFromCache() {
				c.setStatus("%s", c.offlineNote())
				return m, nil
			}
			c.setErr(msg.err)
			if msg.machines == nil {
				return m, nil
			}
		}
		c.machines, c.alerts, c.fromCache = msg.machines, msg.alerts, false
		c.remember(func(e *cachedEdge) { e.FetchedAt, e.Machines, e.Alerts = d.now().UTC(), msg.machines, msg.alerts })
		return m, m.deliverIfPending()
	case inventoryMsg:
		c.edge = linkState(msg.err)
		if msg.err != nil && msg.items == nil {
			if c.edge == connOffline && msg.machine == m.inventory.machine {
				if items, at, ok := c.cachedInventory(msg.machine); ok {
					m.inventory.items = items
					c.cacheAt = at
					c.setStatus("%s", c.offlineNote())
					return m, nil
				}
				m.inventory.items = []edgeapi.InventoryItem{}
				c.setStatus("edge unreachable and no products of %s are cached: nothing to restock from here", msg.machine)
				return m, nil
			}
			c.setErr(msg.err)
			return m, nil
		}
		if msg.err != nil {
			c.setErr(msg.err)
		}
		c.remember(func(e *cachedEdge) { e.Inventory[msg.machine], e.InventoryAt[msg.machine] = msg.items, d.now().UTC() })
		if msg.machine == m.inventory.machine {
			m.inventory.items = msg.items
			if m.inventory.items == nil {
				m.inventory.items = []edgeapi.InventoryItem{}
			}
		}
	case restockMsg:
		return m, m.restocked(msg)
	case deliveredMsg:
		m.delivering = false
		c.edge = linkState(msg.err)
		if len(msg.delivered) > 0 {
			c.setStatus("delivered %d queued restock(s): %s", len(msg.delivered), strings.Join(msg.delivered, ", "))
			return m, tea.Batch(d.fetchMachines(), m.refreshInventory())
		}
	case exportedMsg:
		if msg.err != nil {
			c.setErr(msg.err)
		} else {
			c.setStatus("exported %s", strings.Join(msg.paths, " and "))
		}
	case pickSavedMsg:
		if msg.err != nil {
			c.setErr(msg.err)
		}
	case tickMsg:
		cmds := []tea.Cmd{d.tick(), m.deliverIfPending()}
		if c.edge == connOffline && c.fromCache && m.state != stateRoute && m.state != statePick {
			cmds = append(cmds, d.fetchMachines()) // is the edge back?
		}
		return m, tea.Batch(cmds...)
	case pickBuiltMsg:
		p := msg.pick
		c.pick = &p
		m.pick.cur = listCursor{}
		m.goTo(statePick)
		c.setStatus("pick list for %d site(s): %d units", len(p.Sites), p.TotalUnits)
		return m, d.savePick(p)
	case openMachineMsg:
		m.inventory = &inventoryScreen{c: c, machine: msg.id}
		m.goTo(stateInventory)
		return m, d.fetchInventory(msg.id)
	case startRestockMsg:
		m.restock = newRestockScreen(c, m.inventory.machine, m.inventory.items)
		m.goTo(stateRestock)
		c.setStatus("restock %s: type numbers, tab to move, enter to confirm", m.inventory.machine)
	case submitMsg:
		if c.site == "" {
			c.setErr(errors.New("this edge has not said which site it is yet: the visit cannot be bound to its site (r to retry the edge)"))
			return m, nil
		}
		// The visit is bound to this site and to now: queued, it goes only
		// to this site's edge, and a count is applied as of now.
		r := msg.restock
		r.SiteID, r.PerformedAt = c.site, d.now().UTC().Format(time.RFC3339)
		m.sending = true
		return m, d.submit(r)
	default:
		if m.filtering {
			var cmd tea.Cmd
			m.filter, cmd = m.filter.Update(msg)
			return m, cmd
		}
	}
	return m, nil
}

func (m *model) deliverIfPending() tea.Cmd {
	q := m.c.d.queue
	if q.Pending()-q.PendingElsewhere(m.c.site) == 0 || m.delivering || m.sending || m.c.site == "" {
		return nil
	}
	m.delivering = true
	return m.c.d.deliver(m.c.site)
}

// offlineFromCache shows the site's machines from cached data when the
// edge is unreachable: the edge's own last answers or the route central
// last sent for this site, whichever is newer. It reports whether it did.
func (m *model) offlineFromCache() bool {
	c := m.c
	if c.edge != connOffline || (c.machines != nil && !c.fromCache) || c.site == "" {
		return false
	}
	var at time.Time
	var ms []edgeapi.Machine
	var as []edgeapi.Alert
	if e := c.cached; e != nil && e.Site == c.site && e.Machines != nil {
		at, ms, as = e.FetchedAt, e.Machines, e.Alerts
	}
	if cand := c.routeOf(c.site); cand != nil && (ms == nil || c.routeAt.After(at)) {
		at, ms, as = c.routeAt, nil, nil
		for _, rm := range cand.Machines {
			mc := edgeapi.Machine{MachineID: rm.MachineID, Status: rm.Status, Location: edgeapi.Location{City: rm.City, Building: rm.Building}}
			ms = append(ms, mc)
			for _, a := range rm.Alerts {
				as = append(as, edgeapi.Alert{MachineID: rm.MachineID, Type: a})
			}
			for _, sl := range rm.Slots {
				for _, a := range sl.Alerts {
					as = append(as, edgeapi.Alert{MachineID: rm.MachineID, ProductID: sl.ProductID, Type: a})
				}
			}
		}
		if ms == nil {
			ms = []edgeapi.Machine{}
		}
	}
	if ms == nil {
		return false
	}
	c.machines, c.alerts, c.fromCache, c.cacheAt = ms, as, true, at
	return true
}

func (m *model) refreshInventory() tea.Cmd {
	if m.inventory.machine == "" || (m.state != stateInventory && m.state != stateRestock) {
		return nil
	}
	return m.c.d.fetchInventory(m.inventory.machine)
}

func (m *model) restocked(msg restockMsg) tea.Cmd {
	c := m.c
	m.sending = false
	switch {
	case msg.result != nil:
		c.edge = connOnline
		word := "restocked"
		if msg.result.Replayed {
			word = "already recorded"
		}
		c.setStatus("%s %s: %d movement(s) recorded at the edge", word, msg.restock.MachineID, len(msg.result.Lines))
		if m.state == stateRestock {
			m.goTo(stateInventory)
		}
		return tea.Batch(c.d.fetchInventory(msg.restock.MachineID), c.d.fetchMachines())
	case msg.queued:
		c.edge = connOffline
		if c.cacheAt.IsZero() {
			c.setStatus("edge unreachable: restock of %s queued (pending), it will be sent when the edge is back", msg.restock.MachineID)
		} else {
			c.setStatus("restock of %s queued; %s", msg.restock.MachineID, c.offlineNote())
		}
		if m.state == stateRestock {
			m.goTo(stateInventory)
		}
	default:
		c.edge = linkState(msg.err)
		c.setErr(msg.err)
	}
	return nil
}

func (m *model) clearFilter() {
	m.filtering = false
	m.filter.Blur()
	m.filter.SetValue("")
	m.c.query = ""
}

// key handles the keys that mean the same on every screen and gives the
// others to the current screen.
func (m *model) key(msg tea.KeyMsg) tea.Cmd {
	k, c := m.c.keys, m.c
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
			m.clearFilter()
		case "enter":
			m.filtering = false
			m.filter.Blur()
		default:
			var cmd tea.Cmd
			m.filter, cmd = m.filter.Update(msg)
			c.query = strings.ToLower(strings.TrimSpace(m.filter.Value()))
			return cmd
		}
		return nil
	}
	if m.state == stateRestock && m.restock != nil {
		switch {
		case m.restock.confirming:
		case key.Matches(msg, k.Help):
			m.help.ShowAll = !m.help.ShowAll
			return nil
		case key.Matches(msg, k.Cancel):
			m.goTo(stateInventory)
			c.setStatus("restock cancelled")
			return nil
		}
		return m.restock.update(msg)
	}
	switch {
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
	case key.Matches(msg, k.Filter):
		m.filtering = true
		return m.filter.Focus()
	case key.Matches(msg, k.Back):
		if c.query != "" {
			m.clearFilter()
		} else if p, ok := parent[m.state]; ok {
			m.goTo(p)
		}
	case key.Matches(msg, k.Switch):
		if m.state == stateRoute || m.state == statePick {
			m.goTo(stateMachines)
			return c.d.fetchMachines()
		}
		m.goTo(stateRoute)
	case key.Matches(msg, k.Refresh):
		switch m.state {
		case stateRoute, statePick:
			c.setStatus("refreshing route…")
			return c.d.fetchRoute()
		case stateMachines:
			return c.d.fetchMachines()
		case stateInventory:
			return c.d.fetchInventory(m.inventory.machine)
		}
	default:
		return m.screen().update(msg)
	}
	return nil
}

// View implements tea.Model: title, the screen's header, its rows scrolled
// to the selection, its footer, the status line and the help, cut to the
// terminal's size.
func (m *model) View() string {
	c := m.c
	w := max(m.width, 10)
	cut := func(s string) string { return ansi.Truncate(s, w, "…") }
	title := "vendsync driver · " + titles[m.state]
	if m.state == stateMachines && c.site != "" {
		title += " " + c.site
	}
	if m.state == stateInventory || m.state == stateRestock {
		title += " " + m.inventory.machine
	}
	lines := []string{titleStyle.Render(cut(title))}
	if m.filtering || m.filter.Value() != "" {
		lines = append(lines, cut(m.filter.View()))
	}
	scr := m.screen()
	header, rows, sel, footer := scr.view()
	foot := []string{m.statusLine(w)}
	for _, l := range strings.Split(m.help.View(scr.help()), "\n") {
		foot = append(foot, cut(l))
	}
	room := max(m.height-len(lines)-len(header)-len(footer)-len(foot), 1)
	start := 0
	if sel >= room {
		start = sel - room + 1
	}
	end := min(len(rows), start+room)
	for _, l := range header {
		lines = append(lines, cut(l))
	}
	for i := start; i < end; i++ {
		l := cut(rows[i])
		if i == sel && m.state != stateRestock { // the form highlights its cell
			l = selStyle.Render(l)
		}
		lines = append(lines, l)
	}
	for i := end - start; i < room; i++ {
		lines = append(lines, "")
	}
	for _, l := range footer {
		lines = append(lines, cut(l))
	}
	lines = append(lines, foot...)
	if len(lines) > m.height {
		lines = lines[:m.height]
	}
	return strings.Join(lines, "\n")
}

func (m *model) statusLine(w int) string {
	c := m.c
	pending := c.d.queue.Pending()
	refused := len(c.d.queue.Items()) - pending
	elsewhere := c.d.queue.PendingElsewhere(c.site)
	s := fmt.Sprintf(" central %s │ edge %s │ pending %d", c.central, c.edge, pending-elsewhere)
	if elsewhere > 0 {
		s += fmt.Sprintf(" │ other sites %d", elsewhere)
	}
	if refused > 0 {
		s += fmt.Sprintf(" │ refused %d", refused)
	}
	if m.restock != nil && m.restock.confirming {
		return statusStyle.Render(ansi.Truncate(s+" │ send this restock to the edge? y/n ", w, "…"))
	}
	if c.status == "" {
		return statusStyle.Render(ansi.Truncate(s+" ", w, "…"))
	}
	msg := ansi.Truncate(c.status, max(w-ansi.StringWidth(s)-2, 0), "…")
	if c.statusErr {
		msg = errStyle.Render(msg)
	}
	return statusStyle.Render(ansi.Truncate(s+" ", w, "…")) + " " + msg
}
