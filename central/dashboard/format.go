package dashboard

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// funcs are the template helpers.
var funcs = template.FuncMap{
	"money": money,
	"num": func(v any) string {
		switch n := v.(type) {
		case int:
			return num(n)
		case int64:
			return num(n)
		case uint64:
			return num(n)
		}
		return fmt.Sprint(v)
	},
	"clock":  clock,
	"lower":  strings.ToLower,
	"words":  func(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", " ")) },
	"isTrue": func(p *bool) bool { return p != nil && *p },
	"derefU": func(p *uint64) uint64 {
		if p == nil {
			return 0
		}
		return *p
	},
	"active": func(item, path string) bool {
		if item == Prefix {
			return path == Prefix
		}
		return path == item || strings.HasPrefix(path, item+"/")
	},
	"deref": func(p *float64) float64 {
		if p == nil {
			return 0
		}
		return *p
	},
}

// money formats cents as units with thousands separators: 12,345.67.
func money(cents int64) string {
	neg := cents < 0
	if neg {
		cents = -cents
	}
	s := num(cents/100) + fmt.Sprintf(".%02d", cents%100)
	if neg {
		return "-" + s
	}
	return s
}

// num formats an integer with thousands separators.
func num[T ~int | ~int64 | ~uint64](v T) string {
	s := strconv.FormatInt(int64(v), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// compact formats a number for an axis: 950, 1.2k, 3.4M.
func compact(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return trimZero(fmt.Sprintf("%.1f", v/1e9)) + "G"
	case a >= 1e6:
		return trimZero(fmt.Sprintf("%.1f", v/1e6)) + "M"
	case a >= 1e3:
		return trimZero(fmt.Sprintf("%.1f", v/1e3)) + "k"
	case a == math.Trunc(a):
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return trimZero(fmt.Sprintf("%.2f", v))
}

func trimZero(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// clock formats an instant in UTC to the minute; the zero time is "never".
func clock(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04") + " UTC"
}

// span says how long d is in the largest sensible unit: "45 s", "12 min",
// "3 h 5 min", "2 d 4 h".
func span(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 24*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	dd, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	if h == 0 {
		return fmt.Sprintf("%d d", dd)
	}
	return fmt.Sprintf("%d d %d h", dd, h)
}

// change is the relative change from prev to cur: "+12.5 %", "−3.0 %",
// "new" when prev is zero and cur is not, "" when both are zero.
func change(cur, prev int64) string {
	switch {
	case prev == 0 && cur == 0:
		return ""
	case prev == 0:
		return "new"
	}
	p := float64(cur-prev) / float64(prev) * 100
	if p >= 0 {
		return fmt.Sprintf("+%.1f %%", p)
	}
	return fmt.Sprintf("−%.1f %%", -p)
}
