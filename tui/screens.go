package tui

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// common is what every screen reads: the app's data, owned by the root
// model, which alone changes it from the I/O messages.
type common struct {
	d    deps
	keys keymap

	status    string
	statusErr bool
	central   conn
	edge      conn

	cands       []hqapi.Candidate
	routeAt     time.Time
	routeCached bool
	pick        *PickList
	machines    []edgeapi.Machine
	alerts      []edgeapi.Alert
	// site is the edge's site: from its answers, else from the edge cache.
	// Visits are bound to it.
	site string
	// cached is what the app last fetched from this edge (nil: nothing yet).
	cached *cachedEdge
	// fromCache says the machines shown are cached, as of cacheAt.
	fromCache bool
	cacheAt   time.Time
	// query is the active filter, lower case.
	query string

	// edgeErr and centralErr explain the last refusal or failure of each
	// side in plain words ("" when the last answer was fine).
	edgeErr, centralErr string
	// done is the day's done stops; worked the sites where something was
	// recorded this run (leaving one marks it done).
	done   map[string]time.Time
	worked map[string]bool
	// note is kept in front of a later error: what went through before it.
	note string
}

func (c *common) setErr(err error) { c.setErrText(err.Error()) }

func (c *common) setErrText(s string) {
	if c.note != "" {
		s = c.note + " — but " + s
		c.note = ""
	}
	c.status, c.statusErr = "error: "+s, true
}

// remember updates the in-memory copy of the edge cache (the fetch
// commands write the file) so data seen this session is there offline.
func (c *common) remember(fn func(*cachedEdge)) {
	if c.site == "" {
		return
	}
	if c.cached == nil || c.cached.Site != c.site {
		c.cached = &cachedEdge{EdgeURL: c.d.edgeURL, Site: c.site}
	}
	if c.cached.Inventory == nil {
		c.cached.Inventory, c.cached.InventoryAt = map[string][]edgeapi.InventoryItem{}, map[string]time.Time{}
	}
	fn(c.cached)
}

// routeOf is site's candidate on the route, nil if it is not on it.
func (c *common) routeOf(site string) *hqapi.Candidate {
	for i := range c.cands {
		if c.cands[i].Site == site {
			return &c.cands[i]
		}
	}
	return nil
}

// cachedInventory is a machine's products as last seen: from the edge or
// from central's route for this site, whichever is newer.
func (c *common) cachedInventory(machine string) ([]edgeapi.InventoryItem, time.Time, bool) {
	var items []edgeapi.InventoryItem
	var at time.Time
	if e := c.cached; e != nil && e.Site == c.site && e.Inventory[machine] != nil {
		items, at = e.Inventory[machine], e.InventoryAt[machine]
	}
	if cand := c.routeOf(c.site); cand != nil && (items == nil || c.routeAt.After(at)) {
		for _, rm := range cand.Machines {
			if rm.MachineID != machine {
				continue
			}
			items, at = []edgeapi.InventoryItem{}, c.routeAt
			for _, sl := range rm.Slots {
				items = append(items, edgeapi.InventoryItem{ProductID: sl.ProductID, Name: sl.Name, Quantity: sl.Quantity, ExpiryDate: sl.ExpiryDate,
					LowStockLimit: sl.LowStockLimit, ParLevel: sl.ParLevel, CasePack: sl.CasePack, OpenAlerts: sl.Alerts,
					Capacity: sl.Capacity})
			}
		}
	}
	return items, at, items != nil
}

// offlineNote says the app works from cached data and what waits to go.
func (c *common) offlineNote() string {
	n := c.d.queue.Pending() - c.d.queue.PendingElsewhere(c.site)
	visits := "visits"
	if n == 1 {
		visits = "visit"
	}
	if c.edge == connUnknown {
		return fmt.Sprintf("asking %s — showing its cache of %s; %d %s queued", c.edgeSide(), c.cacheAt.In(c.d.loc).Format("15:04"), n, visits)
	}
	return fmt.Sprintf("edge unreachable — working from cache of %s; %d %s queued", c.cacheAt.In(c.d.loc).Format("15:04"), n, visits)
}

func (c *common) setStatus(format string, args ...any) {
	c.status, c.statusErr, c.note = fmt.Sprintf(format, args...), false, ""
}

// screen is a concrete sub-model: one of the app's views.
type screen interface {
	// update handles a key the root did not; navigation goes back to the
	// root as a message.
	update(msg tea.KeyMsg) tea.Cmd
	// view returns the header lines, the rows (the root scrolls them) with
	// the selected one, and the footer lines.
	view() (header, rows []string, selected int, footer []string)
	// help is the screen's key help.
	help() screenKeys
}

var (
	titleStyle  = lipgloss.NewStyle().Bold(true)
	selStyle    = lipgloss.NewStyle().Reverse(true)
	errStyle    = lipgloss.NewStyle().Foreground(lipgloss.Color("9"))
	dimStyle    = lipgloss.NewStyle().Faint(true)
	statusStyle = lipgloss.NewStyle().Reverse(true)
)

// listCursor is a position in a filtered list.
type listCursor struct{ i int }

// visible lists the indexes of the n rows whose text matches query.
func visible(n int, text func(int) string, query string) []int {
	out := make([]int, 0, n)
	for i := 0; i < n; i++ {
		if query == "" || strings.Contains(strings.ToLower(text(i)), query) {
			out = append(out, i)
		}
	}
	return out
}

// at clamps the cursor to n visible rows and returns it (-1 when empty).
func (c *listCursor) at(n int) int {
	c.i = max(0, min(c.i, n-1))
	if n == 0 {
		return -1
	}
	return c.i
}

// move handles up and down; it reports whether the key was one of them.
func (c *listCursor) move(k keymap, msg tea.KeyMsg, n int) bool {
	switch {
	case key.Matches(msg, k.Up):
		c.i--
	case key.Matches(msg, k.Down):
		c.i++
	default:
		return false
	}
	c.at(n)
	return true
}

// --- route (depot) ---

type routeScreen struct {
	c      *common
	cur    listCursor
	chosen map[string]bool
}

func (s *routeScreen) rows() []int {
	return visible(len(s.c.cands), func(i int) string {
		c := s.c.cands[i]
		return c.Site + " " + c.City + " " + c.Summary()
	}, s.c.query)
}

func (s *routeScreen) update(msg tea.KeyMsg) tea.Cmd {
	k, vis := s.c.keys, s.rows()
	if s.cur.move(k, msg, len(vis)) {
		return nil
	}
	cur := s.cur.at(len(vis))
	switch {
	case key.Matches(msg, k.Toggle):
		if cur >= 0 {
			site := s.c.cands[vis[cur]].Site
			s.chosen[site] = !s.chosen[site]
		}
	case key.Matches(msg, k.Pick), key.Matches(msg, k.Open):
		var chosen []hqapi.Candidate
		for _, c := range s.c.cands {
			if s.chosen[c.Site] {
				chosen = append(chosen, c)
			}
		}
		if len(chosen) == 0 && cur >= 0 {
			chosen = []hqapi.Candidate{s.c.cands[vis[cur]]}
		}
		if len(chosen) == 0 {
			s.c.setErr(errors.New("no site to build a pick list for"))
			return nil
		}
		// Built from the route as central computed it: the list says the
		// time of its data, not the time the key was pressed.
		at := s.c.routeAt
		if at.IsZero() {
			at = s.c.d.now()
		}
		return send(pickBuiltMsg{BuildPickList(chosen, at)})
	}
	return nil
}

func (s *routeScreen) view() (header, rows []string, selected int, footer []string) {
	if s.c.cands == nil {
		msg := "loading the route from central…"
		switch {
		case s.c.d.noCentral:
			msg = "edge-only: no central configured, so no route (tab for the site's machines)"
		case s.c.central == connOffline:
			msg = "central is unreachable and no route is cached: connect and press r"
		case s.c.centralErr != "":
			msg = s.c.centralErr + ": no route (r to retry)"
		}
		return []string{dimStyle.Render(msg)}, nil, -1, nil
	}
	src := "central"
	if s.c.routeCached {
		src = "cache"
	}
	n := 0
	for _, c := range s.c.cands {
		if s.chosen[c.Site] {
			n++
		}
	}
	header = []string{fmt.Sprintf("%d site(s) by priority · from %s %s · %d chosen", len(s.c.cands), src, s.c.routeAt.In(s.c.d.loc).Format("Jan 2 15:04"), n),
		fmt.Sprintf("    %-16s %-12s %5s  %s", "SITE", "CITY", "SCORE", "WHY")}
	vis := s.rows()
	for _, i := range vis {
		c := s.c.cands[i]
		mark := "[ ]"
		if s.chosen[c.Site] {
			mark = "[x]"
		}
		rows = append(rows, fmt.Sprintf("%s %-16s %-12s %5d  %s", mark, c.Site, c.City, c.Score, c.Summary()))
	}
	if len(s.c.cands) == 0 {
		rows = append(rows, "nothing needs a visit")
	}
	return header, rows, s.cur.at(len(vis)), nil
}

func (s *routeScreen) help() screenKeys {
	k := s.c.keys
	return screenKeys{
		short: []key.Binding{k.Toggle, k.Pick, k.Switch, k.Filter, k.Help, k.Quit},
		full:  [][]key.Binding{{k.Up, k.Down, k.Toggle, k.Pick}, {k.Filter, k.Refresh, k.Switch}, {k.Help, k.Quit}},
	}
}

// --- pick list (depot) ---

type pickScreen struct {
	c   *common
	cur listCursor
	// open lists the products whose per-machine quantities are shown on
	// lines of their own (enter toggles; narrow terminals cut the column).
	open map[string]bool
}

func (s *pickScreen) rows() []int {
	if s.c.pick == nil {
		return nil
	}
	return visible(len(s.c.pick.Lines), func(i int) string {
		l := s.c.pick.Lines[i]
		return l.ProductID + " " + l.Name + " " + strings.Join(l.Machines, " ")
	}, s.c.query)
}

func (s *pickScreen) update(msg tea.KeyMsg) tea.Cmd {
	k := s.c.keys
	if s.cur.move(k, msg, len(s.rows())) {
		return nil
	}
	if key.Matches(msg, k.Open) {
		vis := s.rows()
		if cur := s.cur.at(len(vis)); cur >= 0 {
			if s.open == nil {
				s.open = map[string]bool{}
			}
			id := s.c.pick.Lines[vis[cur]].ProductID
			s.open[id] = !s.open[id]
		}
		return nil
	}
	if key.Matches(msg, k.Export) || key.Matches(msg, k.Kit) {
		if s.c.pick == nil {
			s.c.setErr(errors.New("no pick list yet: choose sites in the route view"))
			return nil
		}
		if key.Matches(msg, k.Kit) {
			return s.c.d.exportKits(*s.c.pick)
		}
		return s.c.d.export(*s.c.pick)
	}
	return nil
}

func (s *pickScreen) view() (header, rows []string, selected int, footer []string) {
	p := s.c.pick
	if p == nil {
		return []string{"no pick list yet: choose sites in the route view (space) and press p"}, nil, -1, nil
	}
	header = []string{fmt.Sprintf("sites %s · data of %s · enter shows a product's machines", strings.Join(p.Sites, ", "), p.BuiltAt.In(s.c.d.loc).Format("Jan 2 15:04")),
		fmt.Sprintf("%-12s %-20s %6s %6s %8s  %s", "PRODUCT", "NAME", "NEED", "UNITS", "CASES", "MACHINES")}
	vis := s.rows()
	cur := s.cur.at(len(vis))
	sel := -1
	for n, i := range vis {
		l := p.Lines[i]
		cases := "-"
		if l.CasePack > 0 {
			cases = fmt.Sprintf("%d×%d", l.Cases, l.CasePack)
		}
		mark := "▸"
		if s.open[l.ProductID] {
			mark = "▾"
		}
		if n == cur {
			sel = len(rows)
		}
		rows = append(rows, fmt.Sprintf("%-12s %-20s %6d %6d %8s %s %s", l.ProductID, l.Name, l.Need, l.Units, cases, mark, strings.Join(l.Machines, " ")))
		if s.open[l.ProductID] {
			for _, m := range l.Machines {
				rows = append(rows, "    └ "+m)
			}
		}
	}
	footer = []string{fmt.Sprintf("%-12s %-20s %6s %6d %8d", "TOTAL", "", "", p.TotalUnits, p.TotalCases)}
	return header, rows, sel, footer
}

func (s *pickScreen) help() screenKeys {
	k := s.c.keys
	return screenKeys{
		short: []key.Binding{k.Export, k.Kit, k.Back, k.Filter, k.Help, k.Quit},
		full:  [][]key.Binding{{k.Up, k.Down, k.Open, k.Export, k.Kit}, {k.Filter, k.Back}, {k.Help, k.Quit}},
	}
}

// --- machines at the site ---

type machinesScreen struct {
	c   *common
	cur listCursor
}

func (s *machinesScreen) alertsOf(id string) []string {
	counts := map[string]int{}
	for _, a := range s.c.alerts {
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

func (s *machinesScreen) rows() []int {
	return visible(len(s.c.machines), func(i int) string {
		m := s.c.machines[i]
		return m.MachineID + " " + m.Location.City + " " + m.Location.Building + " " + strings.Join(s.alertsOf(m.MachineID), " ")
	}, s.c.query)
}

func (s *machinesScreen) update(msg tea.KeyMsg) tea.Cmd {
	k, vis := s.c.keys, s.rows()
	if s.cur.move(k, msg, len(vis)) {
		return nil
	}
	switch {
	case key.Matches(msg, k.Open):
		if cur := s.cur.at(len(vis)); cur >= 0 {
			return send(openMachineMsg{s.c.machines[vis[cur]].MachineID})
		}
	}
	return nil
}

func (s *machinesScreen) view() (header, rows []string, selected int, footer []string) {
	if s.c.machines == nil {
		msg := "connecting to " + s.c.edgeSide() + "…"
		switch {
		case s.c.d.route != nil && s.c.site == "":
			msg = "no site chosen yet: S for the stops of the route"
		case s.c.edgeErr != "":
			msg = s.c.edgeErr + "; nothing of this site is cached yet: r to retry"
		case s.c.edge == connOffline:
			msg = "the site's edge is unreachable and nothing of it is cached yet (the app has not reached it before): r to retry"
		}
		header = []string{dimStyle.Render(msg)}
	} else {
		if s.c.fromCache {
			note := s.c.offlineNote()
			if s.c.edge == connRefused {
				note = s.c.edgeErr + " — working from cache of " + s.c.cacheAt.In(s.c.d.loc).Format("15:04")
			}
			header = append(header, dimStyle.Render(note))
		}
		header = append(header, fmt.Sprintf("%-14s %-24s %-12s %s", "MACHINE", "LOCATION", "STATUS", "OPEN ALERTS"))
	}
	queued := s.c.d.queue.Items()
	pending := map[string]int{}
	for _, p := range queued {
		if p.forSite(s.c.site) {
			pending[p.Machine]++
		}
	}
	vis := s.rows()
	for _, i := range vis {
		m := s.c.machines[i]
		loc := m.Location.City
		if m.Location.Building != "" {
			loc += "/" + m.Location.Building
		}
		al := strings.Join(s.alertsOf(m.MachineID), ", ")
		if al == "" {
			al = "-"
		}
		if pending[m.MachineID] > 0 {
			al += fmt.Sprintf("  [%d restock pending]", pending[m.MachineID])
		}
		rows = append(rows, fmt.Sprintf("%-14s %-24s %-12s %s", m.MachineID, loc, m.Status, al))
	}
	for _, p := range queued {
		st := "pending"
		if p.Error != "" {
			st = "REFUSED — Q to see why, edit, resend or discard"
		}
		if !p.forSite(s.c.site) {
			st = "kept for site " + p.Restock.SiteID
		}
		footer = append(footer, fmt.Sprintf("queued %s for %s at %s (%d attempts): %s", p.Restock.MovementID, p.Machine,
			p.QueuedAt.In(s.c.d.loc).Format("15:04"), p.Attempts, st))
	}
	return header, rows, s.cur.at(len(vis)), footer
}

func (s *machinesScreen) help() screenKeys {
	k := s.c.keys
	return screenKeys{
		short: []key.Binding{k.Open, k.Refresh, k.Switch, k.Filter, k.Help, k.Quit},
		full:  [][]key.Binding{{k.Up, k.Down, k.Open}, {k.Filter, k.Refresh, k.Switch}, {k.Queue, k.Sites, k.Help, k.Quit}},
	}
}

// --- one machine's products ---

type inventoryScreen struct {
	c       *common
	cur     listCursor
	machine string
	items   []edgeapi.InventoryItem // nil until loaded
	// err is why the edge's own answer is missing; cachedAt is when the
	// items shown were cached (zero: the edge's answer).
	err      string
	cachedAt time.Time
	// arrived is when the driver opened the machine (the visit's start);
	// notes and did are the visit's notes and actions so far.
	arrived time.Time
	notes   string
	did     map[string]bool
	left    bool // the visit record was made
	// prompt is the open prompt ("" none) and input its text.
	prompt string
	input  textinput.Model
}

func (s *inventoryScreen) rows() []int {
	return visible(len(s.items), func(i int) string {
		it := s.items[i]
		return it.ProductID + " " + it.Name + " " + strings.Join(it.OpenAlerts, " ")
	}, s.c.query)
}

func (s *inventoryScreen) update(msg tea.KeyMsg) tea.Cmd {
	k := s.c.keys
	if s.cur.move(k, msg, len(s.rows())) {
		return nil
	}
	if key.Matches(msg, k.Open) || msg.String() == "R" || msg.String() == "c" {
		if len(s.items) == 0 {
			s.c.setErr(fmt.Errorf("no products loaded for %s yet (r to refresh)", s.machine))
			return nil
		}
		return send(startRestockMsg{count: msg.String() == "c"})
	}
	return s.visitKey(msg)
}

func (s *inventoryScreen) view() (header, rows []string, selected int, footer []string) {
	if s.items == nil {
		msg := "loading products from " + s.c.edgeSide() + "…"
		if s.err != "" {
			msg = s.err
		}
		return []string{dimStyle.Render(msg)}, nil, -1, nil
	}
	if !s.cachedAt.IsZero() {
		header = append(header, dimStyle.Render(fmt.Sprintf("from cache of %s — %s", s.cachedAt.In(s.c.d.loc).Format("Jan 2 15:04"), cmpStr(s.err, "asking the edge…"))))
	}
	header = append(header, fmt.Sprintf("%-12s %-20s %6s %6s %5s %7s  %-10s  %s", "PRODUCT", "NAME", "STOCK", "PAR", "CAP", "PLANNED", "EXPIRY", "OPEN ALERTS"))
	vis := s.rows()
	for _, i := range vis {
		it := s.items[i]
		planned := "-"
		if n, ok := s.c.pick.Planned(s.machine, it.ProductID); ok {
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
		capacity := "-"
		if it.Capacity > 0 {
			capacity = strconv.FormatInt(it.Capacity, 10)
		}
		rows = append(rows, fmt.Sprintf("%-12s %-20s %6d %6d %5s %7s  %-10s  %s", it.ProductID, it.Name, it.Quantity, it.ParLevel, capacity, planned, exp, al))
	}
	if s.notes != "" {
		footer = append(footer, "notes: "+s.notes)
	}
	if s.prompt != "" {
		footer = append(footer, s.input.View())
	}
	return header, rows, s.cur.at(len(vis)), footer
}

func (s *inventoryScreen) help() screenKeys {
	k := s.c.keys
	o := key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "restock"))
	cnt := key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "count only"))
	return screenKeys{
		short: []key.Binding{o, cnt, k.Notes, k.Cash, k.Dex, k.Back, k.Help},
		full:  [][]key.Binding{{k.Up, k.Down, o, cnt}, {k.Notes, k.Cash, k.Dex}, {k.Filter, k.Refresh, k.Back}, {k.Help, k.Quit}},
	}
}

// --- the restock form ---

// formRow is one product in the restock form; fields hold what was typed.
type formRow struct {
	item    edgeapi.InventoryItem
	fields  [5]string // added, expired, damaged, counted, expiry
	suggest int64     // units to add: the pick list's plan, never past par
}

var formCols = []string{"ADDED", "EXPIRED", "DAMAGED", "COUNTED", "NEW EXPIRY"}

type restockScreen struct {
	c          *common
	machine    string
	form       []formRow
	row, col   int
	confirming bool
	// fresh: the next digit replaces the cell (it was just entered).
	fresh bool
	// replaces is the refused restock this form corrects.
	replaces string
	// summary and warnings are shown with the y/n prompt.
	summary  string
	warnings []string
}

// newRestockScreen opens the form in slot order with every field empty;
// SUGGEST is what the pick list loaded for each slot, never past its par
// level (the slot may have been refilled or counted since the route was
// planned): + takes it for one row, A for every row.
func newRestockScreen(c *common, machine string, items []edgeapi.InventoryItem) *restockScreen {
	s := &restockScreen{c: c, machine: machine, form: make([]formRow, len(items)), fresh: true}
	for i, it := range items {
		add := max(0, fillLevel(it)-it.Quantity)
		if planned, ok := c.pick.Planned(machine, it.ProductID); ok {
			add = min(add, planned)
		}
		s.form[i] = formRow{item: it, suggest: add}
	}
	return s
}

// editRestockScreen opens a refused restock in the form, its lines filled
// in, to correct and send again in its place.
func editRestockScreen(c *common, p Pending, items []edgeapi.InventoryItem) *restockScreen {
	byID := map[string]edgeapi.InventoryItem{}
	for _, it := range items {
		byID[it.ProductID] = it
	}
	s := newRestockScreen(c, p.Machine, items)
	s.replaces = p.Restock.MovementID
	for _, line := range p.Restock.Items {
		i := -1
		for j := range s.form {
			if s.form[j].item.ProductID == line.ProductID {
				i = j
			}
		}
		if i < 0 {
			s.form = append(s.form, formRow{item: edgeapi.InventoryItem{ProductID: line.ProductID, Name: line.ProductID}})
			i = len(s.form) - 1
		}
		f := &s.form[i].fields
		for k, v := range []int64{line.Added, line.RemovedExpired, line.RemovedDamaged} {
			if v != 0 {
				f[k] = strconv.FormatInt(v, 10)
			}
		}
		if line.CountedQuantity != nil {
			f[3] = strconv.FormatInt(*line.CountedQuantity, 10)
		}
		f[4] = line.ExpiryDate
	}
	return s
}

func (s *restockScreen) update(msg tea.KeyMsg) tea.Cmd {
	k := s.c.keys
	if s.confirming {
		switch msg.String() {
		case "y", "Y", "enter":
			s.confirming = false
			r, err := s.build()
			if err != nil {
				s.c.setErr(err)
				return nil
			}
			s.c.setStatus("sending restock of %s to %s…", r.MachineID, s.c.edgeSide())
			return send(submitMsg{restock: r, replaces: s.replaces})
		case "n", "N", "esc":
			s.confirming = false
			s.c.setStatus("not sent: back to the form")
		}
		return nil
	}
	if len(s.form) == 0 {
		return nil
	}
	s.row = max(0, min(s.row, len(s.form)-1))
	f := &s.form[s.row].fields[s.col]
	switch str := msg.String(); {
	case key.Matches(msg, k.Confirm):
		r, err := s.build()
		if err != nil {
			s.c.setErr(err)
			return nil
		}
		s.summary, s.warnings = lineSummary(r.Items), s.check()
		s.confirming = true
		s.c.setStatus("")
		return nil
	case key.Matches(msg, k.NextField):
		s.col = (s.col + 1) % len(formCols)
	case key.Matches(msg, k.PrevField):
		s.col = (s.col + len(formCols) - 1) % len(formCols)
	case key.Matches(msg, k.Up):
		s.row = max(0, s.row-1)
	case key.Matches(msg, k.Down):
		s.row = min(len(s.form)-1, s.row+1)
	case key.Matches(msg, k.Suggest):
		if n := s.form[s.row].suggest; n > 0 {
			s.form[s.row].fields[0] = strconv.FormatInt(n, 10)
		}
	case str == "A":
		for i := range s.form {
			if n := s.form[i].suggest; n > 0 {
				s.form[i].fields[0] = strconv.FormatInt(n, 10)
			}
		}
	case str == "backspace":
		if *f != "" {
			*f = (*f)[:len(*f)-1]
		}
		s.fresh = false
		return nil
	case len(str) == 1 && str >= "0" && str <= "9", str == "-" && s.col == 4:
		if s.fresh {
			*f = "" // typing into a cell just entered replaces what it held
		}
		if len(*f) < 10 {
			*f += str
		}
		s.fresh = false
		return nil
	default:
		return nil
	}
	s.fresh = true
	return nil
}

// Quantities above absurdQty are asked about (a slot holds tens).
const absurdQty = 999

// check lists what looks wrong but may be right: overfilling past the
// slot's capacity (its par level when the capacity is not known) by units
// added or a count, an expiry date already past, absurd quantities. A slot
// the visit adds nothing to is not overfilled by it, however full it was.
func (s *restockScreen) check() []string {
	var out []string
	today := s.c.d.now().In(s.c.d.loc).Format(time.DateOnly)
	for _, row := range s.form {
		p, it := row.item.ProductID, row.item
		var v [4]int64
		for i := 0; i < 4; i++ {
			v[i], _, _ = parseField("", p, row.fields[i])
			if v[i] > absurdQty {
				out = append(out, fmt.Sprintf("%s: %s %d — is that right?", p, strings.ToLower(formCols[i]), v[i]))
			}
		}
		after := it.Quantity - v[1] - v[2] + v[0]
		if row.fields[3] != "" {
			after = v[3]
		}
		fills := v[0] > 0 || row.fields[3] != ""
		if !fills {
			// Left alone, or only units taken out: nothing put in.
		} else if it.Capacity > 0 && after > it.Capacity {
			out = append(out, fmt.Sprintf("%s: %d after the visit, beyond its capacity (cap %d)", p, after, it.Capacity))
		} else if it.Capacity <= 0 && it.ParLevel > 0 && after > it.ParLevel {
			out = append(out, fmt.Sprintf("%s: %d after the visit, beyond its capacity (par %d)", p, after, it.ParLevel))
		}
		if e := row.fields[4]; e != "" && e < today {
			out = append(out, fmt.Sprintf("%s: new expiry %s is already past", p, e))
		}
	}
	return out
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

// build turns the form into a restock with a new movement id, checking what
// can be checked here; the edge checks again.
func (s *restockScreen) build() (Restock, error) {
	r := Restock{MachineID: s.machine}
	for _, row := range s.form {
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
		line := edgeapi.RestockItem{ProductID: p, Added: vals[0], RemovedExpired: vals[1], RemovedDamaged: vals[2], ExpiryDate: exp}
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
	r.MovementID = s.c.d.newID()
	return r, nil
}

func (s *restockScreen) view() (header, rows []string, selected int, footer []string) {
	header = []string{fmt.Sprintf("%-12s %-14s %6s %6s %7s  %-7s %-7s %-7s %-7s %-10s", "PRODUCT", "NAME", "STOCK", "PAR", "SUGGEST",
		formCols[0], formCols[1], formCols[2], formCols[3], formCols[4])}
	for i, r := range s.form {
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
			if i == s.row && c == s.col {
				cell = selStyle.Render(cell)
			}
			cells[c] = cell
		}
		sug := "-"
		if r.suggest > 0 {
			sug = strconv.FormatInt(r.suggest, 10)
		}
		rows = append(rows, fmt.Sprintf("%-12s %-14s %6d %6d %7s  %s", r.item.ProductID, trunc(r.item.Name, 14), r.item.Quantity, r.item.ParLevel, sug, strings.Join(cells, " ")))
	}
	footer = []string{"removals apply first, then units added; a count is the shelf after the visit; + / A take the suggestion"}
	if s.confirming {
		footer = []string{fmt.Sprintf("send to %s for %s: %s", s.c.edgeSide(), s.machine, s.summary)}
		for _, w := range s.warnings {
			footer = append(footer, errStyle.Render("warning: "+w))
		}
		footer = append(footer, "y send · n back to the form")
	}
	return header, rows, s.row, footer
}

func trunc(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func (s *restockScreen) help() screenKeys {
	k := s.c.keys
	return screenKeys{
		short: []key.Binding{k.NextField, k.Confirm, k.Cancel, k.Help},
		full:  [][]key.Binding{{k.Up, k.Down, k.NextField, k.PrevField}, {k.Confirm, k.Cancel}, {k.Help}},
	}
}

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// fillLevel is the level a slot is filled to: its par level, never beyond
// its capacity when known.
func fillLevel(it edgeapi.InventoryItem) int64 {
	if it.Capacity > 0 {
		return min(it.ParLevel, it.Capacity)
	}
	return it.ParLevel
}
