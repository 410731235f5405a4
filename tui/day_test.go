package tui

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/vendsync/vendsync/internal/client"
	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/hqapi"
)

func formAt(m *model) *restockScreen {
	press(m, "tab") // to the site
	m.Update(machinesMsg{site: "blr-1", machines: m.c.machines, alerts: m.c.alerts})
	m.inventory = &inventoryScreen{c: m.c, machine: "VM-1", items: sampleItems(), arrived: t0}
	m.state = stateInventory
	press(m, "enter")
	return m.restock
}

// TestRestockForm_NotPrefilledTypingReplaces: ADDED starts empty with the
// suggestion beside it; + / A take it; typing into a cell just entered
// replaces it ("7" then 5 is 5, not 75).
func TestRestockForm_NotPrefilledTypingReplaces(t *testing.T) {
	m := offlineModel(t)
	feed(m)
	f := formAt(m)
	if f == nil {
		t.Fatalf("no form; state %v", m.state)
	}
	for _, r := range f.form {
		if r.fields[0] != "" {
			t.Fatalf("ADDED prefilled: %+v", r)
		}
	}
	if got := f.form[0].suggest; got != 7 {
		t.Fatalf("suggest CHIPS = %d, want 7", got)
	}
	press(m, "+")
	if got := f.form[0].fields[0]; got != "7" {
		t.Fatalf("+ gave %q, want 7", got)
	}
	press(m, "5")
	if got := f.form[0].fields[0]; got != "5" {
		t.Fatalf("typing into a cell just entered gave %q, want 5", got)
	}
	press(m, "2")
	if got := f.form[0].fields[0]; got != "52" {
		t.Fatalf("then 2 gave %q, want 52", got)
	}
	press(m, "A")
	if got := f.form[1].fields[0]; got != "24" {
		t.Fatalf("A gave COLA %q, want 24", got)
	}
	// A count-only visit: c opens the form on COUNTED.
	press(m, "esc")
	m.state = stateInventory
	press(m, "c")
	if m.restock == nil || m.restock.col != 3 {
		t.Fatalf("c did not open the form on COUNTED: %+v", m.restock)
	}
	press(m, "9", "enter")
	if !strings.Contains(stripANSI(m.View()), "CHIPS count 9") {
		t.Fatalf("summary missing:\n%s", stripANSI(m.View()))
	}
}

// TestRestockForm_WarnsAndSummarizes: overfill past par, a past expiry and
// an absurd quantity are warned about with the y/n summary; n goes back.
func TestRestockForm_WarnsAndSummarizes(t *testing.T) {
	m := offlineModel(t)
	m.Update(tea.WindowSizeMsg{Width: 140, Height: 30})
	feed(m)
	f := formAt(m)
	f.form[0].fields[0] = "20"
	f.form[0].fields[4] = "2020-01-01"
	f.form[1].fields[0] = "99999999"
	press(m, "enter")
	if !f.confirming {
		t.Fatalf("not confirming; status %q", m.c.status)
	}
	v := stripANSI(m.View())
	for _, want := range []string{"send to", "CHIPS +20 exp 2020-01-01, COLA +99999999", "beyond its capacity (par 10)", "2020-01-01 is already past",
		"added 99999999 — is that right?", "y send · n back"} {
		if !strings.Contains(v, want) {
			t.Fatalf("confirmation lacks %q:\n%s", want, v)
		}
	}
	press(m, "n")
	if f.confirming || m.state != stateRestock {
		t.Fatalf("n did not go back to the form")
	}
}

// TestQueueScreen_RefusedWork: a refused restock's reason is shown in full;
// D asks before discarding (n keeps it); e opens it in the form to correct
// and resend in its place.
func TestQueueScreen_RefusedWork(t *testing.T) {
	m := offlineModel(t)
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	feed(m)
	m.c.site = "blr-1"
	q := m.c.d.queue
	long := "VALIDATION_FAILED: removedExpired 4 of CHIPS exceeds the 3 units the machine holds after the sale recorded at 11:58 (field items[0].removedExpired) [HTTP 400]"
	for _, id := range []string{"rs-1", "rs-2"} {
		r := Restock{MachineID: "VM-1", Restock: edgeapi.Restock{MovementID: id, SiteID: "blr-1", Items: []edgeapi.RestockItem{{ProductID: "CHIPS", Added: 1, RemovedExpired: 4}}}}
		if err := q.Add(r, t0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := q.Deliver("blr-1", func(Restock) error { return errors.New(long) }); err != nil {
		t.Fatal(err)
	}
	press(m, "Q")
	v := stripANSI(m.View())
	if !strings.Contains(strings.Join(strings.Fields(v), " "), strings.Join(strings.Fields(long), " ")) {
		t.Fatalf("the reason is not shown in full:\n%s", v)
	}
	press(m, "D")
	if !strings.Contains(m.c.status, "discard rs-1") || len(q.Items()) != 2 {
		t.Fatalf("D did not ask: %q, %d items", m.c.status, len(q.Items()))
	}
	press(m, "n")
	if len(q.Items()) != 2 {
		t.Fatalf("n discarded")
	}
	press(m, "D", "y")
	if got := q.Items(); len(got) != 1 || got[0].Restock.MovementID != "rs-2" {
		t.Fatalf("after D y: %+v", got)
	}
	press(m, "e")
	if m.state != stateRestock || m.restock.replaces != "rs-2" {
		t.Fatalf("e: state %v restock %+v", m.state, m.restock)
	}
	for _, r := range m.restock.form {
		if r.item.ProductID == "CHIPS" && (r.fields[0] != "1" || r.fields[1] != "4") {
			t.Fatalf("the refused lines are not in the form: %q", r.fields)
		}
	}
}

// TestOrderStops: nearest next stop with distance discounted by urgency;
// sites without coordinates follow by score; done stops stay, last.
func TestOrderStops(t *testing.T) {
	p := func(v float64) *float64 { return &v }
	sites := []RouteSite{
		{SiteID: "far-urgent", Lat: p(13.05), Lng: p(77.59)}, // ~9 km north
		{SiteID: "near-calm", Lat: p(12.98), Lng: p(77.59)},  // ~1 km
		{SiteID: "mid", Lat: p(13.00), Lng: p(77.59)},        // ~3 km
		{SiteID: "nowhere"},
		{SiteID: "done-one", Lat: p(12.97), Lng: p(77.60)},
	}
	cands := []hqapi.Candidate{{Site: "far-urgent", Score: 200}, {Site: "near-calm", Score: 0}, {Site: "mid", Score: 5}, {Site: "nowhere", Score: 9}}
	depot := &Point{12.97, 77.59}
	got := OrderStops(sites, cands, depot, map[string]time.Time{"done-one": t0})
	var order []string
	for _, s := range got {
		order = append(order, s.Site.SiteID)
	}
	// From the depot the urgent site 9 km away wins over the calm one 1 km
	// away; from there "mid" (5.5 km, score 5) before "near-calm" (7.8 km).
	if want := "far-urgent mid near-calm nowhere done-one"; strings.Join(order, " ") != want {
		t.Fatalf("order = %v, want %s", order, want)
	}
	if !got[4].Done || got[0].Km < 8 || got[0].Km > 10 {
		t.Fatalf("stops = %+v", got)
	}
	if want := driveTime(got[0].Km); got[0].Drive != want || want < 15*time.Minute || want > 20*time.Minute {
		t.Fatalf("drive = %v, want %v (~9 km × 1.3 at 40 km/h)", got[0].Drive, want)
	}
}

// TestPickList_ExpandAndKits: at 80 columns enter shows a product's
// machines on lines of their own; P writes kit.csv and kit.txt per machine
// in slot order.
func TestPickList_ExpandAndKits(t *testing.T) {
	m := offlineModel(t)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	feed(m)
	press(m, "p")
	if m.state != statePick {
		t.Fatalf("state %v", m.state)
	}
	if strings.Contains(stripANSI(m.View()), "└ VM-2×12") {
		t.Fatal("expanded before enter")
	}
	press(m, "down", "enter") // COLA (CHIPS, COLA, WATER)
	if v := stripANSI(m.View()); !strings.Contains(v, "└ VM-1×24") || !strings.Contains(v, "└ VM-2×4") {
		t.Fatalf("enter did not expand COLA:\n%s", v)
	}
	if !strings.Contains(stripANSI(m.View()), "data of Mar 10 12:00") {
		t.Fatalf("the list does not say the time of its data:\n%s", stripANSI(m.View()))
	}
	_, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'P'}})
	if msg, ok := cmd().(exportedMsg); !ok || msg.err != nil {
		t.Fatalf("P: %+v", msg)
	}
	txt, err := os.ReadFile(filepath.Join(m.c.d.exportDir, "kit.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"KIT VM-1 · site blr-1", "COLA", "Cola 330ml", "24", "CHIPS", "KIT VM-2", "WATER", "total 16 units"}
	at := 0
	for _, w := range want {
		i := strings.Index(string(txt[at:]), w)
		if i < 0 {
			t.Fatalf("kit.txt lacks %q after offset %d:\n%s", w, at, txt)
		}
		at += i
	}
	csv, _ := os.ReadFile(filepath.Join(m.c.d.exportDir, "kit.csv"))
	if !strings.HasPrefix(string(csv), "site,machine_id,slot,product_id,name,units\nblr-1,VM-1,1,COLA,Cola 330ml,24\nblr-1,VM-1,2,CHIPS,Chips,7\n") {
		t.Fatalf("kit.csv:\n%s", csv)
	}
}

// TestRouteFile: written 0600 and read back; a file others can read, or
// one lacking a site's credentials, is refused naming the problem.
func TestRouteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "route.json")
	f := RouteFile{Driver: "Asha", Central: "http://127.0.0.1:9080", HQ: client.Credentials{ClientID: "a", ClientSecret: "b"},
		Sites: []RouteSite{{SiteID: "s1", EdgeURL: "http://127.0.0.1:8080", Creds: client.Credentials{ClientID: "hqd_1", ClientSecret: "x"}}}}
	if err := WriteRouteFile(path, f); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	got, err := ReadRouteFile(path)
	if err != nil || got.Site("s1") == nil || got.Site("s1").Creds.ClientID != "hqd_1" {
		t.Fatalf("read back: %+v %v", got, err)
	}
	os.Chmod(path, 0o644)
	if _, err := ReadRouteFile(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a world-readable route file: %v", err)
	}
	f.Sites[0].Creds.ClientSecret = ""
	if err := WriteRouteFile(filepath.Join(dir, "x.json"), f); err == nil || !strings.Contains(err.Error(), "sites[0].credentials (s1)") {
		t.Fatalf("missing secret: %v", err)
	}
}

var _ = http.StatusOK

func TestRouteFile_KeepsTheVan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "route.json")
	f := RouteFile{Driver: "Asha", Central: "http://127.0.0.1:9080", HQ: client.Credentials{ClientID: "a", ClientSecret: "b"}, VanID: "VAN1",
		Sites: []RouteSite{{SiteID: "s1", EdgeURL: "http://127.0.0.1:8080", Creds: client.Credentials{ClientID: "hqd_1", ClientSecret: "x"}}}}
	if err := WriteRouteFile(path, f); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRouteFile(path)
	if err != nil || got.VanID != "VAN1" {
		t.Fatalf("read back: %+v %v", got, err)
	}
}
