package dashboard

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"net/url"
	"strings"
)

// Charts are SVG drawn here, not by a library: the few shapes the dashboard
// needs (bars over time, ranked bars, a heat map, points on a plain map)
// are short to draw, render on the server (so a page arrives complete and
// a test can read it), and need no script. Colours come from the
// stylesheet's classes (c0…c7, h0…h5, state classes): markup carries no
// inline styles, which the page's content security policy forbids.

// palette is how many series colours the stylesheet defines (c0…c7); the
// last one is kept for "other".
const palette = 8

// series is one key's values over a chart's buckets.
type series struct {
	Name   string
	Class  string
	Values []int64
}

// legendItem is one entry under a chart.
type legendItem struct {
	Name  string
	Class string
	Total int64
}

// valueFormat formats a value for a tooltip and an axis.
type valueFormat struct {
	exact func(int64) string
	axis  func(int64) string
}

var (
	moneyFormat = valueFormat{exact: money, axis: func(c int64) string { return compact(float64(c) / 100) }}
	countFormat = valueFormat{exact: func(v int64) string { return num(v) }, axis: func(v int64) string { return compact(float64(v)) }}
)

// niceMax rounds v up to 1, 2 or 5 × 10^k and returns it with a tick step
// giving four or five ticks.
func niceMax(v float64) (top, step float64) {
	if v <= 0 {
		return 1, 0.25
	}
	mag := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if top = m * mag; top >= v {
			break
		}
	}
	return top, top / 4
}

func esc(s string) string { return html.EscapeString(s) }

// barsOverTime draws stacked bars, one per bucket label, one stack segment
// per series. name identifies the chart for tests (data-chart).
func barsOverTime(name string, labels []string, ss []series, f valueFormat) template.HTML {
	const w, h, left, right, top, bottom = 800.0, 260.0, 56.0, 8.0, 10.0, 42.0
	totals := make([]int64, len(labels))
	for _, s := range ss {
		for i, v := range s.Values {
			totals[i] += v
		}
	}
	var maxV int64
	var sum int64
	for _, t := range totals {
		maxV = max(maxV, t)
		sum += t
	}
	topV, step := niceMax(float64(maxV))
	plotW, plotH := w-left-right, h-top-bottom
	y := func(v float64) float64 { return top + plotH - v/topV*plotH }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" data-chart="%s" data-total="%d" data-buckets="%d" viewBox="0 0 %g %g" role="img" aria-label="%s">`,
		esc(name), sum, len(labels), w, h, esc(name))
	for t := 0.0; t <= topV+step/2; t += step {
		fmt.Fprintf(&b, `<line class="grid" x1="%g" x2="%g" y1="%.1f" y2="%.1f"/>`, left, w-right, y(t), y(t))
		fmt.Fprintf(&b, `<text class="axis" x="%g" y="%.1f" text-anchor="end">%s</text>`, left-6, y(t)+4, esc(f.axis(int64(t))))
	}
	if n := len(labels); n > 0 {
		slot := plotW / float64(n)
		bw := math.Max(slot*0.8, 1)
		every := max(1, (n+11)/12)
		for i, lab := range labels {
			x := left + float64(i)*slot + (slot-bw)/2
			base := 0.0
			for _, s := range ss {
				v := s.Values[i]
				if v <= 0 {
					continue
				}
				y0, y1 := y(base), y(base+float64(v))
				fmt.Fprintf(&b, `<rect class="bar %s" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s · %s: %s</title></rect>`,
					s.Class, x, y1, bw, math.Max(y0-y1, 0.5), esc(lab), esc(s.Name), esc(f.exact(v)))
				base += float64(v)
			}
			if i%every == 0 {
				fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="%g" text-anchor="middle">%s</text>`, x+bw/2, h-bottom+16, esc(shortLabel(lab)))
			}
		}
	}
	fmt.Fprintf(&b, `<line class="axisline" x1="%g" x2="%g" y1="%g" y2="%g"/>`, left, w-right, top+plotH, top+plotH)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// shortLabel trims a bucket label (2026-01-05T00:00:00) for an axis.
func shortLabel(s string) string {
	if d, t, ok := strings.Cut(s, "T"); ok {
		if t == "00:00:00" {
			return d[5:]
		}
		return d[5:] + " " + t[:5]
	}
	return s
}

// rankedBars draws one horizontal bar per row, largest first as given.
func rankedBars(name string, labels []string, values []int64, f valueFormat) template.HTML {
	const w, left, right, rowH = 560.0, 120.0, 80.0, 24.0
	h := rowH*float64(len(labels)) + 8
	var maxV, sum int64
	for _, v := range values {
		maxV = max(maxV, v)
		sum += v
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" data-chart="%s" data-total="%d" viewBox="0 0 %g %g" role="img" aria-label="%s">`, esc(name), sum, w, math.Max(h, 30), esc(name))
	for i, lab := range labels {
		y := 4 + float64(i)*rowH
		bw := 0.0
		if maxV > 0 {
			bw = float64(values[i]) / float64(maxV) * (w - left - right)
		}
		fmt.Fprintf(&b, `<text class="label" x="%g" y="%.1f" text-anchor="end">%s</text>`, left-8, y+rowH/2+4, esc(lab))
		fmt.Fprintf(&b, `<rect class="bar c%d" x="%g" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s</title></rect>`,
			i%(palette-1), left, y+3, math.Max(bw, 1), rowH-6, esc(lab), esc(f.exact(values[i])))
		fmt.Fprintf(&b, `<text class="value" x="%.1f" y="%.1f">%s</text>`, left+bw+6, y+rowH/2+4, esc(f.exact(values[i])))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

var weekdays = [7]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// heatMap draws a week (rows Monday…Sunday) by hour (columns 0…23), each
// cell shaded by its value in six steps (classes h0…h5).
func heatMap(name string, cells [7][24]int64, f valueFormat) template.HTML {
	const left, top, cw, ch = 40.0, 18.0, 31.0, 24.0
	w, h := left+24*cw+4, top+7*ch+4
	var maxV, sum int64
	for _, row := range cells {
		for _, v := range row {
			maxV = max(maxV, v)
			sum += v
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart heat" data-chart="%s" data-total="%d" viewBox="0 0 %g %g" role="img" aria-label="%s">`, esc(name), sum, w, h, esc(name))
	for hr := 0; hr < 24; hr += 3 {
		fmt.Fprintf(&b, `<text class="axis" x="%.1f" y="12" text-anchor="middle">%02d</text>`, left+float64(hr)*cw+cw/2, hr)
	}
	for d, row := range cells {
		y := top + float64(d)*ch
		fmt.Fprintf(&b, `<text class="axis" x="%g" y="%.1f" text-anchor="end">%s</text>`, left-6, y+ch/2+4, weekdays[d])
		for hr, v := range row {
			step := 0
			if maxV > 0 && v > 0 {
				step = 1 + int(float64(v)/float64(maxV)*4.999)
			}
			fmt.Fprintf(&b, `<rect class="cell h%d" x="%.1f" y="%.1f" width="%g" height="%g"><title>%s %02d:00: %s</title></rect>`,
				step, left+float64(hr)*cw, y, cw-2, ch-2, weekdays[d], hr, esc(f.exact(v)))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// mapPoint is a site on the map.
type mapPoint struct {
	ID, Label, State string
	Lat, Lng         float64
}

// siteMap plots points on a plain equirectangular projection fitted to
// them, with a graticule. No tiles: nothing outside is reachable.
func siteMap(name string, pts []mapPoint) template.HTML {
	const w, h, pad = 800.0, 400.0, 24.0
	minLat, maxLat, minLng, maxLng := 90.0, -90.0, 180.0, -180.0
	for _, p := range pts {
		minLat, maxLat = math.Min(minLat, p.Lat), math.Max(maxLat, p.Lat)
		minLng, maxLng = math.Min(minLng, p.Lng), math.Max(maxLng, p.Lng)
	}
	if len(pts) == 0 {
		minLat, maxLat, minLng, maxLng = -60, 75, -180, 180
	}
	// At least 10° each way, and the box's shape the view's (2:1), so a
	// degree is as long across as up and down.
	cLat, cLng := (minLat+maxLat)/2, (minLng+maxLng)/2
	spanLng := math.Max(math.Max(maxLng-minLng, 2*(maxLat-minLat)), 10) * 1.15
	spanLat := spanLng / 2
	lng0, lat1 := cLng-spanLng/2, cLat+spanLat/2
	x := func(lng float64) float64 { return pad + (lng-lng0)/spanLng*(w-2*pad) }
	y := func(lat float64) float64 { return pad + (lat1-lat)/spanLat*(h-2*pad) }
	grid := 30.0
	switch {
	case spanLng < 20:
		grid = 2
	case spanLng < 60:
		grid = 10
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart map" data-chart="%s" data-points="%d" viewBox="0 0 %g %g" role="img" aria-label="%s">`, esc(name), len(pts), w, h, esc(name))
	fmt.Fprintf(&b, `<rect class="sea" x="0" y="0" width="%g" height="%g"/>`, w, h)
	for g := math.Ceil(lng0/grid) * grid; g <= lng0+spanLng; g += grid {
		fmt.Fprintf(&b, `<line class="graticule" x1="%.1f" x2="%.1f" y1="0" y2="%g"/><text class="axis" x="%.1f" y="%g">%g°</text>`, x(g), x(g), h, x(g)+3, h-4, g)
	}
	for g := math.Ceil((lat1-spanLat)/grid) * grid; g <= lat1; g += grid {
		fmt.Fprintf(&b, `<line class="graticule" x1="0" x2="%g" y1="%.1f" y2="%.1f"/><text class="axis" x="3" y="%.1f">%g°</text>`, w, y(g), y(g), y(g)-3, g)
	}
	for _, p := range pts {
		id := esc(url.PathEscape(p.ID))
		fmt.Fprintf(&b, `<a href="%ssites/%s"><circle class="site st-%s" cx="%.1f" cy="%.1f" r="7"><title>%s</title></circle>`,
			Prefix, id, esc(p.State), x(p.Lng), y(p.Lat), esc(p.Label))
		if len(pts) <= 60 { // beyond that, labels only hide each other
			fmt.Fprintf(&b, `<text class="label" x="%.1f" y="%.1f">%s</text>`, x(p.Lng)+10, y(p.Lat)+4, esc(p.ID))
		}
		b.WriteString(`</a>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
