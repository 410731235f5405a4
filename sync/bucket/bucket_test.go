package bucket

import (
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestKey_WindowsAtCalendarEdges(t *testing.T) {
	kolkata := mustLoc(t, "Asia/Kolkata")
	berlin := mustLoc(t, "Europe/Berlin")
	tests := []struct {
		name string
		at   string // RFC3339 instant
		loc  *time.Location
		w    Window
		want string // naive local label
	}{
		{"hour in UTC+5:30", "2025-01-10T10:15:30Z", kolkata, Hour, "2025-01-10T15:00:00"},
		{"day rolls over in local time", "2025-01-10T19:00:00Z", kolkata, Day, "2025-01-11T00:00:00"},
		{"month edge: last instant of january locally", "2025-01-31T18:29:59Z", kolkata, Month, "2025-01-01T00:00:00"},
		{"month edge: first instant of february locally", "2025-01-31T18:30:00Z", kolkata, Month, "2025-02-01T00:00:00"},
		{"year edge: new year's eve UTC is new year locally", "2024-12-31T20:00:00Z", kolkata, Month, "2025-01-01T00:00:00"},
		{"year edge: week spans years, starts Monday 2024-12-30", "2025-01-01T12:00:00Z", berlin, Week, "2024-12-30T00:00:00"},
		{"week on a Sunday belongs to the previous Monday", "2025-03-09T12:00:00Z", berlin, Week, "2025-03-03T00:00:00"},
		{"week on a Monday starts that day", "2025-03-10T00:30:00Z", berlin, Week, "2025-03-10T00:00:00"},
		{"leap day", "2024-02-29T12:00:00Z", berlin, Day, "2024-02-29T00:00:00"},
		{"DST spring forward keeps wall clock hour", "2025-03-30T01:30:00Z", berlin, Hour, "2025-03-30T03:00:00"},
		{"DST fall back: both 02:xx map to hour 02", "2025-10-26T00:30:00Z", berlin, Hour, "2025-10-26T02:00:00"},
		{"DST fall back second pass", "2025-10-26T01:30:00Z", berlin, Hour, "2025-10-26T02:00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at, err := time.Parse(time.RFC3339, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if got := Label(Key(tt.w, at, tt.loc)); got != tt.want {
				t.Fatalf("Key(%s, %s) = %s, want %s", tt.w, tt.at, got, tt.want)
			}
		})
	}
}

func TestKeys_MatchesKey(t *testing.T) {
	loc := mustLoc(t, "America/New_York")
	at := time.Date(2025, 11, 2, 5, 59, 0, 0, time.UTC)
	ks := Keys(at, loc)
	for i, w := range All {
		if got, want := ks[i], Key(w, at, loc); got != want {
			t.Fatalf("Keys[%s] = %d, want %d", w, got, want)
		}
	}
}

func TestCover_SumsToWholeRange(t *testing.T) {
	d := func(s string) time.Time {
		v, err := time.Parse("2006-01-02T15", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name     string
		from, to time.Time
		want     []Window
	}{
		{"empty", d("2025-01-01T05"), d("2025-01-01T05"), nil},
		{"inside one day", d("2025-01-01T05"), d("2025-01-01T09"), []Window{Hour}},
		{"across midnight, no whole day", d("2025-01-01T20"), d("2025-01-02T03"), []Window{Hour}},
		{"hours days hours", d("2025-01-01T20"), d("2025-01-05T03"), []Window{Hour, Day, Hour}},
		{"whole months", d("2025-01-01T00"), d("2025-04-01T00"), []Window{Month}},
		{"everything", d("2024-12-30T07"), d("2025-03-03T02"), []Window{Hour, Day, Month, Day, Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spans := Cover(tt.from, tt.to)
			if len(spans) != len(tt.want) {
				t.Fatalf("Cover = %+v, want windows %v", spans, tt.want)
			}
			// Contiguous, aligned, and covering exactly [from, to).
			cur := tt.from.Unix()
			for i, s := range spans {
				if s.Window != tt.want[i] {
					t.Fatalf("span %d window = %s, want %s", i, s.Window, tt.want[i])
				}
				if s.From != cur {
					t.Fatalf("span %d starts %s, want %s", i, Label(s.From), Label(cur))
				}
				if Start(s.Window, time.Unix(s.From, 0)).Unix() != s.From {
					t.Fatalf("span %d not aligned to %s", i, s.Window)
				}
				cur = s.To
			}
			if len(spans) > 0 && cur != tt.to.Unix() {
				t.Fatalf("cover ends %s, want %s", Label(cur), Label(tt.to.Unix()))
			}
		})
	}
}
