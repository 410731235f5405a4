package tui

import (
	"math/rand"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
)

// offlineModel is a model whose central and edge refuse connections, fed
// with data through its own messages.
func offlineModel(t *testing.T) *model {
	t.Helper()
	dir := t.TempDir()
	q, err := OpenQueue(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := NewHTTPClient("http://127.0.0.1:1", "http://127.0.0.1:1", client.Credentials{ClientID: "a", ClientSecret: "b"}, client.Credentials{ClientID: "a", ClientSecret: "b"}, 100*time.Millisecond, nil)
	m := newModel(deps{client: c, queue: q, cacheDir: dir, exportDir: dir, now: func() time.Time { return t0 }, loc: time.UTC})
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 20})
	return m
}

func sampleCandidates() []hqapi.Candidate {
	par := func(v int64) int64 { return v }
	return []hqapi.Candidate{
		{Site: "blr-1", City: "Bangalore", Score: 34, Reasons: []hqapi.Reason{{Code: hqapi.ReasonOutOfStock, Count: 2, Points: 20}, {Code: hqapi.ReasonExpired, Count: 1, Points: 8}, {Code: hqapi.ReasonTemperature, Count: 1, Points: 6}},
			Machines: []hqapi.RouteMachine{{MachineID: "VM-1", City: "Bangalore", Building: "Tower A", Status: "ACTIVE", Slots: []hqapi.Slot{
				{ProductID: "COLA", Name: "Cola 330ml", Quantity: 0, ParLevel: par(24), LowStockLimit: 6, CasePack: 12},
				{ProductID: "CHIPS", Name: "Chips", Quantity: 3, ParLevel: par(10), LowStockLimit: 3},
			}}, {MachineID: "VM-2", Status: "ACTIVE", Slots: []hqapi.Slot{
				{ProductID: "COLA", Name: "Cola 330ml", Quantity: 20, ParLevel: par(24), LowStockLimit: 6, CasePack: 12},
				{ProductID: "WATER", Name: "Water", Quantity: 0, ParLevel: par(12), LowStockLimit: 4, CasePack: 6},
			}}}},
		{Site: "blr-2", City: "Bangalore", Score: 4, Reasons: []hqapi.Reason{{Code: hqapi.ReasonLowStock, Count: 1, Points: 4}},
			Machines: []hqapi.RouteMachine{{MachineID: "VM-9", Slots: []hqapi.Slot{{ProductID: "CHIPS", Name: "Chips", Quantity: 1, ParLevel: 10, LowStockLimit: 3}}}}},
	}
}

func feed(m *model) {
	m.Update(routeMsg{cands: sampleCandidates(), at: t0})
	var mc edgeapi.Machine
	mc.MachineID, mc.Status = "VM-1", "ACTIVE"
	mc.Location.City = "Bangalore"
	m.Update(machinesMsg{machines: []edgeapi.Machine{mc}, alerts: []edgeapi.Alert{{MachineID: "VM-1", ProductID: "COLA", Type: "OUT_OF_STOCK"}}})
	m.inventory.machine = "VM-1"
	m.Update(inventoryMsg{machine: "VM-1", items: sampleItems()})
}

func sampleItems() []edgeapi.InventoryItem {
	return []edgeapi.InventoryItem{
		{ProductID: "CHIPS", Name: "Chips", Quantity: 3, ParLevel: 10, ExpiryDate: "2025-03-01", OpenAlerts: []string{"EXPIRED"}},
		{ProductID: "COLA", Name: "Cola 330ml", Quantity: 0, ParLevel: 24, OpenAlerts: []string{"OUT_OF_STOCK"}},
	}
}

// TestModel_NoPanicOnAnyKey presses random keys (and resizes) in every
// screen: the model never panics and its view fits the terminal.
func TestModel_NoPanicOnAnyKey(t *testing.T) {
	alphabet := []tea.KeyMsg{
		{Type: tea.KeyEnter}, {Type: tea.KeyEsc}, {Type: tea.KeyTab}, {Type: tea.KeyShiftTab}, {Type: tea.KeyUp}, {Type: tea.KeyDown},
		{Type: tea.KeyLeft}, {Type: tea.KeyRight}, {Type: tea.KeyBackspace}, {Type: tea.KeySpace, Runes: []rune{' '}}, {Type: tea.KeyPgDown},
		{Type: tea.KeyHome}, {Type: tea.KeyCtrlS}, {Type: tea.KeyF1}, {Type: tea.KeyDelete},
	}
	alphabet = append(alphabet, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("/ab?")}, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("12-")})
	for _, r := range "?/pxyYnNre0123456789-Rjkaz@ \x00é世" {
		alphabet = append(alphabet, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	for seed := int64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewSource(seed))
		m := offlineModel(t)
		feed(m)
		for i := 0; i < 600; i++ {
			switch rng.Intn(40) {
			case 0:
				w, h := rng.Intn(200), rng.Intn(60)
				m.Update(tea.WindowSizeMsg{Width: w, Height: h})
			case 1:
				feed(m)
			case 2:
				m.Update(restockMsg{restock: Restock{MachineID: "VM-1"}, queued: true})
			case 3:
				m.Update(machinesMsg{err: &client.Error{Status: 500, Code: "INTERNAL", Message: "boom"}})
			case 4:
				m.Update(inventoryMsg{machine: m.inventory.machine, items: nil})
			default:
				k := alphabet[rng.Intn(len(alphabet))]
				if k.String() == "q" || k.String() == "ctrl+c" {
					continue
				}
				m.Update(k)
			}
			v := m.View()
			if m.height > 1 {
				if n := strings.Count(v, "\n") + 1; n > m.height {
					t.Fatalf("seed %d step %d: view has %d lines for a %d-line terminal", seed, i, n, m.height)
				}
			}
		}
	}
}

// TestModel_RunesTogether: keys that arrive in one read (fast typing, tmux
// send-keys) act one by one.
func TestModel_RunesTogether(t *testing.T) {
	m := offlineModel(t)
	feed(m)
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("/low")})
	if !m.filtering || m.filter.Value() != "low" {
		t.Fatalf("filtering = %v, filter = %q; want an active filter \"low\"", m.filtering, m.filter.Value())
	}
}

// press sends keys to m and applies the messages its screens send to it
// (navigation); I/O answers are dropped, the tests feed data themselves.
func press(m *model, ks ...string) {
	for _, k := range ks {
		var msgs []tea.KeyMsg
		switch k {
		case "enter":
			msgs = []tea.KeyMsg{{Type: tea.KeyEnter}}
		case "esc":
			msgs = []tea.KeyMsg{{Type: tea.KeyEsc}}
		case "tab":
			msgs = []tea.KeyMsg{{Type: tea.KeyTab}}
		case "down":
			msgs = []tea.KeyMsg{{Type: tea.KeyDown}}
		default:
			for _, r := range k {
				msgs = append(msgs, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
			}
		}
		for _, msg := range msgs {
			_, cmd := m.Update(msg)
			applyLocal(m, cmd)
		}
	}
}

func applyLocal(m *model, cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	switch msg := cmd().(type) {
	case tea.BatchMsg:
		for _, c := range msg {
			applyLocal(m, c)
		}
	case pickBuiltMsg, openMachineMsg, startRestockMsg, editRefusedMsg, toggleDoneMsg:
		_, next := m.Update(msg)
		applyLocal(m, next)
	}
}

func TestModel_FilterHelpAndResize(t *testing.T) {
	m := offlineModel(t)
	feed(m)
	tests := []struct {
		name     string
		keys     []string
		size     [2]int
		contains []string
		absent   []string
	}{
		{name: "route lists both sites", contains: []string{"blr-1", "blr-2", "2 out of stock, 1 expired, 1 temperature high"}},
		{name: "filter keeps matching rows", keys: []string{"/", "low"}, contains: []string{"blr-2", "/low"}, absent: []string{"blr-1 "}},
		{name: "esc clears the filter", keys: []string{"esc"}, contains: []string{"blr-1", "blr-2"}},
		{name: "? shows the full help", keys: []string{"?"}, contains: []string{"choose site", "refresh", "route ↔ site"}},
		{name: "narrow terminal truncates", keys: []string{"?"}, size: [2]int{30, 10}, contains: []string{"…"}},
		{name: "pick list of the row under the cursor", keys: []string{"p"}, size: [2]int{120, 20}, contains: []string{"COLA", "24", "2×12", "WATER", "12", "TOTAL"}},
		{name: "filter in the pick list", keys: []string{"/", "wat", "enter"}, contains: []string{"WATER"}, absent: []string{"CHIPS "}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.size != [2]int{} {
				m.Update(tea.WindowSizeMsg{Width: tc.size[0], Height: tc.size[1]})
			}
			press(m, tc.keys...)
			v := m.View()
			for _, s := range tc.contains {
				if !strings.Contains(v, s) {
					t.Fatalf("view lacks %q:\n%s", s, v)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(v, s) {
					t.Fatalf("view has %q:\n%s", s, v)
				}
			}
			if m.width > 0 {
				for _, l := range strings.Split(v, "\n") {
					if w := len([]rune(stripANSI(l))); w > m.width {
						t.Fatalf("line wider (%d) than the terminal (%d): %q", w, m.width, l)
					}
				}
			}
		})
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '\x1b':
			in = true
		case in && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'):
			in = false
		case !in:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// TestView_Screens pins the screens' layout (golden files; -update).
func TestView_Screens(t *testing.T) {
	screens := []struct {
		name string
		keys []string
	}{
		{"route", []string{"x"}},
		{"pick", []string{"p"}},
		{"machines", []string{"esc", "tab"}},
		{"inventory", []string{"enter"}},
		{"restock", []string{"enter", "tab", "3", "tab", "tab", "tab", "2025-09-30"}},
	}
	m := offlineModel(t)
	m.Update(tea.WindowSizeMsg{Width: 110, Height: 16})
	feed(m)
	m.Update(routeMsg{err: client.ErrUnreachable}) // central offline, the route as fetched earlier
	for _, s := range screens {
		t.Run(s.name, func(t *testing.T) {
			press(m, s.keys...)
			if s.name == "inventory" {
				m.Update(inventoryMsg{machine: "VM-1", items: sampleItems()})
			}
			golden.RequireEqual(t, []byte(stripANSI(m.View())+"\n"))
		})
	}
}
