package dashboard

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/auth"
)

// Two sites with a machine M1 each: the sales page lists them apart and
// links each to its own machine page; the bare id asks for the site.
func TestDashboard_SameMachineIDAtTwoSites(t *testing.T) {
	f := newFixture(t)
	at := f.now.UTC().Add(-time.Hour)
	apply(t, f.Store, "s3", "UTC", 1,
		machineEv("M1", "Bangalore", at.AddDate(0, 0, -1)),
		saleEv("tx-1", "M1", "P1", "Bangalore", 7, 7000, at),
	)
	b := f.signIn(auth.RoleOps)

	p := b.get("/ui/sales?groupBy=machine")
	if p.Status != http.StatusOK {
		t.Fatalf("sales: %d\n%s", p.Status, p.Body)
	}
	for _, want := range []string{`href="/ui/machines/M1?siteId=s1">s1/M1<`, `href="/ui/machines/M1?siteId=s3">s3/M1<`} {
		if !strings.Contains(p.Body, want) {
			t.Fatalf("sales by machine lacks %s:\n%s", want, p.Body)
		}
	}

	if m := b.get("/ui/machines/M1"); m.Status != http.StatusConflict || !strings.Contains(m.Body, "s1, s3") {
		t.Fatalf("bare M1: %d, want 409 naming s1, s3\n%s", m.Status, m.Body)
	}
	for site, sold := range map[string]string{"s1": "3.50", "s3": "70.00"} {
		m := b.get("/ui/machines/M1?siteId=" + site)
		if m.Status != http.StatusOK || !strings.Contains(m.Body, sold) {
			t.Fatalf("M1 at %s: %d, want its sales %s\n%s", site, m.Status, sold, m.Body)
		}
	}
	if s := b.get("/ui/sites/s3"); s.Status != http.StatusOK || !strings.Contains(s.Body, `href="/ui/machines/M1?siteId=s3"`) {
		t.Fatalf("site s3 page: %d\n%s", s.Status, s.Body)
	}
}
