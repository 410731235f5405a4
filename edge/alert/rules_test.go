package alert_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/edgetest"
)

var t0 = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

// longTokens keeps tokens valid while these tests move the clock by hours.
func longTokens(c *edge.Config) { c.TokenTTL = 24 * 365 * time.Hour }

type step struct {
	name string
	do   func(t *testing.T)
	// want is the open alerts of (machine, product) after the step, sorted
	// and comma-separated.
	machine, product, want string
}

func run(t *testing.T, s *edgetest.Site, steps []step) {
	t.Helper()
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do(t)
			if got, want := s.OpenAlerts(st.machine, st.product), st.want; got != want {
				t.Fatalf("open alerts of %s/%s = %q, want %q", st.machine, st.product, got, want)
			}
			edgetest.CheckAlerts(t, s.DB())
		})
	}
}

func post(s *edgetest.Site, path string, body any, status int) func(t *testing.T) {
	return func(t *testing.T) {
		t.Helper()
		r := s.Do("POST", path, s.AdminToken(), body)
		if r.Status != status {
			t.Fatalf("POST %s: %d, want %d: %s", path, r.Status, status, r.Body)
		}
	}
}

func patch(s *edgetest.Site, path string, body any) func(t *testing.T) {
	return func(t *testing.T) {
		t.Helper()
		r := s.Do("PATCH", path, s.AdminToken(), body)
		if r.Status != http.StatusOK {
			t.Fatalf("PATCH %s: %d: %s", path, r.Status, r.Body)
		}
	}
}

func seq(fs ...func(t *testing.T)) func(t *testing.T) {
	return func(t *testing.T) {
		t.Helper()
		for _, f := range fs {
			f(t)
		}
	}
}

func TestAlerts_Stock(t *testing.T) {
	s := edgetest.Start(t, edgetest.Options{Clock: edgetest.NewClock(t0)})
	s.Machine("M1")
	s.Product("M1", "P1", 100, 8, map[string]any{"lowStockLimit": 5})
	n := 0
	sell := func(qty int64) func(t *testing.T) {
		return func(t *testing.T) {
			n++
			post(s, "/events/sales", s.Sale("tx-"+string(rune('a'+n)), "M1", "P1", qty, qty*100), http.StatusCreated)(t)
		}
	}
	stock := func(want int64) func(t *testing.T) {
		return func(t *testing.T) {
			if got := s.Stock("M1", "P1"); got != want {
				t.Fatalf("stock = %d, want %d", got, want)
			}
		}
	}
	const p = "/machines/M1/products/P1"
	run(t, s, []step{
		{name: "above the limit", do: seq(sell(2), stock(6)), machine: "M1", product: "P1", want: ""},
		{name: "at the limit opens LOW_STOCK", do: seq(sell(1), stock(5)), machine: "M1", product: "P1", want: "LOW_STOCK"},
		{name: "below the limit keeps one LOW_STOCK", do: seq(sell(1), stock(4)), machine: "M1", product: "P1", want: "LOW_STOCK"},
		{name: "zero opens OUT_OF_STOCK and closes LOW_STOCK", do: seq(sell(4), stock(0)), machine: "M1", product: "P1", want: "OUT_OF_STOCK"},
		{name: "a sale with nothing in stock is recorded and opens INVENTORY_MISMATCH", do: seq(sell(1), stock(0)), machine: "M1", product: "P1", want: "INVENTORY_MISMATCH,OUT_OF_STOCK"},
		{name: "another such sale keeps one INVENTORY_MISMATCH", do: seq(sell(2), stock(0)), machine: "M1", product: "P1", want: "INVENTORY_MISMATCH,OUT_OF_STOCK"},
		{name: "a count closes OUT_OF_STOCK and INVENTORY_MISMATCH", do: seq(patch(s, p, map[string]any{"quantity": 3}), stock(3)), machine: "M1", product: "P1", want: "LOW_STOCK"},
		{name: "a restock closes LOW_STOCK", do: seq(patch(s, p, map[string]any{"quantity": 20}), stock(20)), machine: "M1", product: "P1", want: ""},
		{name: "raising the limit opens LOW_STOCK", do: patch(s, p, map[string]any{"lowStockLimit": 20}), machine: "M1", product: "P1", want: "LOW_STOCK"},
		{name: "a count to zero opens OUT_OF_STOCK", do: patch(s, p, map[string]any{"quantity": 0}), machine: "M1", product: "P1", want: "OUT_OF_STOCK"},
		{name: "a product added empty is OUT_OF_STOCK", do: func(t *testing.T) { s.Product("M1", "P2", 100, 0) }, machine: "M1", product: "P2", want: "OUT_OF_STOCK"},
		{name: "a product added low is LOW_STOCK", do: func(t *testing.T) { s.Product("M1", "P3", 100, 2) }, machine: "M1", product: "P3", want: "LOW_STOCK"},
	})
	if got, want := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM sales_events WHERE machine_id = 'M1'`), int64(6); got != want {
		t.Fatalf("%d sales recorded, want %d", got, want)
	}
	if got, want := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM alerts WHERE alert_type = 'INVENTORY_MISMATCH'`), int64(1); got != want {
		t.Fatalf("%d INVENTORY_MISMATCH alerts ever, want %d", got, want)
	}
	var reason string
	if err := s.DB().QueryRow(`SELECT close_reason FROM alerts WHERE alert_type = 'INVENTORY_MISMATCH'`).Scan(&reason); err != nil || reason != "COUNTED" {
		t.Fatalf("INVENTORY_MISMATCH close reason = %q (%v), want COUNTED", reason, err)
	}
	// The unique index itself refuses a second open alert for a condition.
	_, err := s.Node.Store.DB.W.ExecContext(context.Background(), `INSERT INTO alerts (machine_id, product_id, alert_type, status, created_at) VALUES ('M1', 'P2', 'OUT_OF_STOCK', 'OPEN', 0)`)
	if err == nil || !strings.Contains(err.Error(), "UNIQUE") {
		t.Fatalf("second open OUT_OF_STOCK for M1/P2: err = %v, want a UNIQUE constraint error", err)
	}
	// GET /alerts and the inventory show the same open alerts.
	r := s.Do("GET", "/alerts?status=OPEN&machineId=M1&type=OUT_OF_STOCK", s.AdminToken(), nil)
	var ans struct {
		Alerts []struct {
			ProductID string `json:"productId"`
			Type      string `json:"type"`
			Status    string `json:"status"`
		} `json:"alerts"`
	}
	r.Decode(t, &ans)
	if got, want := len(ans.Alerts), 2; got != want {
		t.Fatalf("GET /alerts: %d open OUT_OF_STOCK alerts, want %d: %s", got, want, r.Body)
	}
	r = s.Do("GET", "/machines/M1/inventory", s.AdminToken(), nil)
	var inv struct {
		Items []struct {
			ProductID  string   `json:"productId"`
			OpenAlerts []string `json:"openAlerts"`
		} `json:"items"`
	}
	r.Decode(t, &inv)
	for _, it := range inv.Items {
		if got, want := strings.Join(it.OpenAlerts, ","), s.OpenAlerts("M1", it.ProductID); got != want {
			t.Fatalf("inventory %s openAlerts = %q, want %q", it.ProductID, got, want)
		}
	}
	edgetest.CheckStore(t, s.DB(), s.Node.Store.Site.Loc)
}

func TestAlerts_Machine(t *testing.T) {
	clock := edgetest.NewClock(t0)
	s := edgetest.Start(t, edgetest.Options{Clock: clock, Configure: longTokens})
	s.Machine("M1")
	s.Machine("COLD", map[string]any{"temperatureMax": 4})
	s.Product("M1", "P1", 100, 3) // LOW_STOCK, closed by decommissioning
	at := func(d time.Duration) func(t *testing.T) {
		return func(t *testing.T) { clock.Set(t0.Add(d)) }
	}
	reading := func(machine string, fields ...any) func(t *testing.T) {
		return func(t *testing.T) {
			body := map[string]any{"machineId": machine, "timestamp": clock.Now().Format(time.RFC3339)}
			for i := 0; i+1 < len(fields); i += 2 {
				body[fields[i].(string)] = fields[i+1]
			}
			post(s, "/events/telemetry", body, http.StatusAccepted)(t)
		}
	}
	sweep := func(t *testing.T) { s.Sweep() }
	run(t, s, []step{
		{name: "warm reading within the grace", do: seq(at(0), reading("M1", "temperature", 10, "powerStatus", "ON", "doorStatus", "CLOSED")), machine: "M1", want: ""},
		{name: "still warm before the grace ends", do: seq(at(9*time.Minute), reading("M1", "temperature", 11)), machine: "M1", want: ""},
		{name: "sweep before the grace ends", do: seq(at(9*time.Minute+59*time.Second), sweep), machine: "M1", want: ""},
		{name: "warm reading after the grace opens TEMPERATURE_HIGH", do: seq(at(10*time.Minute), reading("M1", "temperature", 10.5)), machine: "M1", want: "TEMPERATURE_HIGH"},
		{name: "back under closes it", do: seq(at(11*time.Minute), reading("M1", "temperature", 8)), machine: "M1", want: ""},
		{name: "warm again restarts the grace", do: seq(at(12*time.Minute), reading("M1", "temperature", 9)), machine: "M1", want: ""},
		{name: "sweep after the grace opens TEMPERATURE_HIGH", do: seq(at(22*time.Minute), sweep), machine: "M1", want: "TEMPERATURE_HIGH"},
		{name: "a late, older cool reading changes nothing", do: seq(func(t *testing.T) {
			post(s, "/events/telemetry", map[string]any{"machineId": "M1", "temperature": 3, "timestamp": t0.Add(5 * time.Minute).Format(time.RFC3339)}, http.StatusAccepted)(t)
		}), machine: "M1", want: "TEMPERATURE_HIGH"},
		{name: "cool reading closes it", do: reading("M1", "temperature", 4), machine: "M1", want: ""},
		{name: "power off opens POWER_OFF", do: reading("M1", "powerStatus", "OFF"), machine: "M1", want: "POWER_OFF"},
		{name: "power on closes it", do: reading("M1", "powerStatus", "ON"), machine: "M1", want: ""},
		{name: "door open within the grace", do: seq(at(30*time.Minute), reading("M1", "doorStatus", "OPEN")), machine: "M1", want: ""},
		{name: "sweep before the door grace ends", do: seq(at(34*time.Minute), sweep), machine: "M1", want: ""},
		{name: "sweep after the door grace opens DOOR_OPEN", do: seq(at(35*time.Minute), sweep), machine: "M1", want: "DOOR_OPEN"},
		{name: "door closed closes it", do: reading("M1", "doorStatus", "CLOSED"), machine: "M1", want: ""},
		{name: "sweep before the offline timeout", do: seq(at(49*time.Minute+59*time.Second), sweep), machine: "M1", want: ""},
		{name: "sweep after the offline timeout opens MACHINE_OFFLINE", do: seq(at(50*time.Minute), sweep), machine: "M1", want: "MACHINE_OFFLINE"},
		{name: "another sweep keeps one", do: seq(at(60*time.Minute), sweep), machine: "M1", want: "MACHINE_OFFLINE"},
		{name: "the next reading closes it", do: reading("M1", "temperature", 4), machine: "M1", want: ""},
		{name: "a machine that never reported goes offline", do: sweep, machine: "COLD", want: "MACHINE_OFFLINE"},
		{name: "its own lower limit applies", do: seq(reading("COLD", "temperature", 5), at(70*time.Minute), reading("COLD", "temperature", 5)), machine: "COLD", want: "TEMPERATURE_HIGH"},
		{name: "an inactive machine is not offline", do: seq(patch(s, "/machines/COLD", map[string]any{"status": "INACTIVE"}), at(2*time.Hour), sweep), machine: "COLD", want: "TEMPERATURE_HIGH"},
		{name: "maintenance closes MACHINE_OFFLINE at the next sweep", do: seq(
			patch(s, "/machines/COLD", map[string]any{"status": "ACTIVE"}), at(3*time.Hour), sweep,
			patch(s, "/machines/COLD", map[string]any{"status": "MAINTENANCE"}), sweep,
		), machine: "COLD", want: "TEMPERATURE_HIGH"},
		{name: "alerts pile up on M1", do: seq(reading("M1", "powerStatus", "OFF", "doorStatus", "OPEN"), at(4*time.Hour), sweep), machine: "M1", want: "DOOR_OPEN,MACHINE_OFFLINE,POWER_OFF"},
		{name: "decommissioning closes the machine's alerts", do: func(t *testing.T) {
			if r := s.Do("DELETE", "/machines/M1", s.AdminToken(), nil); r.Status != http.StatusOK {
				t.Fatalf("DELETE: %d %s", r.Status, r.Body)
			}
		}, machine: "M1", want: ""},
		{name: "and its products' alerts", do: func(t *testing.T) {}, machine: "M1", product: "P1", want: ""},
		{name: "a later sweep opens nothing for it", do: seq(at(5*time.Hour), sweep), machine: "M1", want: ""},
	})
	if got, want := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM alerts WHERE machine_id = 'M1' AND close_reason = 'DECOMMISSIONED'`), int64(4); got != want {
		t.Fatalf("%d alerts closed by decommissioning, want %d", got, want)
	}
	reasons := map[string]int64{"TELEMETRY_RECEIVED": 3, "STATUS_UNDER_MAINTENANCE": 1}
	for reason, want := range reasons {
		if got := edgetest.Count(t, s.DB(), `SELECT COUNT(*) FROM alerts WHERE alert_type = 'MACHINE_OFFLINE' AND close_reason = ?`, reason); got != want {
			t.Fatalf("%d MACHINE_OFFLINE alerts closed with %s, want %d", got, reason, want)
		}
	}
}

// TestAlerts_RestartKeepsState: grace periods and open alerts survive a
// restart (the state is in machine_state and alerts, not only in memory).
func TestAlerts_RestartKeepsState(t *testing.T) {
	clock := edgetest.NewClock(t0)
	s := edgetest.Start(t, edgetest.Options{Clock: clock, Configure: longTokens})
	s.Machine("M1")
	post(s, "/events/telemetry", map[string]any{"machineId": "M1", "temperature": 12, "doorStatus": "OPEN", "powerStatus": "OFF", "timestamp": t0.Format(time.RFC3339)}, http.StatusAccepted)(t)
	s.Reopen()
	clock.Set(t0.Add(10 * time.Minute))
	s.Sweep()
	if got, want := s.OpenAlerts("M1", ""), "DOOR_OPEN,POWER_OFF,TEMPERATURE_HIGH"; got != want {
		t.Fatalf("after restart and sweep: %q, want %q", got, want)
	}
	s.Reopen()
	post(s, "/events/telemetry", map[string]any{"machineId": "M1", "powerStatus": "ON", "timestamp": clock.Now().Format(time.RFC3339)}, http.StatusAccepted)(t)
	if got, want := s.OpenAlerts("M1", ""), "DOOR_OPEN,TEMPERATURE_HIGH"; got != want {
		t.Fatalf("after a second restart and power on: %q, want %q", got, want)
	}
	edgetest.CheckAlerts(t, s.DB())
}

// TestAlerts_ExpiryAcrossTimezones: an item is good through its expiry date
// in the site's timezone, whatever the date is in UTC.
func TestAlerts_ExpiryAcrossTimezones(t *testing.T) {
	tests := []struct {
		name string
		tz   string
		// instants (UTC) and the open alerts after a sweep at each, in order
		steps []struct {
			at   string
			want string
		}
	}{
		{name: "Kolkata, UTC+5:30", tz: "Asia/Kolkata", steps: []struct{ at, want string }{
			{"2025-05-29T18:29:00Z", ""},              // 23:59 on 05-29: more than 2 days ahead
			{"2025-05-29T18:30:00Z", "EXPIRING_SOON"}, // 00:00 on 05-30
			{"2025-06-01T18:00:00Z", "EXPIRING_SOON"}, // 23:30 on 06-01: the last good day
			{"2025-06-01T18:31:00Z", "EXPIRED"},       // 00:01 on 06-02, still 06-01 in UTC
		}},
		{name: "New York, UTC-4", tz: "America/New_York", steps: []struct{ at, want string }{
			{"2025-05-30T03:59:00Z", ""},              // 23:59 on 05-29
			{"2025-05-30T04:00:00Z", "EXPIRING_SOON"}, // 00:00 on 05-30
			{"2025-06-02T03:30:00Z", "EXPIRING_SOON"}, // 23:30 on 06-01, already 06-02 in UTC
			{"2025-06-02T04:01:00Z", "EXPIRED"},       // 00:01 on 06-02
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := edgetest.NewClock(time.Date(2025, 5, 20, 12, 0, 0, 0, time.UTC))
			s := edgetest.Start(t, edgetest.Options{Clock: clock, Timezone: tt.tz, Configure: longTokens})
			s.Machine("M1")
			s.Product("M1", "MILK", 100, 10, map[string]any{"expiryDate": "2025-06-01"})
			if got := s.OpenAlerts("M1", "MILK"); got != "" {
				t.Fatalf("fresh product has alerts %q", got)
			}
			for _, st := range tt.steps {
				at, err := time.Parse(time.RFC3339, st.at)
				if err != nil {
					t.Fatal(err)
				}
				clock.Set(at)
				s.Sweep()
				if got, want := s.OpenAlerts("M1", "MILK"), st.want; got != want {
					t.Fatalf("at %s (%s local): %q, want %q", st.at, at.In(s.Node.Store.Site.Loc).Format("2006-01-02 15:04"), got, want)
				}
			}
			// Selling the last items closes EXPIRED: an empty slot has nothing to expire.
			post(s, "/events/sales", s.Sale("tx-last", "M1", "MILK", 10, 1000), http.StatusCreated)(t)
			if got, want := s.OpenAlerts("M1", "MILK"), "OUT_OF_STOCK"; got != want {
				t.Fatalf("after selling out: %q, want %q", got, want)
			}
			// A new expiry date with stock clears it.
			patch(s, "/machines/M1/products/MILK", map[string]any{"quantity": 10, "expiryDate": "2025-07-01"})(t)
			if got, want := s.OpenAlerts("M1", "MILK"), ""; got != want {
				t.Fatalf("after restock with a new date: %q, want %q", got, want)
			}
			var closed []string
			rows, err := s.DB().Query(`SELECT alert_type || ':' || close_reason FROM alerts WHERE status = 'CLOSED' ORDER BY alert_id`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var c string
				rows.Scan(&c)
				closed = append(closed, c)
			}
			if got, want := strings.Join(closed, " "), "EXPIRING_SOON:SWEEP EXPIRED:SALE OUT_OF_STOCK:UPDATED"; got != want {
				t.Fatalf("closed alerts = %q, want %q", got, want)
			}
			edgetest.CheckAlerts(t, s.DB())
		})
	}
}
