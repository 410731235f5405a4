package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// capacityForm is the restock form on VM-1 with CHIPS (3 units, par 10)
// held by a coil of capacity units.
func capacityForm(t *testing.T, capacity int64) (*model, *restockScreen) {
	t.Helper()
	m := offlineModel(t)
	m.Update(tea.WindowSizeMsg{Width: 140, Height: 30})
	feed(m)
	press(m, "tab")
	m.Update(machinesMsg{site: "blr-1", machines: m.c.machines, alerts: m.c.alerts})
	items := sampleItems()
	items[0].Capacity = capacity
	m.inventory = &inventoryScreen{c: m.c, machine: "VM-1", items: items, arrived: t0}
	m.state = stateInventory
	if v := stripANSI(m.View()); capacity > 0 && !strings.Contains(v, " CAP ") {
		t.Fatalf("planogram has no CAP column:\n%s", v)
	}
	press(m, "enter")
	if m.restock == nil {
		t.Fatal("no restock form")
	}
	return m, m.restock
}

// TestRestockForm_WarnsBeyondCapacity: with the slot's capacity known the
// overfill warning names it (cap N) before anything is sent, and a fill
// past par but within capacity is not warned about; the planogram shows it.
func TestRestockForm_WarnsBeyondCapacity(t *testing.T) {
	m, f := capacityForm(t, 15)
	f.form[0].fields[0] = "13" // 3 + 13 = 16 > 15
	press(m, "enter")
	if !f.confirming {
		t.Fatalf("not confirming; status %q", m.c.status)
	}
	v := stripANSI(m.View())
	if !strings.Contains(v, "CHIPS: 16 after the visit, beyond its capacity (cap 15)") {
		t.Fatalf("no capacity warning:\n%s", v)
	}
	if strings.Contains(v, "(par 10)") {
		t.Fatalf("warned about par with the capacity known:\n%s", v)
	}

	m, f = capacityForm(t, 15)
	f.form[0].fields[0] = "12" // 15: past par 10, within capacity
	press(m, "enter")
	if v := stripANSI(m.View()); !f.confirming || strings.Contains(v, "beyond its capacity") {
		t.Fatalf("warned within capacity (confirming %v):\n%s", f.confirming, v)
	}
}

// TestRestockForm_SuggestsNoMoreThanCapacity: the suggestion fills to par
// but never past the coil's capacity.
func TestRestockForm_SuggestsNoMoreThanCapacity(t *testing.T) {
	_, f := capacityForm(t, 8)
	if got := f.form[0].suggest; got != 5 {
		t.Fatalf("suggest CHIPS = %d, want 5 (capacity 8 − 3)", got)
	}
}

// TestRestockForm_NoOverfillWarningWhereNothingIsPut: a slot already above
// its par (or capacity) is not warned about when the visit adds nothing to
// it (left alone, or only expired units taken out); the slot that is
// filled past it still is.
func TestRestockForm_NoOverfillWarningWhereNothingIsPut(t *testing.T) {
	for _, capacity := range []int64{0, 12} {
		m, f := capacityForm(t, capacity)
		f.form[0].item.Quantity = 14 // CHIPS above par 10 (and capacity 12) before the visit
		f.form[1].fields[0] = "30"   // COLA 0 + 30 > par 24: an overfill
		press(m, "enter")
		if !f.confirming {
			t.Fatalf("capacity %d: not confirming; status %q", capacity, m.c.status)
		}
		v := stripANSI(m.View())
		if strings.Contains(v, "CHIPS: 14 after the visit") {
			t.Fatalf("capacity %d: warned about a slot the visit left alone:\n%s", capacity, v)
		}
		if !strings.Contains(v, "COLA: 30 after the visit, beyond its capacity (par 24)") {
			t.Fatalf("capacity %d: no warning for the slot filled past par:\n%s", capacity, v)
		}

		m, f = capacityForm(t, capacity)
		f.form[0].item.Quantity = 14
		f.form[0].fields[1] = "1" // only an expired unit out: 13, still above par
		press(m, "enter")
		if v := stripANSI(m.View()); !f.confirming || strings.Contains(v, "beyond its capacity") {
			t.Fatalf("capacity %d: warned about a slot the visit only took from (confirming %v):\n%s", capacity, f.confirming, v)
		}

		m, f = capacityForm(t, capacity)
		f.form[0].fields[3] = "14" // a count above par is still asked about
		press(m, "enter")
		if v := stripANSI(m.View()); !f.confirming || !strings.Contains(v, "CHIPS: 14 after the visit, beyond its capacity") {
			t.Fatalf("capacity %d: no warning for a count past it (confirming %v):\n%s", capacity, f.confirming, v)
		}
	}
}
