package api_test

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/sync/envelope"
)

// addTwins adds sites sa and sb to c, each with a machine VM_0001 in Pune
// (in different buildings) that sold different amounts, both under the
// transaction id TXN-000123, and a second machine VM_0002 at sa whose sale
// reuses that id too.
func addTwins(t *testing.T, c *central) {
	t.Helper()
	day := t0.Add(-48 * time.Hour)
	vm := func(building string) ev {
		return ev{envelope.KindMachine, day, envelope.Machine{MachineID: "VM_0001", City: "Pune", Building: building,
			PaymentMethods: []string{"CARD"}, Status: "ACTIVE", Action: "REGISTERED"}}
	}
	apply(t, c.Store, "sa", "UTC", 1,
		vm("Alpha"),
		productEv("VM_0001", "P1", "Coke", 100, 20, day),
		machineEv("VM_0002", "Pune", "ACTIVE", day),
		saleEv("TXN-000123", "VM_0001", "P1", "Pune", 2, 200, day.Add(time.Hour)),
		saleEv("TXN-000123", "VM_0002", "P1", "Pune", 1, 100, day.Add(time.Hour)),
		ev{envelope.KindAlert, day, envelope.Alert{AlertID: 1, MachineID: "VM_0001", ProductID: "P1",
			Type: "LOW_STOCK", Status: "OPEN", OpenedAt: day}},
	)
	// sb's machine changed last, so an id-only lookup would find it first.
	apply(t, c.Store, "sb", "UTC", 1,
		ev{envelope.KindMachine, day.Add(time.Hour), envelope.Machine{MachineID: "VM_0001", City: "Pune", Building: "Beta",
			PaymentMethods: []string{"CARD"}, Status: "ACTIVE", Action: "REGISTERED"}},
		productEv("VM_0001", "P1", "Coke", 100, 20, day),
		saleEv("TXN-000123", "VM_0001", "P1", "Pune", 308, 30800, day.Add(2*time.Hour)),
		ev{envelope.KindAlert, day, envelope.Alert{AlertID: 1, MachineID: "VM_0001", ProductID: "P1",
			Type: "LOW_STOCK", Status: "OPEN", OpenedAt: day}},
	)
}

type machineRows struct {
	Rows []struct {
		SiteID, Key  string
		Transactions int64
		Quantity     int64
	}
	Totals struct{ Transactions, Quantity int64 }
}

func (a machineRows) String() string {
	var out []string
	for _, r := range a.Rows {
		out = append(out, r.SiteID+"/"+r.Key+" "+fmtInt(r.Transactions)+"/"+fmtInt(r.Quantity))
	}
	sort.Strings(out)
	return strings.Join(out, "; ")
}

// Two sites each with a machine VM_0001 (and one transaction id used by
// three machines) are kept apart in every machine-level answer.
func TestIdentity_SameMachineIDAtTwoSitesKeptApart(t *testing.T) {
	c := newCentral(t)
	addTwins(t, c)
	tok := c.Token(auth.RoleFinance)
	const want = "sa/VM_0001 1/2; sa/VM_0002 1/1; sb/VM_0001 1/308"

	check := func(t *testing.T) {
		t.Helper()
		r := c.Do("GET", "/aggregations/sales?groupBy=machine&window=month&city=Pune&from=2025-03-01&to=2025-04-01", tok, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("status = %d: %s", r.Status, r.Body)
		}
		var a machineRows
		r.JSON(t, &a)
		if got := a.String(); got != want {
			t.Fatalf("by machine = %s, want %s", got, want)
		}
		if a.Totals.Transactions != 3 || a.Totals.Quantity != 311 {
			t.Fatalf("totals = %+v, want 3 transactions, 311 units", a.Totals)
		}

		r = c.Do("POST", "/reports/export", tok, map[string]string{"kind": "sales", "groupBy": "machine", "window": "month",
			"from": "2025-03-01", "to": "2025-04-01", "city": "Pune", "format": "json"})
		if r.Status != http.StatusOK {
			t.Fatalf("export json status = %d: %s", r.Status, r.Body)
		}
		var e machineRows
		r.JSON(t, &e)
		if got := e.String(); got != want {
			t.Fatalf("export json = %s, want %s", got, want)
		}

		r = c.Do("POST", "/reports/export", tok, map[string]string{"kind": "sales", "groupBy": "machine", "window": "month",
			"from": "2025-03-01", "to": "2025-04-01", "city": "Pune", "format": "csv"})
		if r.Status != http.StatusOK {
			t.Fatalf("export csv status = %d: %s", r.Status, r.Body)
		}
		lines := strings.Split(strings.TrimSpace(r.Body), "\n")
		if got, want := lines[0], "site,machine,bucket,transactions,quantity,revenue"; got != want {
			t.Fatalf("csv header = %q, want %q", got, want)
		}
		if got, want := strings.Join(lines[1:], "|"), "sa,VM_0001,2025-03-01T00:00:00,1,2,2.00|sb,VM_0001,2025-03-01T00:00:00,1,308,308.00|sa,VM_0002,2025-03-01T00:00:00,1,1,1.00"; got != want {
			t.Fatalf("csv rows = %q, want %q", got, want)
		}
	}
	t.Run("as applied", check)
	if _, err := c.Store.Rebuild(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Run("after rebuild", check)

	t.Run("machine lookup names the site", func(t *testing.T) {
		r := c.Do("GET", "/machines/VM_0001", tok, nil)
		if r.Status != http.StatusConflict {
			t.Fatalf("ambiguous id: status = %d, want 409: %s", r.Status, r.Body)
		}
		if e := r.Error(t); e.Field != "siteId" || !strings.Contains(e.Message, "sa") || !strings.Contains(e.Message, "sb") {
			t.Fatalf("error = %+v, want siteId naming sa and sb", e)
		}
		for site, building := range map[string]string{"sa": "Alpha", "sb": "Beta"} {
			r := c.Do("GET", "/machines/VM_0001?siteId="+site, tok, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("%s: status = %d: %s", site, r.Status, r.Body)
			}
			var m struct {
				SiteID   string
				Location struct{ Building string }
			}
			r.JSON(t, &m)
			if m.SiteID != site || m.Location.Building != building {
				t.Fatalf("%s: machine = %+v", site, m)
			}
		}
		if r := c.Do("GET", "/machines/VM_0001?siteId=s1", tok, nil); r.Status != http.StatusNotFound {
			t.Fatalf("other site: status = %d, want 404", r.Status)
		}
		// A unique id needs no site, as before.
		if r := c.Do("GET", "/machines/M1", tok, nil); r.Status != http.StatusOK {
			t.Fatalf("unique id: status = %d: %s", r.Status, r.Body)
		}
	})

	t.Run("patch goes to the named site", func(t *testing.T) {
		ops := c.Token(auth.RoleOps)
		if r := c.Do("PATCH", "/machines/VM_0001", ops, map[string]any{"status": "INACTIVE"}); r.Status != http.StatusConflict {
			t.Fatalf("ambiguous patch: status = %d, want 409: %s", r.Status, r.Body)
		}
		r := c.Do("PATCH", "/machines/VM_0001?siteId=sb", ops, map[string]any{"status": "INACTIVE"})
		if r.Status != http.StatusAccepted {
			t.Fatalf("patch sb: status = %d: %s", r.Status, r.Body)
		}
		c.Published("sb", envelope.MachineKey("VM_0001"))
		c.Unpublished("sa", envelope.MachineKey("VM_0001"))
	})

	t.Run("route shows each site its own machine", func(t *testing.T) {
		r := c.Do("GET", "/routes/candidates", c.Token(auth.RoleDriver), nil)
		if r.Status != http.StatusOK {
			t.Fatalf("status = %d: %s", r.Status, r.Body)
		}
		var a struct {
			Candidates []struct {
				Site     string
				Machines []struct{ MachineID, Building string }
			}
		}
		r.JSON(t, &a)
		got := map[string]string{}
		for _, cd := range a.Candidates {
			for _, m := range cd.Machines {
				if m.MachineID == "VM_0001" {
					got[cd.Site] = m.Building
				}
			}
		}
		if got["sa"] != "Alpha" || got["sb"] != "Beta" {
			t.Fatalf("VM_0001 per site = %v, want sa:Alpha sb:Beta", got)
		}
	})
}

func TestFaults_PatchUnknownFaultIsNotFound(t *testing.T) {
	c := newCentral(t)
	ops := c.Token(auth.RoleOps)
	r := c.Do("PATCH", "/faults/s1/999", ops, map[string]string{"status": "RESOLVED"})
	if r.Status != http.StatusNotFound {
		t.Fatalf("status = %d, want 404: %s", r.Status, r.Body)
	}
	if e := r.Error(t); e.Field != "faultId" {
		t.Fatalf("error = %+v, want field faultId", e)
	}
	c.Unpublished("s1", envelope.FaultKey(999))
	// Fault 7 exists at s2, not at s1.
	if r := c.Do("PATCH", "/faults/s1/7", ops, map[string]string{"status": "RESOLVED"}); r.Status != http.StatusNotFound {
		t.Fatalf("other site's fault: status = %d, want 404", r.Status)
	}
	if r := c.Do("PATCH", "/faults/s1/1", ops, map[string]string{"status": "RESOLVED"}); r.Status != http.StatusAccepted {
		t.Fatalf("known fault: status = %d: %s", r.Status, r.Body)
	}
}
