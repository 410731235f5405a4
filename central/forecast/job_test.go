package forecast_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central/forecast"
	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/sync/envelope"
)

// openStore opens a read model whose clock (the receive time of batches)
// is now.
func openStore(t testing.TB, now time.Time) *readmodel.Store {
	t.Helper()
	s, err := readmodel.Open(context.Background(), filepath.Join(t.TempDir(), "central.db"), readmodel.WithSync(sqlite.SyncNormal),
		readmodel.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type fact struct {
	kind envelope.Kind
	at   time.Time
	data any
}

// apply sends site's facts to the read model as one batch numbered from first.
func apply(t testing.TB, s *readmodel.Store, site, tz string, first uint64, facts ...fact) {
	t.Helper()
	b := &envelope.Batch{V: envelope.Version, Site: site, TZ: tz, First: first, Last: first + uint64(len(facts)) - 1}
	for i, f := range facts {
		data, err := json.Marshal(f.data)
		if err != nil {
			t.Fatal(err)
		}
		b.Events = append(b.Events, envelope.Event{V: envelope.Version, Site: site, Seq: first + uint64(i), Kind: f.kind, Time: f.at, Data: data})
	}
	if _, err := s.Apply(context.Background(), first, b); err != nil {
		t.Fatal(err)
	}
}

func i64(v int64) *int64 { return &v }

// slotStory is one slot over five days in Bangalore (+05:30): 10 units at
// Monday 00:00, sold out at 14:30 on Monday, empty all Tuesday, restocked
// Wednesday 10:00, a sale on Thursday; a telemetry-free Friday event moves
// the horizon so Monday..Thursday are complete.
func slotStory(loc *time.Location) []fact {
	day := func(d, h, m int) time.Time { return time.Date(2026, 3, 2+d, h, m, 0, 0, loc) }
	var fs []fact
	fs = append(fs, fact{envelope.KindMachine, day(0, 0, 0), envelope.Machine{MachineID: "VM1", City: "Bangalore", Building: "B", PaymentMethods: []string{"CARD"}, Status: "ACTIVE", Action: "REGISTERED"}})
	fs = append(fs, fact{envelope.KindInventory, day(0, 0, 0), envelope.Inventory{MachineID: "VM1", ProductID: "P1", Name: "Cola", Quantity: 10, Action: "ADDED"}})
	left := int64(10)
	for i := range 10 {
		at := day(0, 9, 0).Add(time.Duration(i) * 33 * time.Minute) // the 10th at 13:57
		if i == 9 {
			at = day(0, 14, 30)
		}
		left--
		fs = append(fs, fact{envelope.KindSale, at, envelope.Sale{TransactionID: "T" + string(rune('a'+i)), MachineID: "VM1", ProductID: "P1",
			Quantity: 1, AmountCents: 100, PaymentMethod: "CARD", City: "Bangalore", Location: "L", StockAfter: i64(left)}})
	}
	fs = append(fs, fact{envelope.KindStock, day(2, 10, 0), envelope.StockMovement{MovementID: "M1", MachineID: "VM1", ProductID: "P1", Reason: "RESTOCK", Delta: 10, After: 10}})
	fs = append(fs, fact{envelope.KindSale, day(3, 10, 0), envelope.Sale{TransactionID: "Tz", MachineID: "VM1", ProductID: "P1",
		Quantity: 1, AmountCents: 100, PaymentMethod: "CARD", City: "Bangalore", Location: "L", StockAfter: i64(9)}})
	fs = append(fs, fact{envelope.KindStock, day(4, 9, 0), envelope.StockMovement{MovementID: "M2", MachineID: "VM1", ProductID: "P2", Reason: "RESTOCK", Delta: 5, After: 5}})
	return fs
}

// TestJob_ReconstructsEmptyHours: the job rebuilds the slot's stock from
// sales, counts and restocks, marks exactly the hours it was empty (in the
// site's time zone), and folds the four complete days into the model with
// those hours censored.
func TestJob_ReconstructsEmptyHours(t *testing.T) {
	ctx := context.Background()
	loc, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t, time.Date(2026, 3, 6, 9, 5, 0, 0, loc))
	apply(t, s, "blr", "Asia/Kolkata", 1, slotStory(loc)...)
	job := forecast.NewJob(forecast.JobConfig{Store: s})
	st, err := job.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := st.Events, 14; got != want {
		t.Fatalf("events folded = %d, want %d", got, want)
	}
	monday := forecast.LocalDay(time.Date(2026, 3, 2, 12, 0, 0, 0, loc), loc)
	hours, err := s.ForecastHours(ctx, "blr", monday*86400, (monday+4)*86400)
	if err != nil {
		t.Fatal(err)
	}
	slot := forecast.SlotKey{Machine: "VM1", Product: "P1"}
	at := func(d int64, h int) forecast.Hour {
		return hours[forecast.HourKey{Slot: slot, Hour: (monday+d)*86400 + int64(h)*3600}]
	}
	const hourMS = int64(time.Hour / time.Millisecond)
	tests := []struct {
		name string
		d    int64
		h    int
		want forecast.Hour
	}{
		{"Monday 09:00, stocked", 0, 9, forecast.Hour{Sold: 2}},
		{"Monday 14:00, sold out at 14:30", 0, 14, forecast.Hour{Sold: 1, EmptyMS: hourMS / 2}},
		{"Monday 15:00, empty", 0, 15, forecast.Hour{EmptyMS: hourMS}},
		{"Tuesday 12:00, empty", 1, 12, forecast.Hour{EmptyMS: hourMS}},
		{"Wednesday 09:00, empty", 2, 9, forecast.Hour{EmptyMS: hourMS}},
		{"Wednesday 10:00, restocked", 2, 10, forecast.Hour{}},
		{"Thursday 10:00, a sale", 3, 10, forecast.Hour{Sold: 1}},
	}
	for _, tt := range tests {
		if got := at(tt.d, tt.h); got != tt.want {
			t.Errorf("%s: %+v, want %+v", tt.name, got, tt.want)
		}
	}
	fs, err := s.Forecasts(ctx, readmodel.ForecastFilter{Machine: "VM1", Product: "P1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 {
		t.Fatalf("forecasts = %d rows, want 1", len(fs))
	}
	m := fs[0].State
	// Monday 14..23 (10), Tuesday (24), Wednesday 00..09 (10).
	if m.Days != 4 || m.Day != monday+3 || m.CensoredHours != 44 {
		t.Fatalf("model days=%d day=%d censored=%d, want 4, %d, 44", m.Days, m.Day, m.CensoredHours, monday+3)
	}
	if fs[0].Quantity != 9 || fs[0].City != "Bangalore" || fs[0].Name != "Cola" {
		t.Fatalf("slot = %+v, want quantity 9 in Bangalore, named Cola", fs[0])
	}

	// A second run with nothing new changes nothing.
	st, err = job.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 0 || st.Days != 0 {
		t.Fatalf("second run = %+v, want nothing done", st)
	}
}

// TestJob_IncrementalSameAsOnce: folding the history in several runs, as
// batches arrive, gives the same hours and model as one run at the end.
func TestJob_IncrementalSameAsOnce(t *testing.T) {
	ctx := context.Background()
	loc := time.UTC
	story := slotStory(loc)
	now := time.Date(2026, 3, 6, 9, 5, 0, 0, loc)
	once, inc := openStore(t, now), openStore(t, now)
	apply(t, once, "ber", "UTC", 1, story...)
	if _, err := forecast.NewJob(forecast.JobConfig{Store: once}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	job := forecast.NewJob(forecast.JobConfig{Store: inc, Batch: 3})
	for i, n := 0, 0; i < len(story); i += n {
		n = min(4, len(story)-i)
		apply(t, inc, "ber", "UTC", uint64(i+1), story[i:i+n]...)
		if _, err := job.Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	a, err := once.Forecasts(ctx, readmodel.ForecastFilter{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := inc.Forecasts(ctx, readmodel.ForecastFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 1 || len(b) != 1 {
		t.Fatalf("forecasts: once %d, incremental %d rows, want 1 each", len(a), len(b))
	}
	if a[0].State != b[0].State {
		t.Fatalf("incremental model %+v\nwant (one run) %+v", b[0].State, a[0].State)
	}
	ha, _ := once.ForecastHours(ctx, "ber", 0, 1<<40)
	hb, _ := inc.ForecastHours(ctx, "ber", 0, 1<<40)
	if len(ha) != len(hb) {
		t.Fatalf("hours: once %d, incremental %d", len(ha), len(hb))
	}
	for k, v := range ha {
		if hb[k] != v {
			t.Fatalf("hour %+v: incremental %+v, want %+v", k, hb[k], v)
		}
	}
}

// TestForecastDemand_PerCity: replenishment's view sums the slots of the
// depot's city per product.
func TestForecastDemand_PerCity(t *testing.T) {
	ctx := context.Background()
	loc := time.UTC
	s := openStore(t, time.Date(2026, 3, 6, 9, 5, 0, 0, loc))
	apply(t, s, "ber", "UTC", 1, slotStory(loc)...)
	if _, err := forecast.NewJob(forecast.JobConfig{Store: s}).Run(ctx); err != nil {
		t.Fatal(err)
	}
	fs, err := s.Forecasts(ctx, readmodel.ForecastFilter{})
	if err != nil || len(fs) != 1 {
		t.Fatalf("forecasts = %v, %v; want one", fs, err)
	}
	want := fs[0].State.PerDay(forecast.DefaultParams())
	for _, tt := range []struct {
		city string
		want map[string]float64
	}{
		{"Bangalore", map[string]float64{"P1": want}},
		{"Berlin", map[string]float64{}},
		{"", map[string]float64{"P1": want}},
	} {
		d := readmodel.ForecastDemand{Store: s, CityOf: func(context.Context, string) (string, error) { return tt.city, nil }}
		got, err := d.DailyDemand(ctx, "D1", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(tt.want) || got["P1"] != tt.want["P1"] {
			t.Fatalf("city %q: demand %v, want %v", tt.city, got, tt.want)
		}
	}
}
