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
	stateSites                  // the day's stops from the route file
	stateQueue                  // queued and refused work
)

var titles = map[state]string{
	stateRoute: "Route", statePick: "Pick list", stateMachines: "Machines at site",
	stateInventory: "Machine", stateRestock: "Restock", stateSites: "Stops", stateQueue: "Queue",
}

// parent is where esc goes from each screen.
var parent = map[state]state{statePick: stateRoute, stateMachines: stateRoute, stateInventory: stateMachines, stateRestock: stateInventory,
	stateSites: stateRoute, stateQueue: stateMachines}

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
	case connRefused:
		return "refused"
	}
	return "…"
}

func linkState(err error) conn { return linkOf(err) }

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
	sites     *sitesScreen
	queue     *queueScreen

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
	c := &common{d: d, keys: defaultKeys(), worked: map[string]bool{}}
	c.done = loadDone(d.cacheDir, d.now(), d.loc)
	ti := textinput.New()
	ti.Prompt = "/"
	ti.Placeholder = "filter"
	ti.Cursor.SetMode(cursor.CursorStatic)
	return &model{c: c, help: help.New(), filter: ti, width: 80, height: 24,
		route: &routeScreen{c: c, chosen: map[string]bool{}}, pick: &pickScreen{c: c},
		machines: &machinesScreen{c: c}, inventory: &inventoryScreen{c: c}, sites: &sitesScreen{c: c}, queue: &queueScreen{c: c}}
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
	case stateSites:
		return m.sites
	case stateQueue:
		return m.queue
	}
	return m.route
}

// Init loads the cache and starts the first fetches and the retry tick.
func (m *model) Init() tea.Cmd {
	d := m.c.d
	// The cache first, so that a route from central always wins over it.
	first := tea.Sequence(d.loadCache(), d.fetchRoute())
	if d.route != nil {
		// A whole day over many sites: the stops first; the site the
		// driver was at when the app stopped is current again.
		m.state = stateSites
		var cmd tea.Cmd
		if cur := lastSite(d.cacheDir, d.now(), d.loc); cur != "" && d.route.Site(cur) != nil {
			cmd = m.switchSite(cur)
			m.state = stateSites
		}
		return tea.Batch(first, cmd, d.tick())
	}
	if d.noCentral {
		// Edge-only: the site's machines, not an error about central.
		m.state = stateMachines
		return tea.Batch(d.loadCache(), d.fetchMachines(), d.tick())
	}
	return tea.Batch(first, d.fetchMachines(), d.tick())
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
		if msg.edge != nil && c.cached == nil && d.route == nil {
			c.cached = msg.edge
			if c.site == "" {
				c.site = msg.edge.Site
			}
		}
		m.offlineFromCache()
	case routeMsg:
		c.central = linkState(msg.err)
		c.centralErr = ""
		if msg.cands != nil {
			c.cands, c.routeAt, c.routeCached = msg.cands, msg.at, false
		}
		m.offlineFromCache()
		switch {
		case msg.err == nil:
			if strings.HasPrefix(c.status, "refreshing route") {
				c.setStatus("route from central as of %s", msg.at.In(d.loc).Format("15:04:05"))
			}
		case c.cands != nil && errors.Is(msg.err, client.ErrUnreachable):
			c.centralErr = explain("central", msg.err)
			c.setStatus("central unreachable: showing the route cached %s", c.routeAt.In(d.loc).Format("Jan 2 15:04"))
		default:
			c.centralErr = explain("central", msg.err)
			c.setErrText(c.centralErr)
		}
	case machinesMsg:
		if msg.gen != d.gen {
			return m, nil // an answer of the edge of a site the driver left
		}
		c.edge = linkState(msg.err)
		c.edgeErr = ""
		if d.route != nil && msg.site != "" && msg.site != c.site {
			// The route file's URL leads to another site's edge: nothing
			// it says is about this site.
			c.edge = connRefused
			c.edgeErr = fmt.Sprintf("the edge at %s is site %s, not %s: the route file's URL for %s is wrong", d.edgeURL, msg.site, c.site, c.site)
			c.setErrText(c.edgeErr)
			m.offlineFromCache()
			return m, nil
		}
		if msg.site != "" {
			c.site = msg.site
		}
		if msg.err != nil {
			c.edgeErr = explain(c.edgeSide(), msg.err)
			if c.edge == connRefused {
				c.edgeErr += c.edgeHint()
			}
			if c.edge != connOnline && m.offlineFromCache() {
				if c.edge == connOffline {
					c.setStatus("%s", c.offlineNote())
				} else {
					c.setErrText(c.edgeErr)
				}
				return m, nil
			}
			c.setErrText(c.edgeErr)
			if msg.machines == nil {
				return m, nil
			}
		}
		if c.fromCache && c.edge == connOnline && strings.HasPrefix(c.status, "edge unreachable") || strings.HasPrefix(c.status, "at site ") {
			c.setStatus("edge of %s online: %d machine(s)", c.site, len(msg.machines))
		}
		c.machines, c.alerts, c.fromCache = msg.machines, msg.alerts, false
		c.remember(func(e *cachedEdge) { e.FetchedAt, e.Machines, e.Alerts = d.now().UTC(), msg.machines, msg.alerts })
		return m, m.deliverIfPending()
	case inventoryMsg:
		if msg.gen != d.gen {
			return m, nil
		}
		c.edge = linkState(msg.err)
		if msg.err != nil && msg.items == nil {
			why := explain(c.edgeSide(), msg.err)
			if c.edge == connRefused {
				why += c.edgeHint()
			}
			c.edgeErr = why
			if msg.machine == m.inventory.machine {
				m.inventory.err = why
				if items, at, ok := c.cachedInventory(msg.machine); ok {
					m.inventory.items, m.inventory.cachedAt = items, at
					c.cacheAt = at
					if c.edge == connOffline {
						c.setStatus("%s", c.offlineNote())
					} else {
						c.setErrText(why + "; showing the products cached " + at.In(d.loc).Format("15:04"))
					}
					return m, nil
				}
				m.inventory.items = []edgeapi.InventoryItem{}
				c.setErrText(why + "; no products of " + msg.machine + " are cached: nothing to restock from here")
				return m, nil
			}
			c.setErrText(why)
			return m, nil
		}
		c.edgeErr = ""
		if msg.err != nil {
			c.setErr(msg.err)
		}
		c.remember(func(e *cachedEdge) { e.Inventory[msg.machine], e.InventoryAt[msg.machine] = msg.items, d.now().UTC() })
		if msg.machine == m.inventory.machine {
			m.inventory.items, m.inventory.err, m.inventory.cachedAt = msg.items, "", time.Time{}
			if m.inventory.items == nil {
				m.inventory.items = []edgeapi.InventoryItem{}
			}
		}
	case restockMsg:
		return m, m.restocked(msg)
	case deliveredMsg:
		m.delivering = false
		if msg.gen != d.gen {
			return m, nil
		}
		c.edge = linkState(msg.err)
		if len(msg.delivered) > 0 {
			c.worked[c.site] = true
			c.setStatus("delivered %d queued item(s): %s", len(msg.delivered), strings.Join(msg.delivered, ", "))
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
		m.inventory = &inventoryScreen{c: c, machine: msg.id, arrived: d.now()}
		m.goTo(stateInventory)
		if c.edge != connOnline {
			// Known offline or refused: the cached planogram at once, and
			// the edge asked again behind it.
			if items, at, ok := c.cachedInventory(msg.id); ok {
				m.inventory.items, m.inventory.cachedAt = items, at
				c.setStatus("showing %s as cached %s; asking %s…", msg.id, at.In(d.loc).Format("15:04"), c.edgeSide())
			}
		}
		return m, d.fetchInventory(msg.id)
	case switchSiteMsg:
		return m, m.switchSite(msg.site)
	case toggleDoneMsg:
		_, done := c.done[msg.site]
		m.markDone(msg.site, !done)
	case visitWorkMsg:
		if c.site == "" {
			c.setErr(errors.New("this edge has not said which site it is yet: the visit cannot be bound to its site (r to retry the edge)"))
			return m, nil
		}
		r := msg.r
		r.SiteID, r.PerformedAt = c.site, d.now().UTC().Format(time.RFC3339)
		m.sending = true
		return m, d.submit(r, "")
	case startRestockMsg:
		m.restock = newRestockScreen(c, m.inventory.machine, m.inventory.items)
		if msg.count {
			m.restock.col = 3
		}
		m.goTo(stateRestock)
		c.setStatus("restock %s: type numbers, tab to move, + adds the suggested units, enter to confirm", m.inventory.machine)
	case editRefusedMsg:
		p := msg.p
		if p.Restock.SiteID != "" && p.Restock.SiteID != c.site {
			c.setErr(fmt.Errorf("%s was recorded at site %s: go there (S) to edit it", p.Restock.MovementID, p.Restock.SiteID))
			return m, nil
		}
		items, _, _ := c.cachedInventory(p.Machine)
		m.inventory = &inventoryScreen{c: c, machine: p.Machine, items: items, arrived: d.now()}
		m.restock = editRestockScreen(c, p, items)
		m.state = stateRestock
		c.setStatus("editing refused %s: correct it, enter to confirm and resend (the refused one is replaced)", p.Restock.MovementID)
	case resendMsg:
		return m, m.deliverIfPending()
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
		return m, d.submit(r, msg.replaces)
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
	if m.c.edge == connOnline || m.c.edge == connUnknown {
		return false
	}
	return m.offlineFromCacheAny()
}

// offlineFromCacheAny is offlineFromCache whatever the edge's state (a site
// just chosen shows its cached machines while its edge is asked).
func (m *model) offlineFromCacheAny() bool {
	c := m.c
	if (c.machines != nil && !c.fromCache) || c.site == "" {
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
	if kind := msg.restock.Kind(); kind != "restock" {
		switch {
		case msg.result != nil:
			c.edge = connOnline
			c.worked[c.site] = true
			c.setStatus("%s of %s recorded at %s", kind, msg.restock.MachineID, c.edgeSide())
		case msg.queued:
			c.edge = connOffline
			c.worked[c.site] = true
			c.setStatus("%s of %s queued: it goes to %s when it answers", kind, msg.restock.MachineID, c.edgeSide())
		default:
			c.edge = linkState(msg.err)
			c.setErrText(fmt.Sprintf("the edge refused the %s of %s: %v", kind, msg.restock.MachineID, msg.err))
		}
		return nil
	}
	m.sending = false
	switch {
	case msg.result != nil:
		c.edge = connOnline
		word := "restocked"
		if msg.result.Replayed {
			word = "already recorded"
		}
		c.setStatus("%s %s: %d movement(s) recorded at the edge", word, msg.restock.MachineID, len(msg.result.Lines))
		// A refresh that fails next must not hide that this went through.
		c.note = fmt.Sprintf("%s %s went through", word, msg.restock.MachineID)
		c.worked[c.site] = true
		m.inventory.did = markDid(m.inventory.did, msg.restock.Items)
		c.pick.markDone(msg.restock)
		if m.state == stateRestock {
			m.goTo(stateInventory)
		}
		return tea.Batch(c.d.fetchInventory(msg.restock.MachineID), c.d.fetchMachines(), m.savePickCmd())
	case msg.queued:
		c.edge = connOffline
		c.worked[c.site] = true
		m.inventory.did = markDid(m.inventory.did, msg.restock.Items)
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
		c.setErrText(msg.err.Error() + " — refused by " + c.edgeSide() + ", nothing recorded: correct the form and confirm again (esc drops it)")
	}
	return nil
}

func (m *model) savePickCmd() tea.Cmd {
	if m.c.pick == nil {
		return nil
	}
	return m.c.d.savePick(*m.c.pick)
}

func (m *model) clearFilter() {
	m.filtering = false
	m.filter.Blur()
	m.filter.SetValue("")
	m.c.query = ""
}

// key handles a key; leaving a machine's screen (not for its restock
// form) makes the visit record.
func (m *model) key(msg tea.KeyMsg) tea.Cmd {
	was, machine := m.state, m.inventory
	cmd := m.keyIn(msg)
	if was == stateInventory && m.state != stateInventory && m.state != stateRestock && machine == m.inventory {
		return tea.Batch(cmd, m.leaveMachine())
	}
	return cmd
}

// keyIn handles the keys that mean the same on every screen and gives the
// others to the current screen.
func (m *model) keyIn(msg tea.KeyMsg) tea.Cmd {
	k, c := m.c.keys, m.c
	if msg.String() == "ctrl+c" {
		return tea.Quit
	}
	if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 {
		// Keys typed quickly (or by tmux send-keys) arrive together: each
		// rune is a key of its own.
		var cmds []tea.Cmd
		for _, r := range msg.Runes {
			cmds = append(cmds, m.keyIn(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}))
		}
		return tea.Batch(cmds...)
	}
	if m.state == stateInventory && m.inventory.prompting() {
		return m.inventory.promptKey(msg)
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
	case m.state == stateQueue && m.queue.confirm != "":
		return m.queue.update(msg)
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case key.Matches(msg, k.Sites) && c.d.route != nil:
		m.goTo(stateSites)
		return nil
	case key.Matches(msg, k.Queue):
		m.queue.cur = listCursor{}
		m.goTo(stateQueue)
		return nil
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
		if m.state == stateRoute || m.state == statePick || m.state == stateSites {
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
		case stateSites:
			c.setStatus("refreshing route…")
			return c.d.fetchRoute()
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
	if m.state == stateInventory || m.state == stateRestock {
		title += " " + m.inventory.machine
	}
	switch {
	case c.site != "" && m.state == stateMachines:
		title += " " + c.site
	case c.site != "":
		title += " · site " + c.site
	case c.d.route != nil:
		title += " · no site chosen (S)"
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
