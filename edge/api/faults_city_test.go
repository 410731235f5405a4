package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/edgeapi"
)

// GET /faults?city= lists only the faults of machines in that city (seed
// 000: GET /faults?status=OPEN&city=Bangalore).
func TestFaults_FilterByCity(t *testing.T) {
	s := newSite(t)
	s.Machine("BLR1", map[string]any{"location": map[string]any{"city": "Bangalore", "building": "B1"}})
	s.Machine("BOM1", map[string]any{"location": map[string]any{"city": "Mumbai", "building": "B1"}})
	tok := s.AdminToken()
	for _, m := range []string{"BLR1", "BOM1"} {
		f := map[string]any{"machineId": m, "faultType": "JAM", "description": m, "timestamp": t0.Format(time.RFC3339)}
		if r := s.Do("POST", "/events/faults", tok, f); r.Status != http.StatusCreated {
			t.Fatalf("POST /events/faults %s: %d %s", m, r.Status, r.Body)
		}
	}
	tests := []struct {
		name, query, want string
	}{
		{name: "Mumbai", query: "?status=OPEN&city=Mumbai", want: "[BOM1]"},
		{name: "Bangalore", query: "?city=Bangalore", want: "[BLR1]"},
		{name: "nowhere", query: "?city=Paris", want: "[]"},
		{name: "city and machine", query: "?city=Mumbai&machineId=BLR1", want: "[]"},
		{name: "every city", query: "", want: "[BOM1 BLR1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Do("GET", "/faults"+tt.query, tok, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("status = %d: %s", r.Status, r.Body)
			}
			var ans edgeapi.FaultList
			r.Decode(t, &ans)
			var got []string
			for _, f := range ans.Faults {
				got = append(got, f.MachineID)
			}
			if got == nil {
				got = []string{}
			}
			if fmt.Sprint(got) != tt.want {
				t.Fatalf("faults = %v, want %s", got, tt.want)
			}
		})
	}
}
