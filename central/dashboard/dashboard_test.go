package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/sync/envelope"
)

func TestLogin_SetsHttpOnlyStrictSessionCookie(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	c := f.creds[auth.RoleOps]
	res := b.signInWith(c[0], c[1])
	if got, want := res.Status, http.StatusSeeOther; got != want {
		t.Fatalf("status = %d, want %d\n%s", got, want, res.Body)
	}
	if got, want := res.Header.Get("Location"), "/ui/"; got != want {
		t.Fatalf("Location = %q, want %q", got, want)
	}
	var cookie *http.Cookie
	for _, ck := range (&http.Response{Header: res.Header}).Cookies() {
		if ck.Name == sessionCookie {
			cookie = ck
		}
	}
	if cookie == nil {
		t.Fatalf("no %s cookie in %v", sessionCookie, res.Header["Set-Cookie"])
	}
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != Prefix {
		t.Fatalf("cookie = %+v, want HttpOnly, SameSite=Strict, Path=%s", cookie, Prefix)
	}
	// The cookie opens the overview; the session's client and role show.
	p := b.get("/ui/")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "test ops") || !strings.Contains(p.Body, "OPS") {
		t.Fatalf("overview: %d\n%s", p.Status, p.Body)
	}
}

func TestLogin_Refusals(t *testing.T) {
	f := newFixture(t)
	c := f.creds[auth.RoleAdmin]
	tests := []struct {
		name   string
		form   func(csrf string) url.Values
		origin string
		want   int
	}{
		{"wrong secret", func(tok string) url.Values {
			return url.Values{"csrf": {tok}, "client_id": {c[0]}, "client_secret": {"nope"}}
		}, "", http.StatusUnauthorized},
		{"unknown client", func(tok string) url.Values {
			return url.Values{"csrf": {tok}, "client_id": {"adm_0000000000000000"}, "client_secret": {c[1]}}
		}, "", http.StatusUnauthorized},
		{"no csrf token", func(string) url.Values {
			return url.Values{"client_id": {c[0]}, "client_secret": {c[1]}}
		}, "", http.StatusForbidden},
		{"wrong csrf token", func(string) url.Values {
			return url.Values{"csrf": {"x"}, "client_id": {c[0]}, "client_secret": {c[1]}}
		}, "", http.StatusForbidden},
		{"other origin", func(tok string) url.Values {
			return url.Values{"csrf": {tok}, "client_id": {c[0]}, "client_secret": {c[1]}}
		}, "http://evil.example", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := f.browser()
			form := b.get("/ui/login")
			hdr := map[string]string{}
			if tt.origin != "" {
				hdr["Origin"] = tt.origin
			}
			res := b.do("POST", "/ui/login", tt.form(csrf(t, form)), hdr)
			if got := res.Status; got != tt.want {
				t.Fatalf("status = %d, want %d\n%s", got, tt.want, res.Body)
			}
			if strings.Contains(strings.Join(res.Header["Set-Cookie"], ";"), sessionCookie+"=") {
				t.Fatalf("a refused sign-in set a session cookie: %v", res.Header["Set-Cookie"])
			}
			if p := b.get("/ui/"); p.Status != http.StatusSeeOther {
				t.Fatalf("after a refused sign-in the overview answered %d", p.Status)
			}
		})
	}
}

func TestLogin_FailuresLimitedPerAddress(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	c := f.creds[auth.RoleAdmin]
	// Successful sign-ins do not count.
	for range 12 {
		if got := f.browser().signInWith(c[0], c[1]).Status; got != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", got)
		}
	}
	for i := range 10 {
		if got := b.signInWith(c[0], "wrong").Status; got != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, got)
		}
	}
	// The 11th attempt is refused even with the right secret.
	if got, want := b.signInWith(c[0], c[1]).Status, http.StatusTooManyRequests; got != want {
		t.Fatalf("after 10 failures: %d, want %d", got, want)
	}
}

func TestPages_WithoutSession(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	res := b.get("/ui/sales?window=week")
	if got, want := res.Status, http.StatusSeeOther; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}
	if got, want := res.Header.Get("Location"), "/ui/login?next="+url.QueryEscape("/ui/sales?window=week"); got != want {
		t.Fatalf("Location = %q, want %q", got, want)
	}
	// The page's script and the event stream get 401, not a redirect.
	if got := b.do("GET", "/ui/", nil, map[string]string{"X-Partial": "main"}).Status; got != http.StatusUnauthorized {
		t.Fatalf("partial: %d, want 401", got)
	}
	if got := b.get("/ui/events").Status; got != http.StatusUnauthorized {
		t.Fatalf("events: %d, want 401", got)
	}
	// A forged cookie is no session.
	u, _ := url.Parse(f.URL + "/ui/")
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: randomToken(), Path: "/ui/"}})
	if got := b.get("/ui/").Status; got != http.StatusSeeOther {
		t.Fatalf("forged cookie: %d, want 303", got)
	}
	// Static assets need no session, and pages carry a strict policy.
	st := b.get("/ui/static/app.js")
	if st.Status != http.StatusOK || !strings.Contains(st.Body, "EventSource") {
		t.Fatalf("app.js: %d", st.Status)
	}
	lp := b.get("/ui/login")
	if csp := lp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Fatalf("Content-Security-Policy = %q", csp)
	}
}

func TestPages_RolesAsInTheAPI(t *testing.T) {
	f := newFixture(t)
	const ok, no = http.StatusOK, http.StatusForbidden
	pages := []struct {
		path string
		want map[auth.Role]int
	}{
		{"/ui/", map[auth.Role]int{auth.RoleAdmin: ok, auth.RoleOps: ok, auth.RoleFinance: ok, auth.RoleDriver: ok}},
		{"/ui/sales", map[auth.Role]int{auth.RoleAdmin: ok, auth.RoleOps: ok, auth.RoleFinance: ok, auth.RoleDriver: no}},
		{"/ui/sales.csv", map[auth.Role]int{auth.RoleAdmin: ok, auth.RoleOps: ok, auth.RoleFinance: ok, auth.RoleDriver: no}},
		{"/ui/top.csv", map[auth.Role]int{auth.RoleAdmin: ok, auth.RoleOps: ok, auth.RoleFinance: ok, auth.RoleDriver: no}},
		{"/ui/sites", map[auth.Role]int{auth.RoleAdmin: ok, auth.RoleOps: ok, auth.RoleFinance: ok, auth.RoleDriver: ok}},
		{"/ui/sites/s1", map[auth.Role]int{auth.RoleAdmin: ok, auth.RoleOps: ok, auth.RoleFinance: ok, auth.RoleDriver: ok}},
		{"/ui/machines/M1", map[auth.Role]int{auth.RoleAdmin: ok, auth.RoleOps: ok, auth.RoleFinance: ok, auth.RoleDriver: ok}},
		{"/ui/alerts", map[auth.Role]int{auth.RoleAdmin: ok, auth.RoleOps: ok, auth.RoleFinance: no, auth.RoleDriver: ok}},
		{"/ui/routes", map[auth.Role]int{auth.RoleAdmin: ok, auth.RoleOps: ok, auth.RoleFinance: no, auth.RoleDriver: ok}},
	}
	for _, role := range []auth.Role{auth.RoleAdmin, auth.RoleOps, auth.RoleFinance, auth.RoleDriver} {
		b := f.signIn(role)
		for _, pg := range pages {
			t.Run(string(role)+pg.path, func(t *testing.T) {
				res := b.get(pg.path)
				if got, want := res.Status, pg.want[role]; got != want {
					t.Fatalf("status = %d, want %d\n%s", got, want, res.Body)
				}
			})
		}
		// Money shows only to the roles that may read sales.
		ov := b.get("/ui/")
		if got, want := strings.Contains(ov.Body, `data-figure="revenue-today"`), role != auth.RoleDriver; got != want {
			t.Fatalf("%s: revenue on the overview = %v, want %v", role, got, want)
		}
		// The navigation offers only what the role may open.
		if got, want := strings.Contains(ov.Body, `href="/ui/sales"`), role != auth.RoleDriver; got != want {
			t.Fatalf("%s: sales in the navigation = %v, want %v", role, got, want)
		}
	}
}

// figure reads data-figure="name" data-cents or data-count from a page.
func figure(t *testing.T, body, name, attr string) int64 {
	t.Helper()
	m := regexp.MustCompile(`data-figure="` + regexp.QuoteMeta(name) + `" data-` + attr + `="(-?\d+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no figure %s in page", name)
	}
	v, _ := strconv.ParseInt(m[1], 10, 64)
	return v
}

// cents reads an API money value (a JSON number with two decimals).
func cents(t *testing.T, raw json.RawMessage) int64 {
	t.Helper()
	s := strings.Replace(string(raw), ".", "", 1)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("money %s: %v", raw, err)
	}
	return v
}

func TestOverview_FiguresEqualTheAPI(t *testing.T) {
	f := newFixture(t)
	body := f.signIn(auth.RoleFinance).get("/ui/").Body
	today := time.Now().UTC().Truncate(24 * time.Hour)
	tests := []struct {
		key  string
		days int
		want int64 // from the fixture, to make sure the figures are not both zero
	}{{"today", 1, 1250}, {"7d", 7, 1550}, {"30d", 30, 1550}}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			var ans struct {
				Totals struct {
					Transactions int64           `json:"transactions"`
					Revenue      json.RawMessage `json:"revenue"`
				} `json:"totals"`
			}
			from, to := today.AddDate(0, 0, 1-tt.days).Format(time.DateOnly), today.AddDate(0, 0, 1).Format(time.DateOnly)
			f.apiGet(auth.RoleFinance, "/aggregations/sales?groupBy=city&window=day&from="+from+"&to="+to, &ans)
			if got, want := figure(t, body, "revenue-"+tt.key, "cents"), cents(t, ans.Totals.Revenue); got != want || got != tt.want {
				t.Fatalf("revenue %s = %d, API %d, fixture %d", tt.key, got, want, tt.want)
			}
			if got, want := figure(t, body, "tx-"+tt.key, "count"), ans.Totals.Transactions; got != want {
				t.Fatalf("transactions %s = %d, API %d", tt.key, got, want)
			}
		})
	}
	if !strings.Contains(body, `data-chart="revenue-30d" data-total="1550"`) {
		t.Fatalf("the 30-day chart does not total 15.50:\n%s", body)
	}
	// FINANCE does not see alerts (as in the API); OPS does.
	if strings.Contains(body, `data-figure="open-alerts"`) {
		t.Fatal("FINANCE sees the open alerts")
	}
	ops := f.signIn(auth.RoleOps).get("/ui/").Body
	for _, want := range []string{`data-figure="open-alerts">2<`, `data-figure="open-faults">1<`} {
		if !strings.Contains(ops, want) {
			t.Fatalf("overview lacks %s:\n%s", want, body)
		}
	}
}

func TestSales_ChartsFollowTheFilter(t *testing.T) {
	f := newFixture(t)
	b := f.signIn(auth.RoleOps)
	all := b.get("/ui/sales")
	city := b.get("/ui/sales?groupBy=product&city=Berlin")
	if all.Status != http.StatusOK || city.Status != http.StatusOK {
		t.Fatalf("sales: %d, %d", all.Status, city.Status)
	}
	total := regexp.MustCompile(`data-chart="sales" data-total="(\d+)"`)
	if got, want := total.FindStringSubmatch(all.Body)[1], "1550"; got != want {
		t.Fatalf("fleet total = %s, want %s", got, want)
	}
	if got, want := total.FindStringSubmatch(city.Body)[1], "1200"; got != want {
		t.Fatalf("Berlin total = %s, want %s", got, want)
	}
	for _, chart := range []string{"sales", "top-products"} {
		if !strings.Contains(all.Body, `data-chart="`+chart+`"`) {
			t.Fatalf("no %s chart", chart)
		}
	}
	// The hour-of-week chart comes after the page (the page's script
	// fetches it), then with the page while it is kept.
	src := regexp.MustCompile(`data-src="([^"]+)"`).FindStringSubmatch(all.Body)
	if src == nil || strings.Contains(all.Body, `data-chart="hour-of-week"`) {
		t.Fatalf("the first sales page does not defer the hour-of-week chart:\n%s", all.Body)
	}
	heat := b.get(html.UnescapeString(src[1]))
	if heat.Status != http.StatusOK || !strings.Contains(heat.Body, `data-chart="hour-of-week" data-total="1550"`) {
		t.Fatalf("hour-of-week: %d\n%s", heat.Status, heat.Body)
	}
	if again := b.get("/ui/sales"); !strings.Contains(again.Body, `data-chart="hour-of-week" data-total="1550"`) {
		t.Fatalf("the second sales page lacks the kept hour-of-week chart")
	}
	if csv := b.get("/ui/heatmap.csv"); csv.Status != http.StatusOK || strings.Count(csv.Body, "\n") != 1+7*24 {
		t.Fatalf("heatmap.csv: %d, %d lines", csv.Status, strings.Count(csv.Body, "\n"))
	}
	bad := b.get("/ui/sales?window=hour&from=2020-01-01&to=2021-01-01")
	if bad.Status != http.StatusBadRequest || !strings.Contains(bad.Body, "limited to 93 days") {
		t.Fatalf("hourly year: %d\n%s", bad.Status, bad.Body)
	}
}

func TestSalesCSV_IsTheAPIExport(t *testing.T) {
	f := newFixture(t)
	b := f.signIn(auth.RoleFinance)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	from, to := today.AddDate(0, 0, -45).Format(time.DateOnly), today.AddDate(0, 0, 1).Format(time.DateOnly)
	got := b.get("/ui/sales.csv?groupBy=site&window=day&from=" + from + "&to=" + to)
	if got.Status != http.StatusOK || !strings.HasPrefix(got.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("sales.csv: %d %s", got.Status, got.Header.Get("Content-Type"))
	}
	tok, _ := f.Signer.Issue(auth.Claims{ClientID: f.creds[auth.RoleFinance][0], Role: auth.RoleFinance}, time.Now())
	body := fmt.Sprintf(`{"kind":"sales","groupBy":"site","window":"day","from":%q,"to":%q}`, from, to)
	req, _ := http.NewRequest("POST", f.URL+"/reports/export", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	want, _ := io.ReadAll(res.Body)
	if got.Body != string(want) {
		t.Fatalf("sales.csv:\n%s\nexport:\n%s", got.Body, want)
	}
	if n := strings.Count(got.Body, "\n"); n != 5 { // header + 4 site-days
		t.Fatalf("sales.csv has %d lines:\n%s", n, got.Body)
	}
}

func TestFaultUpdate_NeedsCSRFAndRole(t *testing.T) {
	f := newFixture(t)
	ops := f.signIn(auth.RoleOps)
	pg := ops.get("/ui/alerts")
	if !strings.Contains(pg.Body, `data-resolve="s1/1"`) {
		t.Fatalf("no resolve button for fault s1/1:\n%s", pg.Body)
	}
	tok := csrf(t, pg)
	key := envelope.ConfigKeyPrefix("s1") + envelope.FaultKey(1)
	published := func() bool {
		_, err := f.Config.Get(context.Background(), key)
		return err == nil
	}
	refused := []struct {
		name   string
		b      *browser
		form   url.Values
		origin string
		want   int
	}{
		{"no token", ops, url.Values{"status": {"RESOLVED"}}, "", http.StatusForbidden},
		{"another session's token", ops, url.Values{"status": {"RESOLVED"}, "csrf": {csrf(t, f.signIn(auth.RoleAdmin).get("/ui/alerts"))}}, "", http.StatusForbidden},
		{"other origin", ops, url.Values{"status": {"RESOLVED"}, "csrf": {tok}}, "http://evil.example", http.StatusForbidden},
		{"finance role", f.signIn(auth.RoleFinance), url.Values{"status": {"RESOLVED"}, "csrf": {tok}}, "", http.StatusForbidden},
		{"driver role", f.signIn(auth.RoleDriver), url.Values{"status": {"RESOLVED"}, "csrf": {tok}}, "", http.StatusForbidden},
		{"bad status", ops, url.Values{"status": {"FIXED"}, "csrf": {tok}}, "", http.StatusBadRequest},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.origin != "" {
				hdr["Origin"] = tt.origin
			}
			res := tt.b.do("POST", "/ui/faults/s1/1", tt.form, hdr)
			if got := res.Status; got != tt.want {
				t.Fatalf("status = %d, want %d\n%s", got, tt.want, res.Body)
			}
			if published() {
				t.Fatal("a refused request published the fault update")
			}
		})
	}
	res := ops.post("/ui/faults/s1/1", url.Values{"status": {"RESOLVED"}, "csrf": {tok}, "back": {"/ui/alerts"}})
	if res.Status != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/ui/alerts?flash=") {
		t.Fatalf("resolve: %d %s\n%s", res.Status, res.Header.Get("Location"), res.Body)
	}
	e, err := f.Config.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("fault update not published: %v", err)
	}
	var up envelope.FaultUpdate
	if err := json.Unmarshal(e.Value(), &up); err != nil {
		t.Fatal(err)
	}
	if up.Status != "RESOLVED" || up.By != f.creds[auth.RoleOps][0] {
		t.Fatalf("published %+v, want RESOLVED by %s", up, f.creds[auth.RoleOps][0])
	}
}

func TestLogout_EndsTheSessionOnEveryNode(t *testing.T) {
	f := newFixture(t)
	// A second node: its own dashboard on the same hub.
	other := f.dashboard(nil)
	srv2 := newServer(t, other.Wrap(f.API))
	b := f.signIn(auth.RoleAdmin)
	u, _ := url.Parse(f.URL + "/ui/")
	cookies := b.c.Jar.Cookies(u)
	b2 := f.browser()
	b2.base = srv2
	u2, _ := url.Parse(srv2 + "/ui/")
	b2.c.Jar.SetCookies(u2, cookies)
	if got := b2.get("/ui/").Status; got != http.StatusOK {
		t.Fatalf("the other node refused the session: %d", got)
	}
	pg := b.get("/ui/")
	if got := b.post("/ui/logout", url.Values{}).Status; got != http.StatusForbidden {
		t.Fatalf("logout without csrf: %d, want 403", got)
	}
	res := b.post("/ui/logout", url.Values{"csrf": {csrf(t, pg)}})
	if res.Status != http.StatusSeeOther || res.Header.Get("Location") != "/ui/login" {
		t.Fatalf("logout: %d %s", res.Status, res.Header.Get("Location"))
	}
	if got := b.get("/ui/").Status; got != http.StatusSeeOther {
		t.Fatalf("after logout: %d, want 303", got)
	}
	if got := b2.get("/ui/").Status; got != http.StatusSeeOther {
		t.Fatalf("the other node still honours the ended session: %d", got)
	}
}

func TestSession_EndsWhenTheClientIsRevoked(t *testing.T) {
	f := newFixture(t)
	b := f.signIn(auth.RoleOps)
	if got := b.get("/ui/").Status; got != http.StatusOK {
		t.Fatalf("before revocation: %d", got)
	}
	if _, err := f.Auth.Revoke(context.Background(), f.creds[auth.RoleOps][0]); err != nil {
		t.Fatal(err)
	}
	if got := b.get("/ui/").Status; got != http.StatusSeeOther {
		t.Fatalf("after revocation: %d, want 303", got)
	}
}

func TestEvents_ChangeAfterACommit(t *testing.T) {
	f := newFixture(t)
	b := f.signIn(auth.RoleFinance)
	req, _ := http.NewRequest("GET", f.URL+"/ui/events", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := b.c.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// The stream opens with the read model's position (which is also the
	// pages'), so the subscription is in place once it is read.
	start, _ := f.Store.Position(context.Background())
	for i, want := range []string{"retry: 3000", "event: position", fmt.Sprintf("data: %d", start)} {
		if l := <-lines; l != want {
			t.Fatalf("line %d = %q, want %q", i, l, want)
		}
	}
	if pg := b.get("/ui/"); !strings.Contains(pg.Body, fmt.Sprintf(`data-pos="%d"`, start)) || pg.Header.Get("X-Position") != fmt.Sprint(start) {
		t.Fatalf("the overview was not read at position %d (X-Position %q)", start, pg.Header.Get("X-Position"))
	}
	// A push without a commit announces nothing; a commit and its push do.
	if err := f.Hub.Conn().Publish(envelope.SubjectWatermarkPush("s1"), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	apply(t, f.Store, "s1", "UTC", 9, saleEv("tx-live", "M1", "P1", "Bangalore", 1, 250, time.Now().Add(-time.Minute)))
	pos, _ := f.Store.Position(context.Background())
	if err := f.Hub.Conn().Publish(envelope.SubjectWatermarkPush("s1"), []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for l := range lines {
		got = append(got, l)
		if l == fmt.Sprintf("data: %d", pos) {
			if prev := got[len(got)-2]; prev != "event: change" {
				t.Fatalf("data line follows %q", prev)
			}
			return
		}
	}
	t.Fatalf("stream ended without a change to %d: %q", pos, got)
}

func TestEvents_EndWhenTheDashboardCloses(t *testing.T) {
	f := newFixture(t)
	b := f.signIn(auth.RoleAdmin)
	res, err := b.c.Get(f.URL + "/ui/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	f.D.Close()
	done := make(chan error, 1)
	go func() { _, err := io.ReadAll(br); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stream ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the event stream outlived Close")
	}
}

func TestPartial_RendersTheMainSectionOnly(t *testing.T) {
	f := newFixture(t)
	b := f.signIn(auth.RoleOps)
	res := b.do("GET", "/ui/sites", nil, map[string]string{"X-Partial": "main"})
	if res.Status != http.StatusOK || strings.Contains(res.Body, "<html") || !strings.Contains(res.Body, `data-site="s1"`) {
		t.Fatalf("partial: %d\n%s", res.Status, res.Body)
	}
}
