//go:build browser

package dashboard_test

// The dashboard in a real headless Chromium (Debian's chromium package),
// against a real fleet: a central node and two sites whose edges sync over
// their leaf links. Run with `make test-browser`; screenshots of every page
// go to $VENDSYNC_SCREENSHOTS (default: a folder in the system's temp dir).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vendsync/vendsync/central"
	"github.com/vendsync/vendsync/central/sitereg"
	"github.com/vendsync/vendsync/edge/fault"
	"github.com/vendsync/vendsync/edge/machine"
	"github.com/vendsync/vendsync/edge/stock"
	"github.com/vendsync/vendsync/edge/telemetry"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/fleet"
)

const (
	syncTimeout = 90 * time.Second
	liveTimeout = 60 * time.Second
	// faultTimeout bounds a fault update's round trip: down to the site
	// through its CONFIG mirror, applied there, and back up. It mostly
	// takes well under a second, but sometimes 15 to 60 s here (the
	// downlink's, not the dashboard's: central's read model is that late).
	faultTimeout = 120 * time.Second
)

// chromium finds the browser: $CHROMIUM, else Debian's /usr/bin/chromium.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium: apt-get install -y chromium (or set CHROMIUM)")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile and the flags
// that keep it off the (absent) network.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no timeout
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// step runs browser actions with a deadline.
func step(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// poll waits until expr is truthy in the page, evaluating it again and
// again (through page loads, which end a single evaluation).
func poll(t *testing.T, ctx context.Context, what, expr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	testkit.CheckFor(t, timeout, func() error {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := chromedp.Run(tctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return nil
		}
		if time.Now().Before(deadline) {
			return fmt.Errorf("waiting for %s (last error: %v)", what, err)
		}
		// The last try: show the page.
		tctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		body, _ := chromedp.Run(tctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		return fmt.Errorf("waiting for %s (last error: %v)\npage:\n%s", what, err, body)
	})
}

// screenshot saves the whole page as name.png in the artefact folder.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(tctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if len(png) < 1000 {
		t.Fatalf("screenshot %s: only %d bytes", name, len(png))
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", path)
}

// chartDrawn checks that a chart rendered: an SVG with at least min marks.
func chartDrawn(t *testing.T, ctx context.Context, chart, mark string, atLeast int) {
	t.Helper()
	n := eval[int](t, ctx, fmt.Sprintf(`document.querySelectorAll('svg[data-chart=%q] %s').length`, chart, mark))
	if n < atLeast {
		t.Fatalf("chart %s has %d %s marks, want at least %d", chart, n, mark, atLeast)
	}
	w := eval[float64](t, ctx, fmt.Sprintf(`document.querySelector('svg[data-chart=%q]').getBoundingClientRect().width`, chart))
	if w < 100 {
		t.Fatalf("chart %s is %.0f px wide", chart, w)
	}
}

// apiTotals asks the HQ API for the sales totals between two dates.
func apiTotals(t *testing.T, c *central.Node, token, from, to string) (tx, cents int64) {
	t.Helper()
	req, _ := http.NewRequest("GET", c.URL()+"/aggregations/sales?groupBy=city&window=day&from="+from+"&to="+to, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var ans struct {
		Totals struct {
			Transactions int64           `json:"transactions"`
			Revenue      json.RawMessage `json:"revenue"`
		} `json:"totals"`
	}
	if err := json.NewDecoder(res.Body).Decode(&ans); err != nil {
		t.Fatal(err)
	}
	v, err := strconv.ParseInt(strings.Replace(string(ans.Totals.Revenue), ".", "", 1), 10, 64)
	if err != nil {
		t.Fatalf("revenue %s: %v", ans.Totals.Revenue, err)
	}
	return ans.Totals.Transactions, v
}

func token(t *testing.T, c *central.Node, id, secret string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"client_id": id, "client_secret": secret})
	res, err := http.Post(c.URL()+"/auth/token", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token: %d %v", res.StatusCode, err)
	}
	return tok.AccessToken
}

func ptr(v float64) *float64 { return &v }

func TestBrowser_Dashboard(t *testing.T) {
	shots := os.Getenv("VENDSYNC_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(os.TempDir(), "vendsync-dashboard-screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)

	// A fleet: central, and two sites that sync over their leaf links.
	// Accra keeps UTC all year, so its "today" is the dashboard's.
	c := fleet.StartCentral(t, t.TempDir(), nil)
	t.Cleanup(func() { c.Close() })
	specs := []struct {
		spec     fleet.SiteSpec
		name     string
		lat, lng float64
	}{
		{fleet.SiteSpec{ID: "acc", City: "Accra", Timezone: "Africa/Accra", Machines: 3, Products: 4}, "Accra Mall", 5.60, -0.19},
		{fleet.SiteSpec{ID: "ber", City: "Berlin", Timezone: "Europe/Berlin", Machines: 2, Products: 3}, "Berlin Hbf", 52.52, 13.40},
	}
	sites := map[string]*fleet.Site{}
	for _, sp := range specs {
		seed, _, err := c.Sites.Add(context.Background(), sitereg.Site{ID: sp.spec.ID, Name: sp.name, City: sp.spec.City,
			Timezone: sp.spec.Timezone, Lat: ptr(sp.lat), Lng: ptr(sp.lng)}, false)
		if err != nil {
			t.Fatal(err)
		}
		sp.spec.HubURL = c.Hub.LeafURL()
		s := fleet.StartSite(t, sp.spec, seed)
		t.Cleanup(s.Close)
		s.Sell(t, "hist", 400, 20*24*time.Hour)
		s.Sell(t, "recent", 30, 2*time.Hour)
		sites[sp.spec.ID] = s
	}
	fault, _, err := sites["acc"].Node.Faults.Report(context.Background(), fault.In{
		MachineID: sites["acc"].Machines[1], FaultType: "PAYMENT_FAILURE", Description: "card reader does not answer",
		Timestamp: time.Now().UTC().Format(time.RFC3339)}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	// Give the Accra site something to visit for: a restock visit that
	// leaves one product low and one empty, a lot about to expire, and a
	// warm machine.
	acc, bg := sites["acc"], context.Background()
	one, two, none := int64(1), int64(2), int64(0)
	if _, err := acc.Node.Stock.Restock(bg, acc.Machines[2], stock.RestockIn{MovementID: "visit-1", Items: []stock.RestockItem{
		{ProductID: "P03", Added: &one}, {ProductID: "P01", CountedQuantity: &two}, {ProductID: "P02", CountedQuantity: &none},
	}}, "driver"); err != nil {
		t.Fatal(err)
	}
	soon := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	if _, err := acc.Node.Stock.UpdateProduct(bg, acc.Machines[0], "P00", stock.ProductPatch{ExpiryDate: &soon}, "ops"); err != nil {
		t.Fatal(err)
	}
	if err := acc.Node.Machines.Update(bg, acc.Machines[1], machine.Patch{TemperatureMax: ptr(6)}, "ops"); err != nil {
		t.Fatal(err)
	}
	if err := acc.Node.Telemetry.Record(bg, telemetry.In{MachineID: acc.Machines[1], Temperature: ptr(9.5),
		PowerStatus: "ON", DoorStatus: "CLOSED", Timestamp: time.Now().UTC().Format(time.RFC3339)}, ""); err != nil {
		t.Fatal(err)
	}
	for _, s := range sites {
		fleet.WaitSynced(t, c, s, syncTimeout)
	}
	id, secret, err := c.Auth.AddClient(context.Background(), auth.RoleOps, "Ops desk")
	if err != nil {
		t.Fatal(err)
	}
	apiToken := token(t, c, id, secret)
	ui := c.URL() + "/ui/"

	// Sign in: the overview asks for it first.
	step(t, ctx, "open the dashboard", chromedp.Navigate(ui), chromedp.WaitVisible(chromedp.CSS("#login")))
	screenshot(t, ctx, shots, "01-sign-in")
	step(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.CSS("#client_id"), id),
		chromedp.SendKeys(chromedp.CSS("#client_secret"), secret),
		chromedp.Submit(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS(`[data-figure="revenue-today"]`)),
	)
	poll(t, ctx, "the live dot", `document.getElementById("live").classList.contains("on")`, 10*time.Second)

	// The overview's figures are not zero and equal the API's.
	today := time.Now().UTC().Truncate(24 * time.Hour)
	for _, p := range []struct {
		key  string
		days int
	}{{"today", 1}, {"7d", 7}, {"30d", 30}} {
		got := eval[int64](t, ctx, fmt.Sprintf(`+document.querySelector('[data-figure="revenue-%s"]').dataset.cents`, p.key))
		gotTx := eval[int64](t, ctx, fmt.Sprintf(`+document.querySelector('[data-figure="tx-%s"]').dataset.count`, p.key))
		tx, want := apiTotals(t, c, apiToken, today.AddDate(0, 0, 1-p.days).Format(time.DateOnly), today.AddDate(0, 0, 1).Format(time.DateOnly))
		if got != want || gotTx != tx || got == 0 {
			t.Fatalf("overview %s: revenue %d, %d transactions; API %d, %d", p.key, got, gotTx, want, tx)
		}
	}
	chartDrawn(t, ctx, "revenue-30d", "rect.bar", 10)
	screenshot(t, ctx, shots, "02-overview")
	step(t, ctx, "tablet viewport", chromedp.EmulateViewport(820, 1180, chromedp.EmulateTouch))
	screenshot(t, ctx, shots, "02-overview-tablet")
	step(t, ctx, "laptop viewport", chromedp.EmulateViewport(1366, 900))

	// A sale made at a site appears without a reload.
	before := eval[int64](t, ctx, `+document.querySelector('[data-figure="revenue-today"]').dataset.cents`)
	eval[chromedp.Void](t, ctx, `window.vsNoReload = 42`)
	if n := sites["acc"].Sell(t, "live", 3, time.Minute); n != 3 {
		t.Fatalf("live sales accepted: %d", n)
	}
	sold := time.Now()
	poll(t, ctx, "the live sale on the overview",
		fmt.Sprintf(`+document.querySelector('[data-figure="revenue-today"]').dataset.cents > %d`, before), liveTimeout)
	if got := eval[int](t, ctx, `window.vsNoReload || 0`); got != 42 {
		t.Fatal("the page reloaded to show the sale")
	}
	t.Logf("the live sale showed after %v", time.Since(sold).Round(time.Millisecond))
	fleet.WaitSynced(t, c, sites["acc"], syncTimeout)
	poll(t, ctx, "the overview to settle", fmt.Sprintf(`+document.querySelector('[data-figure="revenue-today"]').dataset.cents === %d`,
		func() int64 {
			_, v := apiTotals(t, c, apiToken, today.Format(time.DateOnly), today.AddDate(0, 0, 1).Format(time.DateOnly))
			return v
		}()), liveTimeout)

	// Sales: changing a filter changes the chart.
	step(t, ctx, "open sales", chromedp.Navigate(ui+"sales"), chromedp.WaitVisible(chromedp.CSS(`svg[data-chart="sales"]`)))
	chartDrawn(t, ctx, "sales", "rect.bar", 10)
	chartDrawn(t, ctx, "top-products", "rect.bar", 3)
	poll(t, ctx, "the hour-of-week chart", `document.querySelector('svg[data-chart="hour-of-week"]')`, 30*time.Second)
	chartDrawn(t, ctx, "hour-of-week", "rect.cell", 7*24)
	fleetTotal := eval[int64](t, ctx, `+document.querySelector('svg[data-chart="sales"]').dataset.total`)
	legend := eval[string](t, ctx, `document.querySelector('.legend').innerText`)
	if !strings.Contains(legend, "Accra") || !strings.Contains(legend, "Berlin") {
		t.Fatalf("legend by city: %q", legend)
	}
	screenshot(t, ctx, shots, "03-sales")
	eval[chromedp.Void](t, ctx, `(() => { const s = document.getElementById("groupBy"); s.value = "product"; s.dispatchEvent(new Event("change", {bubbles: true})); })()`)
	poll(t, ctx, "grouping by product", `location.search.includes("groupBy=product") && document.querySelector('.legend') && document.querySelector('.legend').innerText.includes("P00")`, 15*time.Second)
	if got := eval[int64](t, ctx, `+document.querySelector('svg[data-chart="sales"]').dataset.total`); got != fleetTotal {
		t.Fatalf("by product the total is %d, by city %d", got, fleetTotal)
	}
	step(t, ctx, "filter Berlin", chromedp.SendKeys(chromedp.CSS("#city"), "Berlin\r"))
	// The filter navigates: wait for the new page to be laid out, not just
	// for its URL (a screenshot mid-navigation has no width).
	poll(t, ctx, "the Berlin chart", `location.search.includes("city=Berlin") && document.readyState === "complete" && !!document.querySelector('svg[data-chart="sales"]')`, 15*time.Second)
	berlin := eval[int64](t, ctx, `+document.querySelector('svg[data-chart="sales"]').dataset.total`)
	if berlin <= 0 || berlin >= fleetTotal {
		t.Fatalf("Berlin's total %d, the fleet's %d", berlin, fleetTotal)
	}
	screenshot(t, ctx, shots, "04-sales-berlin-by-product")
	csv := eval[string](t, ctx, `fetch(document.querySelector('a.csv').href).then(r => r.text())`)
	if !strings.HasPrefix(csv, "product,bucket,transactions,quantity,revenue\n") {
		t.Fatalf("the chart's CSV starts %q", csv[:min(len(csv), 80)])
	}

	// Sites: the map has both sites; a site shows its machines.
	step(t, ctx, "open sites", chromedp.Navigate(ui+"sites"), chromedp.WaitVisible(chromedp.CSS(`svg[data-chart="sites-map"]`)))
	chartDrawn(t, ctx, "sites-map", "circle.site", 2)
	if n := eval[int](t, ctx, `document.querySelectorAll('#sites tr[data-state="online"]').length`); n != 2 {
		t.Fatalf("%d sites in contact, want 2", n)
	}
	screenshot(t, ctx, shots, "05-sites")
	step(t, ctx, "open a site", chromedp.Click(chromedp.CSS(`#sites a[href="/ui/sites/acc"]`)), chromedp.WaitVisible(chromedp.CSS(`[data-machine]`)))
	if n := eval[int](t, ctx, `document.querySelectorAll('[data-machine] meter').length`); n != 3*4 {
		t.Fatalf("%d slot meters, want 12", n)
	}
	screenshot(t, ctx, shots, "06-site")
	step(t, ctx, "open a machine", chromedp.Navigate(ui+"machines/"+sites["acc"].Machines[0]), chromedp.WaitVisible(chromedp.CSS(`svg[data-chart="machine-sales"]`)))
	chartDrawn(t, ctx, "machine-sales", "rect.bar", 1)
	screenshot(t, ctx, shots, "07-machine")

	// Alerts and faults: resolve the fault and watch it close.
	row := fmt.Sprintf(`[data-fault="acc/%d"]`, fault.FaultID)
	step(t, ctx, "open alerts", chromedp.Navigate(ui+"alerts?status=all"), chromedp.WaitVisible(chromedp.CSS(row)))
	if st := eval[string](t, ctx, `document.querySelector('`+row+`').dataset.status`); st != "OPEN" {
		t.Fatalf("fault status %q, want OPEN", st)
	}
	screenshot(t, ctx, shots, "08-alerts")
	step(t, ctx, "resolve the fault", chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-resolve="acc/%d"]`, fault.FaultID))), chromedp.WaitVisible(chromedp.CSS(".flash")))
	eval[chromedp.Void](t, ctx, `window.vsNoReload = 7`)
	resolved := time.Now()
	poll(t, ctx, "the fault to close", `document.querySelector('`+row+`') && document.querySelector('`+row+`').dataset.status === "RESOLVED"`, faultTimeout)
	if got := eval[int](t, ctx, `window.vsNoReload || 0`); got != 7 {
		t.Fatal("the page reloaded to show the resolution")
	}
	t.Logf("the resolution came back from the site after %v", time.Since(resolved).Round(time.Millisecond))
	screenshot(t, ctx, shots, "09-fault-resolved")

	// Drivers' routes: Accra, with its pick list.
	step(t, ctx, "open routes", chromedp.Navigate(ui+"routes"), chromedp.WaitVisible(chromedp.CSS(`[data-candidate="acc"]`)))
	if pick := eval[string](t, ctx, `document.querySelector('[data-candidate="acc"] .pick').innerText`); !strings.Contains(pick, "P02") {
		t.Fatalf("Accra's pick list lacks the empty P02:\n%s", pick)
	}
	screenshot(t, ctx, shots, "10-routes")

	// Sign out: the dashboard asks for sign-in again.
	step(t, ctx, "sign out", chromedp.Navigate(ui), chromedp.WaitVisible(chromedp.CSS("#signout")),
		chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#login")))
	step(t, ctx, "come back", chromedp.Navigate(ui+"sales"), chromedp.WaitVisible(chromedp.CSS("#login")))
	if loc := eval[string](t, ctx, `location.pathname`); loc != "/ui/login" {
		t.Fatalf("after sign-out /ui/sales shows %s", loc)
	}
}
