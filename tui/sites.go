package tui

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// doneFile keeps the day's done stops.
const doneFile = "done.json"

// doneStops is the stops done on one day.
type doneStops struct {
	Day   string               `json:"day"`
	Sites map[string]time.Time `json:"sites"`
	// Current is the site the driver was at last.
	Current string `json:"current,omitempty"`
}

// switchSiteMsg asks the root to move to a site of the route.
type switchSiteMsg struct{ site string }

// toggleDoneMsg marks a stop done or open again.
type toggleDoneMsg struct{ site string }

// sitesScreen is the day's route from the route file: the stops in
// driving order, the current one marked.
type sitesScreen struct {
	c   *common
	cur listCursor
}

func (s *sitesScreen) stops() []Stop {
	if s.c.d.route == nil {
		return nil
	}
	return OrderStops(s.c.d.route.Sites, s.c.cands, s.c.d.depot, s.c.done)
}

func (s *sitesScreen) update(msg tea.KeyMsg) tea.Cmd {
	k, stops := s.c.keys, s.stops()
	if s.cur.move(k, msg, len(stops)) {
		return nil
	}
	cur := s.cur.at(len(stops))
	if cur < 0 {
		return nil
	}
	switch {
	case key.Matches(msg, k.Open):
		return send(switchSiteMsg{stops[cur].Site.SiteID})
	case key.Matches(msg, k.Done):
		return send(toggleDoneMsg{stops[cur].Site.SiteID})
	}
	return nil
}

func (s *sitesScreen) view() (header, rows []string, selected int, footer []string) {
	r := s.c.d.route
	if r == nil {
		return []string{"no route file: start with --route-file (vendsync hq driver add writes one)"}, nil, -1, nil
	}
	stops := s.stops()
	depot := "the first site"
	if p := s.c.d.depot; p != nil {
		depot = fmt.Sprintf("%.4f,%.4f", p.Lat, p.Lng)
	}
	var total time.Duration
	left := 0
	for _, st := range stops {
		if !st.Done {
			total += st.Drive
			left++
		}
	}
	header = []string{
		fmt.Sprintf("route of %s · %d stop(s), %d to go · ~%s driving from %s", r.Driver, len(stops), left, fmtDur(total), depot),
		fmt.Sprintf("   %-3s %-16s %5s %7s %7s  %s", "#", "SITE", "SCORE", "KM", "DRIVE", "STATUS"),
	}
	n := 0
	for _, st := range stops {
		num, km, drive := "✓", "-", "-"
		if !st.Done {
			n++
			num = fmt.Sprint(n)
			if st.Site.Lat != nil {
				km, drive = fmt.Sprintf("%.1f", st.Km), fmtDur(st.Drive)
			}
		}
		status := ""
		if st.Done {
			status = "done " + s.c.done[st.Site.SiteID].In(s.c.d.loc).Format("15:04")
		}
		if st.Site.SiteID == s.c.site {
			status = "◀ here " + status
		}
		rows = append(rows, fmt.Sprintf("   %-3s %-16s %5d %7s %7s  %s", num, st.Site.SiteID, st.Score, km, drive, status))
	}
	footer = []string{fmt.Sprintf("order: nearest next stop, distance discounted by urgency; drive time at %.0f km/h on roads %.1f× the straight line", DriveSpeedKmh, RoadFactor)}
	return header, rows, s.cur.at(len(stops)), footer
}

func (s *sitesScreen) help() screenKeys {
	k := s.c.keys
	o := key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "go to site"))
	return screenKeys{
		short: []key.Binding{o, k.Done, k.Back, k.Help, k.Quit},
		full:  [][]key.Binding{{k.Up, k.Down, o, k.Done}, {k.Back, k.Switch}, {k.Help, k.Quit}},
	}
}

func fmtDur(d time.Duration) string {
	if d < time.Hour {
		return fmt.Sprintf("%d min", int(d.Minutes()))
	}
	return fmt.Sprintf("%dh%02d", int(d.Hours()), int(d.Minutes())%60)
}

// switchSite moves the app to site of the route: its edge, its credentials
// and its own cache; the machines screen shows what is known at once.
func (m *model) switchSite(id string) tea.Cmd {
	c := m.c
	rs := c.d.route.Site(id)
	if rs == nil {
		c.setErr(fmt.Errorf("site %s is not on this route", id))
		return nil
	}
	if c.site != "" && c.site != id && c.worked[c.site] {
		m.markDone(c.site, true)
	}
	c.d.gen++
	c.d.client = c.d.dial(*rs)
	c.d.edgeURL = rs.EdgeURL
	c.d.edge = &edgeCache{path: filepath.Join(c.d.cacheDir, edgeCacheFile(rs.EdgeURL))}
	c.site, c.machines, c.alerts, c.cached, c.fromCache, c.cacheAt = id, nil, nil, nil, false, time.Time{}
	c.edge, c.edgeErr = connUnknown, ""
	m.machines.cur = listCursor{}
	m.inventory = &inventoryScreen{c: c}
	m.goTo(stateMachines)
	c.setStatus("at site %s: asking its edge %s…", id, rs.EdgeURL)
	c.d.log.Info().Str("site", id).Str("edge", rs.EdgeURL).Msg("site chosen")
	e, ok, err := c.d.edge.load(rs.EdgeURL)
	if err != nil {
		c.setErr(err)
	} else if ok && e.Site == id {
		c.cached = &e
	}
	c.edge = connUnknown
	m.saveDay()
	if m.offlineFromCacheAny() {
		c.setStatus("at site %s: showing its machines as cached %s while asking its edge %s…", id, c.cacheAt.In(c.d.loc).Format("15:04"), rs.EdgeURL)
	}
	return c.d.fetchMachines()
}

func (m *model) markDone(site string, done bool) {
	c := m.c
	if c.done == nil {
		c.done = map[string]time.Time{}
	}
	if done {
		if _, ok := c.done[site]; ok {
			return
		}
		c.done[site] = c.d.now()
	} else {
		delete(c.done, site)
	}
	c.d.log.Info().Str("site", site).Bool("done", done).Msg("stop marked")
	m.saveDay()
}

// saveDay keeps the done stops and the current site for a restart.
func (m *model) saveDay() {
	c := m.c
	day := c.d.now().In(c.d.loc).Format(time.DateOnly)
	if err := writeJSON(filepath.Join(c.d.cacheDir, doneFile), doneStops{Day: day, Sites: c.done, Current: c.site}); err != nil {
		c.setErr(err)
	}
}

// lastSite is the site the driver was at when the app last stopped today.
func lastSite(dir string, now time.Time, loc *time.Location) string {
	var d doneStops
	if ok, err := readJSON(filepath.Join(dir, doneFile), &d); err != nil || !ok || d.Day != now.In(loc).Format(time.DateOnly) {
		return ""
	}
	return d.Current
}

// loadDone reads today's done stops (another day's are forgotten).
func loadDone(dir string, now time.Time, loc *time.Location) map[string]time.Time {
	var d doneStops
	if ok, err := readJSON(filepath.Join(dir, doneFile), &d); err != nil || !ok || d.Day != now.In(loc).Format(time.DateOnly) || d.Sites == nil {
		return map[string]time.Time{}
	}
	return d.Sites
}
