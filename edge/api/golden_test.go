package api_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/vendsync/vendsync/edge/edgetest"
	"github.com/vendsync/vendsync/internal/auth"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the answers the API gives now")

// clientIDs are generated per run; the golden file holds a placeholder.
var clientIDs = regexp.MustCompile(`"(adm|drv|ops|fin|mch)_[0-9a-f]+"`)

// TestAnswers_Golden pins the JSON of every answer body byte for byte: each
// read endpoint and each write's answer, for a site with a machine, two
// products, sales, telemetry, a fault, an alert, a restock and an audit
// trail. Refresh with go test ./edge/api -run Golden -update.
func TestAnswers_Golden(t *testing.T) {
	s := edgetest.Start(t, edgetest.Options{Clock: edgetest.NewClock(t0)})
	adm := s.AdminToken()
	drv := s.Token(auth.RoleDriver, "")
	var out bytes.Buffer
	call := func(method, path, token string, body any, headers ...string) {
		t.Helper()
		r := s.Do(method, path, token, body, headers...)
		if r.Status >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Body)
		}
		fmt.Fprintf(&out, "%s %s → %d\n%s\n\n", method, path, r.Status, bytes.TrimSpace(r.Body))
	}
	call("POST", "/machines", adm, map[string]any{"machineId": "M1", "location": map[string]any{"city": "Testville", "building": "B1", "lat": 12.5, "lng": 77.25},
		"paymentMethods": []string{"CARD", "CASH"}, "temperatureMax": 7.5})
	call("POST", "/machines", adm, map[string]any{"machineId": "M2", "location": map[string]any{"city": "Testville", "building": ""}, "paymentMethods": []string{"CASH"}})
	call("POST", "/machines/M1/products", adm, map[string]any{"productId": "P1", "name": "Cola", "price": 2.5, "quantity": 6, "lowStockLimit": 5, "expiryDate": "2025-04-01", "casePack": 6})
	call("POST", "/machines/M1/products", adm, map[string]any{"productId": "P2", "name": "Chips", "price": 1, "quantity": 1, "parLevel": 8})
	call("PATCH", "/machines/M1/products/P2", adm, map[string]any{"price": 1.25})
	call("POST", "/events/sales", adm, map[string]any{"transactionId": "T1", "machineId": "M1", "productId": "P1", "quantity": 2, "amount": 5, "paymentMethod": "CARD", "timestamp": "2025-03-10T11:00:00Z"})
	call("POST", "/events/sales", adm, map[string]any{"transactionId": "T1", "machineId": "M1", "productId": "P1", "quantity": 2, "amount": 5, "paymentMethod": "CARD", "timestamp": "2025-03-10T11:00:00Z"})
	call("POST", "/events/batch", adm, map[string]any{"events": []any{
		map[string]any{"transactionId": "T2", "machineId": "M1", "productId": "P2", "quantity": 1, "amount": 1.25, "paymentMethod": "CASH", "timestamp": "2025-03-10T11:30:00Z"},
		map[string]any{"transactionId": "T1", "machineId": "M1", "productId": "P1", "quantity": 2, "amount": 5, "paymentMethod": "CARD", "timestamp": "2025-03-10T11:00:00Z"},
		map[string]any{"transactionId": "T3", "machineId": "M9", "productId": "P1", "quantity": 1, "amount": 2.5, "paymentMethod": "CARD", "timestamp": "2025-03-10T11:00:00Z"},
		"not an object",
	}})
	call("POST", "/events/telemetry", adm, map[string]any{"machineId": "M1", "temperature": 9.5, "powerStatus": "ON", "doorStatus": "OPEN", "timestamp": "2025-03-10T11:45:00Z"})
	call("POST", "/events/faults", adm, map[string]any{"machineId": "M1", "faultType": "COIN_JAM", "description": "coins stuck", "timestamp": "2025-03-10T11:50:00Z"}, "Idempotency-Key", "F1")
	call("PATCH", "/faults/1", drv, map[string]any{"status": "RESOLVED"})
	call("POST", "/machines/M1/restock", drv, map[string]any{"movementId": "R1", "items": []any{
		map[string]any{"productId": "P2", "added": 7, "expiryDate": "2025-05-01"},
		map[string]any{"productId": "P1", "removedExpired": 1, "countedQuantity": 3},
	}})
	call("PATCH", "/machines/M2", adm, map[string]any{"status": "UNDER_MAINTENANCE"})
	call("DELETE", "/machines/M2", adm, nil)
	for _, p := range []string{
		"/machines", "/machines?status=ACTIVE", "/machines/M1", "/machines/M2", "/machines/M1/inventory",
		"/faults", "/faults/1", "/alerts", "/alerts?status=OPEN",
		"/aggregations/sales?groupBy=product&window=day", "/aggregations/sales?groupBy=location&window=hour&from=2025-03-10&to=2025-03-11",
		"/aggregations/products/top?n=5", "/aggregations/products/top?by=quantity",
		"/audit?limit=5", "/sync", "/lots", "/lots?status=EMPTY",
	} {
		call("GET", p, adm, nil)
	}
	got := clientIDs.ReplaceAll(out.Bytes(), []byte(`"CLIENT"`))
	path := filepath.Join("testdata", "answers.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := bytes.Split(got, []byte("\n")), bytes.Split(want, []byte("\n"))
		for i := range max(len(gl), len(wl)) {
			var g, w []byte
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if !bytes.Equal(g, w) {
				t.Fatalf("answers differ from %s at line %d:\n got: %s\nwant: %s", path, i+1, g, w)
			}
		}
	}
}
