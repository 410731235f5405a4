package dashboard

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"money", money(123456789), "1,234,567.89"},
		{"money small", money(5), "0.05"},
		{"money negative", money(-150000), "-1,500.00"},
		{"num", num(int64(1000000)), "1,000,000"},
		{"num small", num(999), "999"},
		{"compact", compact(1250), "1.2k"},
		{"compact whole", compact(300), "300"},
		{"compact millions", compact(3_400_000), "3.4M"},
		{"span seconds", span(42 * time.Second), "42 s"},
		{"span hours", span(3*time.Hour + 5*time.Minute), "3 h 5 min"},
		{"span days", span(50 * time.Hour), "2 d 2 h"},
		{"change up", change(150, 100), "+50.0 %"},
		{"change down", change(75, 100), "−25.0 %"},
		{"change new", change(10, 0), "new"},
		{"change none", change(0, 0), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestSafeNext_StaysOnTheDashboard(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/ui/sales?window=week", "/ui/sales?window=week"},
		{"", "/ui/"},
		{"https://evil.example/ui/", "/ui/"},
		{"//evil.example/ui/", "/ui/"},
		{"/ui//evil.example", "/ui/"},
		{"/ui/\\evil", "/ui/"},
		{"/metrics", "/ui/"},
		{"/ui/login?next=/ui/", "/ui/"},
	}
	for _, tt := range tests {
		if got := safeNext(tt.in); got != tt.want {
			t.Errorf("safeNext(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNiceMax(t *testing.T) {
	tests := []struct{ in, top, step float64 }{
		{0, 1, 0.25}, {7, 10, 2.5}, {120, 200, 50}, {2600, 5000, 1250}, {1000, 1000, 250},
	}
	for _, tt := range tests {
		if top, step := niceMax(tt.in); top != tt.top || step != tt.step {
			t.Errorf("niceMax(%v) = %v, %v; want %v, %v", tt.in, top, step, tt.top, tt.step)
		}
	}
}

func TestBarsOverTime_StacksSeriesAndEscapes(t *testing.T) {
	svg := string(barsOverTime("t", []string{"2026-01-01T00:00:00", "2026-01-02T00:00:00"}, []series{
		{Name: "<a&b>", Class: "c0", Values: []int64{100, 0}},
		{Name: "other", Class: "c7", Values: []int64{50, 25}},
	}, moneyFormat))
	if got, want := strings.Count(svg, `<rect class="bar`), 3; got != want { // zero values draw nothing
		t.Fatalf("%d bars, want %d:\n%s", got, want, svg)
	}
	if !strings.Contains(svg, `data-total="175"`) || !strings.Contains(svg, "&lt;a&amp;b&gt;") || strings.Contains(svg, "<a&b>") {
		t.Fatalf("totals or escaping wrong:\n%s", svg)
	}
	// The first day's segments stack to 150 on an axis topped at 200
	// (niceMax) over the plot's 208 px: 156 px.
	hs := regexp.MustCompile(`<rect class="bar [^"]+" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"`).FindAllStringSubmatch(svg, -1)
	if len(hs) != 3 {
		t.Fatalf("heights: %v", hs)
	}
	h0, _ := strconv.ParseFloat(hs[0][1], 64)
	h1, _ := strconv.ParseFloat(hs[1][1], 64)
	if got := h0 + h1; math.Abs(got-156) > 0.2 {
		t.Fatalf("first day's bar is %.1f px tall, want 156", got)
	}
}

func TestHeatMap_ShadesBySixSteps(t *testing.T) {
	var cells [7][24]int64
	cells[0][9] = 100 // Monday 09:00, the busiest
	cells[6][23] = 10
	svg := string(heatMap("h", cells, countFormat))
	if got := strings.Count(svg, `<rect class="cell`); got != 7*24 {
		t.Fatalf("%d cells", got)
	}
	for _, want := range []string{`class="cell h5"`, `class="cell h1"`, "Mon 09:00: 100", "Sun 23:00: 10", `data-total="110"`} {
		if !strings.Contains(svg, want) {
			t.Fatalf("heat map lacks %s", want)
		}
	}
}

func TestSiteMap_PlotsEverySite(t *testing.T) {
	svg := string(siteMap("m", []mapPoint{
		{ID: "ber", Label: "Berlin", State: stateOnline, Lat: 52.5, Lng: 13.4},
		{ID: "acc", Label: "Accra", State: stateStale, Lat: 5.6, Lng: -0.2},
	}))
	for _, want := range []string{`data-points="2"`, `href="/ui/sites/ber"`, `class="site st-stale"`} {
		if !strings.Contains(svg, want) {
			t.Fatalf("map lacks %s:\n%s", want, svg)
		}
	}
	// North is up: Berlin is drawn above Accra.
	cy := regexp.MustCompile(`cy="([\d.]+)"`).FindAllStringSubmatch(svg, -1)
	if len(cy) != 2 {
		t.Fatalf("points: %v", cy)
	}
	ber, _ := strconv.ParseFloat(cy[0][1], 64)
	acc, _ := strconv.ParseFloat(cy[1][1], 64)
	if ber >= acc {
		t.Fatalf("Berlin (y %.1f) is not above Accra (y %.1f)", ber, acc)
	}
}
