package provision

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/edge/store"
)

func TestSite_ValidateNamesTheBadField(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	good := Site{Central: "http://hq:9080", Credentials: "hq.json", Dir: "d", ID: "blr-1", City: "Bangalore",
		Timezone: "Asia/Kolkata", Hubs: []string{"nats-leaf://hq:7422"}, HTTP: "0.0.0.0:8080"}
	if err := good.Validate(); err != nil {
		t.Fatalf("good spec: %v", err)
	}
	tests := []struct {
		name string
		mod  func(*Site)
		want string
	}{
		{"no central", func(s *Site) { s.Central = "" }, "central"},
		{"central not http", func(s *Site) { s.Central = "ftp://hq:9080" }, "central"},
		{"central not an address", func(s *Site) { s.Central = "hq" }, "central"},
		{"no credentials", func(s *Site) { s.Credentials = "" }, "credentials"},
		{"no out", func(s *Site) { s.Dir = "" }, "out"},
		{"no site", func(s *Site) { s.ID = "" }, "site"},
		{"bad site", func(s *Site) { s.ID = "blr techpark" }, "site"},
		{"no city", func(s *Site) { s.City = "" }, "city"},
		{"no timezone", func(s *Site) { s.Timezone = "" }, "timezone"},
		{"bad timezone", func(s *Site) { s.Timezone = "Asia/Bangalore" }, "timezone"},
		{"no hub", func(s *Site) { s.Hubs = nil }, "hub"},
		{"hub not leaf", func(s *Site) { s.Hubs = []string{"http://hq:7422"} }, "hub"},
		{"lat without lng", func(s *Site) { s.Lat = f(1) }, "lat"},
		{"lat out of range", func(s *Site) { s.Lat, s.Lng = f(91), f(0) }, "lat"},
		{"lng out of range", func(s *Site) { s.Lat, s.Lng = f(0), f(-181) }, "lng"},
		{"bad http", func(s *Site) { s.HTTP = "8080" }, "http"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			tc.mod(&s)
			var fe *FieldError
			if err := s.Validate(); !errors.As(err, &fe) || fe.Field != tc.want {
				t.Fatalf("err = %v, want a FieldError naming %s", err, tc.want)
			}
		})
	}
	// A bare host:port is an address.
	s := good
	s.Central, s.Hubs = "127.0.0.1:9080", []string{"127.0.0.1:7422"}
	if err := s.Validate(); err != nil {
		t.Fatalf("central and hub as host:port: %v", err)
	}
	if got, err := LeafURL("127.0.0.1:7422"); err != nil || got != "nats-leaf://127.0.0.1:7422" {
		t.Fatalf("LeafURL(host:port) = %q, %v", got, err)
	}
}

// TestProvisionMachines_RerunKeepsMachinesAndCredentials registers machines
// directly in a stopped site's database: each gets a MACHINE credential
// written to its file; a second run keeps both and creates nothing.
func TestProvisionMachines_RerunKeepsMachinesAndCredentials(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := edge.Init(ctx, dir, store.SiteInit{ID: "s1", City: "Pune", Timezone: "Asia/Kolkata"}); err != nil {
		t.Fatal(err)
	}
	m := Machines{Dir: dir, IDs: []string{"VM_1", "VM_2"}, City: "Pune", Payments: []string{"CASH"}, OutDir: filepath.Join(dir, "machines")}
	first, err := ProvisionMachines(ctx, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(first), 2; got != want {
		t.Fatalf("%d results, want %d", got, want)
	}
	for _, r := range first {
		if !r.Registered || r.Existing || r.Secret != "" || r.File == "" {
			t.Fatalf("first run: %+v, want registered with a new credential in a file", r)
		}
		fi, err := os.Stat(r.File)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("credential file %s: %v %v", r.File, fi, err)
		}
	}
	m.OutDir = ""
	again, err := ProvisionMachines(ctx, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range again {
		if r.Registered || !r.Existing || r.ClientID != first[i].ClientID || r.Secret != "" {
			t.Fatalf("second run: %+v, want the machine and its credential kept", r)
		}
	}
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ms, err := st.Machines(ctx, "")
	if err != nil || len(ms) != 2 {
		t.Fatalf("machines %v, %v; want 2", ms, err)
	}
}
