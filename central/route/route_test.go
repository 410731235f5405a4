package route_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central/readmodel"
	"github.com/vendsync/vendsync/central/route"
)

var _ route.Source = (*readmodel.Store)(nil)

var now = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

// data is a read model's answers held in memory.
type data struct {
	sites    []readmodel.Freshness
	alerts   []readmodel.Alert
	machines map[string]readmodel.Machine
	err      error
}

func (d data) Sites(context.Context) ([]readmodel.Freshness, error) { return d.sites, d.err }
func (d data) Alerts(_ context.Context, f readmodel.AlertFilter) ([]readmodel.Alert, error) {
	var out []readmodel.Alert
	for _, a := range d.alerts {
		if f.Status == "" || a.Status == f.Status {
			out = append(out, a)
		}
	}
	return out, nil
}
func (d data) Machine(_ context.Context, site, id string) (readmodel.Machine, error) {
	m, ok := d.machines[id]
	if !ok || (site != "" && m.Site != site) {
		return m, fmt.Errorf("machine %s: %w", id, readmodel.ErrNotFound)
	}
	return m, nil
}

// withVisits adds restock history and machine lists.
type withVisits struct {
	data
	visits map[string]map[string]time.Time
	lists  map[string][]string
}

func (w withVisits) LastRestocks(_ context.Context, site string) (map[string]time.Time, error) {
	return w.visits[site], nil
}
func (w withVisits) SiteMachines(_ context.Context, site string) ([]string, error) {
	return w.lists[site], nil
}

func site(id string) readmodel.Freshness {
	return readmodel.Freshness{Site: id, Known: true, LastContact: now.Add(-time.Minute)}
}

func open(s, m, p, typ string) readmodel.Alert {
	return readmodel.Alert{Site: s, MachineID: m, ProductID: p, Type: typ, Status: "OPEN"}
}

func ptr(v int64) *int64 { return &v }

func machine(s, id string, ps ...readmodel.MachineProduct) readmodel.Machine {
	return readmodel.Machine{Site: s, MachineID: id, City: "Pune", Building: "B-" + id, Status: "ACTIVE", Products: ps}
}

type row struct {
	site  string
	score int
}

func TestCandidates_Ranking(t *testing.T) {
	tests := []struct {
		name string
		src  route.Source
		want []row
		// reasons of the first row, as "CODE×count" strings
		reasons []string
	}{
		{
			name: "no alerts, no candidates",
			src:  data{sites: []readmodel.Freshness{site("a"), site("b")}},
			want: []row{},
		},
		{
			name: "out of stock outranks low stock",
			src: data{sites: []readmodel.Freshness{site("a"), site("b")}, alerts: []readmodel.Alert{
				open("a", "m1", "p1", route.LowStock), open("a", "m1", "p2", route.LowStock),
				open("b", "m2", "p1", route.OutOfStock),
			}},
			want:    []row{{"b", 10}, {"a", 8}},
			reasons: []string{"OUT_OF_STOCK×1"},
		},
		{
			name: "expired, temperature and offline add up; closed alerts do not count",
			src: data{sites: []readmodel.Freshness{site("a"), site("b")}, alerts: []readmodel.Alert{
				open("a", "m1", "p1", route.Expired), open("a", "m1", "", route.Temperature), open("a", "m2", "", route.Offline),
				open("b", "m3", "p1", route.OutOfStock), open("b", "m3", "p2", route.OutOfStock),
				{Site: "a", MachineID: "m1", ProductID: "p9", Type: route.OutOfStock, Status: "CLOSED"},
			}},
			want:    []row{{"b", 20}, {"a", 19}},
			reasons: []string{"OUT_OF_STOCK×2"},
		},
		{
			name:    "a stale site is a candidate on its own",
			src:     data{sites: []readmodel.Freshness{{Site: "s", Known: true, LastContact: now.Add(-3 * time.Hour)}, site("t")}},
			want:    []row{{"s", 2}},
			reasons: []string{"SITE_OFFLINE×1"},
		},
		{
			name: "days since the last restock, capped",
			src: withVisits{data: data{sites: []readmodel.Freshness{site("a"), site("b"), site("c")}}, visits: map[string]map[string]time.Time{
				"a": {"m1": now.Add(-30 * 24 * time.Hour), "m2": now.Add(-20 * 24 * time.Hour)},
				"b": {"m3": now.Add(-3*24*time.Hour - time.Hour)},
				"c": {"m4": now.Add(-time.Hour)},
			}},
			want:    []row{{"a", 14}, {"b", 3}},
			reasons: []string{"DAYS_SINCE_VISIT×20"},
		},
		{
			name: "ties go by site id",
			src: data{sites: []readmodel.Freshness{site("z"), site("y")}, alerts: []readmodel.Alert{
				open("z", "m1", "p1", route.LowStock), open("y", "m2", "p1", route.LowStock),
			}},
			want:    []row{{"y", 4}, {"z", 4}},
			reasons: []string{"LOW_STOCK×1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := route.CandidatesAt(context.Background(), tc.src, now)
			if err != nil {
				t.Fatal(err)
			}
			got := []row{}
			for _, c := range cs {
				got = append(got, row{c.Site, c.Score})
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("rows = %v, want %v", got, tc.want)
			}
			if tc.reasons != nil {
				var rs []string
				for _, r := range cs[0].Reasons {
					rs = append(rs, fmt.Sprintf("%s×%d", r.Code, r.Count))
				}
				if !reflect.DeepEqual(rs, tc.reasons) {
					t.Fatalf("reasons of %s = %v, want %v", cs[0].Site, rs, tc.reasons)
				}
			}
		})
	}
}

func TestCandidates_MachinesAndSlots(t *testing.T) {
	src := withVisits{data: data{
		sites: []readmodel.Freshness{site("a")},
		alerts: []readmodel.Alert{
			open("a", "m1", "p1", route.OutOfStock), open("a", "m1", "", route.DoorOpen),
			open("a", "gone", "p1", route.LowStock),
		},
		machines: map[string]readmodel.Machine{
			"m1": machine("a", "m1",
				readmodel.MachineProduct{ProductID: "p1", Name: "Cola", Quantity: 0, LowStockLimit: 5, CasePack: 6},
				readmodel.MachineProduct{ProductID: "p2", Name: "Chips", Quantity: 7, LowStockLimit: 2, ParLevel: ptr(8)}),
			"m2":    machine("a", "m2", readmodel.MachineProduct{ProductID: "p3", Quantity: 1, LowStockLimit: 1}),
			"other": machine("b", "other"),
		},
	}, lists: map[string][]string{"a": {"m2"}}}
	cs, err := route.CandidatesAt(context.Background(), src, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 {
		t.Fatalf("candidates = %+v", cs)
	}
	c := cs[0]
	if got, want := c.Summary(), "1 out of stock, 1 low stock, 1 door open"; got != want {
		t.Fatalf("summary = %q, want %q", got, want)
	}
	if c.City != "Pune" {
		t.Fatalf("city = %q", c.City)
	}
	var ids []string
	for _, m := range c.Machines {
		ids = append(ids, m.MachineID)
	}
	if want := []string{"gone", "m1", "m2"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("machines = %v, want %v", ids, want)
	}
	m1 := c.Machines[1]
	if !reflect.DeepEqual(m1.Alerts, []string{route.DoorOpen}) {
		t.Fatalf("m1 alerts = %v", m1.Alerts)
	}
	type slot struct {
		p         string
		par, need int64
		alerts    int
	}
	var got []slot
	for _, s := range m1.Slots {
		got = append(got, slot{s.ProductID, s.ParLevel, s.Need(), len(s.Alerts)})
	}
	if want := []slot{{"p1", 15, 15, 1}, {"p2", 8, 1, 0}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("m1 slots = %v, want %v", got, want)
	}
	if got := c.Machines[2].Slots[0].ParLevel; got != route.DefaultParMin {
		t.Fatalf("default par = %d, want %d", got, route.DefaultParMin)
	}
}

func TestCandidates_SourceError(t *testing.T) {
	boom := errors.New("boom")
	if _, err := route.CandidatesAt(context.Background(), data{err: boom}, now); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}
}

func TestParLevel(t *testing.T) {
	tests := []struct {
		name string
		par  *int64
		low  int64
		want int64
	}{
		{"set", ptr(4), 5, 4},
		{"set to zero", ptr(0), 5, 0},
		{"three times the limit", nil, 5, 15},
		{"at least the minimum", nil, 1, route.DefaultParMin},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := route.ParLevel(tc.par, tc.low); got != tc.want {
				t.Fatalf("ParLevel = %d, want %d", got, tc.want)
			}
		})
	}
}
