package dashboard

import (
	"testing"
	"time"

	"github.com/vendsync/vendsync/central/readmodel"
)

// TestSiteOf_Liveness: a site's state comes from its heartbeats when it
// sends them (connected idle is in contact, a link down is offline at
// once), and from its last batch when it does not.
func TestSiteOf_Liveness(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	d := &Dashboard{cfg: Config{Now: func() time.Time { return now }, StaleAfter: 15 * time.Minute}}
	long, short := now.Add(-2*time.Hour), now.Add(-20*time.Second)
	tests := []struct {
		name      string
		f         readmodel.Freshness
		state     string
		connected *bool
	}{
		{"connected and idle", readmodel.Freshness{Site: "s", Known: true, LastContact: long, Connected: true, Since: long}, stateOnline, ptr(true)},
		{"link down 20 s", readmodel.Freshness{Site: "s", Known: true, LastContact: long, Since: short}, stateOffline, ptr(false)},
		{"no heartbeats, recent batch", readmodel.Freshness{Site: "s", Known: true, LastContact: short}, stateOnline, nil},
		{"no heartbeats, old batch", readmodel.Freshness{Site: "s", Known: true, LastContact: long}, stateStale, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := d.siteOf(tt.f, nil)
			if got, want := v.State, tt.state; got != want {
				t.Fatalf("state = %q (%s), want %q", got, v.StateText, want)
			}
			if (v.Connected == nil) != (tt.connected == nil) || v.Connected != nil && *v.Connected != *tt.connected {
				t.Fatalf("connected = %v, want %v", v.Connected, tt.connected)
			}
			if tt.connected != nil && !v.Since.Equal(tt.f.Since) {
				t.Fatalf("since = %v, want %v", v.Since, tt.f.Since)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
