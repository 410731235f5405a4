package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vendsync/vendsync/edge/api"
	"github.com/vendsync/vendsync/edge/edgetest"
)

// t0 is the site clock in these tests: a Monday noon, UTC.
var t0 = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

// del marks a field to remove in with.
type del struct{}

// with copies body and sets (or, for del{}, removes) the given key, value pairs.
func with(body map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(body))
	for k, v := range body {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if _, ok := kv[i+1].(del); ok {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func rawJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// newSite is a site with machine M1 (product P1 at 2.50, 100 in stock) and a
// decommissioned machine MDEC that also had P1.
func newSite(t *testing.T) *edgetest.Site {
	t.Helper()
	s := edgetest.Start(t, edgetest.Options{Clock: edgetest.NewClock(t0)})
	s.Machine("M1")
	s.Product("M1", "P1", 250, 100)
	s.Machine("MDEC")
	s.Product("MDEC", "P1", 250, 100)
	if r := s.Do("DELETE", "/machines/MDEC", s.AdminToken(), nil); r.Status != http.StatusOK {
		t.Fatalf("DELETE /machines/MDEC: %d %s", r.Status, r.Body)
	}
	return s
}

func TestAPI_RejectsBadRequests(t *testing.T) {
	s := newSite(t)
	tok := s.AdminToken()
	// A fault to patch.
	fault := map[string]any{"machineId": "M1", "faultType": "PAYMENT_FAILURE", "description": "card reader", "timestamp": t0.Format(time.RFC3339)}
	if r := s.Do("POST", "/events/faults", tok, fault); r.Status != http.StatusCreated {
		t.Fatalf("POST /events/faults: %d %s", r.Status, r.Body)
	}
	sale := s.Sale("tx-bad", "M1", "P1", 2, 500)
	tel := map[string]any{"machineId": "M1", "temperature": 5.0, "powerStatus": "ON", "doorStatus": "CLOSED", "timestamp": t0.Format(time.RFC3339)}
	machine := map[string]any{"machineId": "M2", "location": map[string]any{"city": "Testville"}}
	product := map[string]any{"productId": "P2", "name": "Water", "price": 1, "quantity": 10}
	future := t0.Add(time.Hour).Format(time.RFC3339)
	big := `{"transactionId":"` + strings.Repeat("x", api.MaxBody) + `"}`

	tests := []struct {
		name         string
		method, path string
		route        string // the route label in metrics ("" = method + " " + path)
		body         any
		headers      []string
		status       int
		code, field  string
	}{
		// POST /events/sales
		{name: "sale malformed JSON", method: "POST", path: "/events/sales", body: `{"transactionId": "tx-1",`, status: 400, code: "INVALID_JSON"},
		{name: "sale broken JSON", method: "POST", path: "/events/sales", body: `{"transactionId" "tx-1"}`, status: 400, code: "INVALID_JSON"},
		{name: "sale empty body", method: "POST", path: "/events/sales", body: ``, status: 400, code: "INVALID_JSON"},
		{name: "sale duplicate key", method: "POST", path: "/events/sales", body: `{"transactionId":"a","transactionId":"b"}`, status: 400, code: "DUPLICATE_FIELD", field: "transactionId"},
		{name: "sale key in other case", method: "POST", path: "/events/sales", body: `{"TransactionId":"a"}`, status: 400, code: "UNKNOWN_FIELD", field: "TransactionId"},
		{name: "sale control character in id", method: "POST", path: "/events/sales", body: `{"transactionId":"a\u0001"}`, status: 400, code: "VALIDATION_FAILED", field: "transactionId"},
		{name: "sale quantity exponent", method: "POST", path: "/events/sales", body: with(sale, "quantity", json.Number("1e0")), status: 400, code: "INVALID_FIELD", field: "quantity"},
		{name: "sale array body", method: "POST", path: "/events/sales", body: `[]`, status: 400, code: "INVALID_JSON"},
		{name: "sale trailing data", method: "POST", path: "/events/sales", body: rawJSON(t, sale) + `{}`, status: 400, code: "INVALID_JSON"},
		{name: "sale unknown field", method: "POST", path: "/events/sales", body: with(sale, "voucher", 1), status: 400, code: "UNKNOWN_FIELD", field: "voucher"},
		{name: "sale quantity string", method: "POST", path: "/events/sales", body: with(sale, "quantity", "2"), status: 400, code: "INVALID_FIELD", field: "quantity"},
		{name: "sale quantity fraction", method: "POST", path: "/events/sales", body: with(sale, "quantity", 1.5), status: 400, code: "INVALID_FIELD", field: "quantity"},
		{name: "sale amount string", method: "POST", path: "/events/sales", body: with(sale, "amount", "5.00"), status: 400, code: "INVALID_FIELD", field: "amount"},
		{name: "sale amount three decimals", method: "POST", path: "/events/sales", body: with(sale, "amount", json.Number("5.001")), status: 400, code: "INVALID_FIELD", field: "amount"},
		{name: "sale machineId number", method: "POST", path: "/events/sales", body: with(sale, "machineId", 7), status: 400, code: "INVALID_FIELD", field: "machineId"},
		{name: "sale missing transactionId", method: "POST", path: "/events/sales", body: with(sale, "transactionId", del{}), status: 400, code: "VALIDATION_FAILED", field: "transactionId"},
		{name: "sale transactionId with space", method: "POST", path: "/events/sales", body: with(sale, "transactionId", "tx 1"), status: 400, code: "VALIDATION_FAILED", field: "transactionId"},
		{name: "sale transactionId too long", method: "POST", path: "/events/sales", body: with(sale, "transactionId", strings.Repeat("t", 65)), status: 400, code: "VALIDATION_FAILED", field: "transactionId"},
		{name: "sale missing machineId", method: "POST", path: "/events/sales", body: with(sale, "machineId", del{}), status: 400, code: "VALIDATION_FAILED", field: "machineId"},
		{name: "sale missing productId", method: "POST", path: "/events/sales", body: with(sale, "productId", del{}), status: 400, code: "VALIDATION_FAILED", field: "productId"},
		{name: "sale missing quantity", method: "POST", path: "/events/sales", body: with(sale, "quantity", del{}), status: 400, code: "VALIDATION_FAILED", field: "quantity"},
		{name: "sale zero quantity", method: "POST", path: "/events/sales", body: with(sale, "quantity", 0, "amount", 0), status: 400, code: "VALIDATION_FAILED", field: "quantity"},
		{name: "sale negative quantity", method: "POST", path: "/events/sales", body: with(sale, "quantity", -2, "amount", 0), status: 400, code: "VALIDATION_FAILED", field: "quantity"},
		{name: "sale huge quantity", method: "POST", path: "/events/sales", body: with(sale, "quantity", 1001), status: 400, code: "VALIDATION_FAILED", field: "quantity"},
		{name: "sale missing amount", method: "POST", path: "/events/sales", body: with(sale, "amount", del{}), status: 400, code: "VALIDATION_FAILED", field: "amount"},
		{name: "sale null amount", method: "POST", path: "/events/sales", body: with(sale, "amount", nil), status: 400, code: "VALIDATION_FAILED", field: "amount"},
		{name: "sale negative amount", method: "POST", path: "/events/sales", body: with(sale, "amount", -5), status: 400, code: "VALIDATION_FAILED", field: "amount"},
		// price 2.50 × 2 = 5.00; tolerance 10% + 1 cent = 0.51.
		{name: "sale amount above tolerance", method: "POST", path: "/events/sales", body: with(sale, "amount", json.Number("5.52")), status: 422, code: "AMOUNT_MISMATCH", field: "amount"},
		{name: "sale amount below tolerance", method: "POST", path: "/events/sales", body: with(sale, "amount", json.Number("4.48")), status: 422, code: "AMOUNT_MISMATCH", field: "amount"},
		{name: "sale amount zero", method: "POST", path: "/events/sales", body: with(sale, "amount", 0), status: 422, code: "AMOUNT_MISMATCH", field: "amount"},
		{name: "sale missing paymentMethod", method: "POST", path: "/events/sales", body: with(sale, "paymentMethod", del{}), status: 400, code: "VALIDATION_FAILED", field: "paymentMethod"},
		{name: "sale lower-case paymentMethod", method: "POST", path: "/events/sales", body: with(sale, "paymentMethod", "card"), status: 400, code: "VALIDATION_FAILED", field: "paymentMethod"},
		{name: "sale missing timestamp", method: "POST", path: "/events/sales", body: with(sale, "timestamp", del{}), status: 400, code: "VALIDATION_FAILED", field: "timestamp"},
		{name: "sale timestamp not RFC 3339", method: "POST", path: "/events/sales", body: with(sale, "timestamp", "10/03/2025 12:00"), status: 400, code: "VALIDATION_FAILED", field: "timestamp"},
		{name: "sale timestamp without zone", method: "POST", path: "/events/sales", body: with(sale, "timestamp", "2025-03-10T12:00:00"), status: 400, code: "VALIDATION_FAILED", field: "timestamp"},
		{name: "sale timestamp far in the future", method: "POST", path: "/events/sales", body: with(sale, "timestamp", future), status: 400, code: "VALIDATION_FAILED", field: "timestamp"},
		{name: "sale timestamp before 2000", method: "POST", path: "/events/sales", body: with(sale, "timestamp", "1999-12-31T23:59:59Z"), status: 400, code: "VALIDATION_FAILED", field: "timestamp"},
		{name: "sale unknown machine", method: "POST", path: "/events/sales", body: with(sale, "machineId", "NOPE"), status: 422, code: "UNKNOWN_MACHINE", field: "machineId"},
		{name: "sale unknown product", method: "POST", path: "/events/sales", body: with(sale, "productId", "NOPE"), status: 422, code: "UNKNOWN_PRODUCT", field: "productId"},
		{name: "sale decommissioned machine", method: "POST", path: "/events/sales", body: with(sale, "machineId", "MDEC"), status: 409, code: "MACHINE_DECOMMISSIONED", field: "machineId"},
		{name: "sale oversized body", method: "POST", path: "/events/sales", body: big, status: 413, code: "BODY_TOO_LARGE"},
		{name: "sale idempotency key differs", method: "POST", path: "/events/sales", body: sale, headers: []string{"Idempotency-Key", "other"}, status: 400, code: "VALIDATION_FAILED", field: "Idempotency-Key"},

		// POST /events/batch
		{name: "batch no events", method: "POST", path: "/events/batch", body: `{"events": []}`, status: 400, code: "VALIDATION_FAILED", field: "events"},
		{name: "batch events missing", method: "POST", path: "/events/batch", body: `{}`, status: 400, code: "VALIDATION_FAILED", field: "events"},
		{name: "batch events not an array", method: "POST", path: "/events/batch", body: `{"events": {}}`, status: 400, code: "INVALID_FIELD", field: "events"},
		{name: "batch unknown field", method: "POST", path: "/events/batch", body: `{"events": [], "site": "x"}`, status: 400, code: "UNKNOWN_FIELD", field: "site"},
		{name: "batch malformed", method: "POST", path: "/events/batch", body: `{"events": [`, status: 400, code: "INVALID_JSON"},
		{name: "batch too many events", method: "POST", path: "/events/batch", body: `{"events": [` + strings.TrimSuffix(strings.Repeat(`{},`, api.MaxBatch+1), ",") + `]}`, status: 400, code: "VALIDATION_FAILED", field: "events"},
		{name: "batch oversized body", method: "POST", path: "/events/batch", body: `{"events": ["` + strings.Repeat("x", api.MaxBatchBody) + `"]}`, status: 413, code: "BODY_TOO_LARGE"},

		// POST /events/telemetry
		{name: "telemetry unknown field", method: "POST", path: "/events/telemetry", body: with(tel, "humidity", 40), status: 400, code: "UNKNOWN_FIELD", field: "humidity"},
		{name: "telemetry temperature string", method: "POST", path: "/events/telemetry", body: with(tel, "temperature", "hot"), status: 400, code: "INVALID_FIELD", field: "temperature"},
		{name: "telemetry missing machineId", method: "POST", path: "/events/telemetry", body: with(tel, "machineId", del{}), status: 400, code: "VALIDATION_FAILED", field: "machineId"},
		{name: "telemetry no reading", method: "POST", path: "/events/telemetry", body: with(tel, "temperature", del{}, "powerStatus", del{}, "doorStatus", del{}), status: 400, code: "VALIDATION_FAILED"},
		{name: "telemetry temperature out of range", method: "POST", path: "/events/telemetry", body: with(tel, "temperature", 150), status: 400, code: "VALIDATION_FAILED", field: "temperature"},
		{name: "telemetry bad powerStatus", method: "POST", path: "/events/telemetry", body: with(tel, "powerStatus", "MAYBE"), status: 400, code: "VALIDATION_FAILED", field: "powerStatus"},
		{name: "telemetry bad doorStatus", method: "POST", path: "/events/telemetry", body: with(tel, "doorStatus", "AJAR"), status: 400, code: "VALIDATION_FAILED", field: "doorStatus"},
		{name: "telemetry future timestamp", method: "POST", path: "/events/telemetry", body: with(tel, "timestamp", future), status: 400, code: "VALIDATION_FAILED", field: "timestamp"},
		{name: "telemetry missing timestamp", method: "POST", path: "/events/telemetry", body: with(tel, "timestamp", del{}), status: 400, code: "VALIDATION_FAILED", field: "timestamp"},
		{name: "telemetry unknown machine", method: "POST", path: "/events/telemetry", body: with(tel, "machineId", "NOPE"), status: 422, code: "UNKNOWN_MACHINE", field: "machineId"},
		{name: "telemetry decommissioned machine", method: "POST", path: "/events/telemetry", body: with(tel, "machineId", "MDEC"), status: 409, code: "MACHINE_DECOMMISSIONED", field: "machineId"},
		{name: "telemetry oversized body", method: "POST", path: "/events/telemetry", body: big, status: 413, code: "BODY_TOO_LARGE"},

		// POST /events/faults
		{name: "fault unknown field", method: "POST", path: "/events/faults", body: with(fault, "severity", "HIGH"), status: 400, code: "UNKNOWN_FIELD", field: "severity"},
		{name: "fault faultType number", method: "POST", path: "/events/faults", body: with(fault, "faultType", 3), status: 400, code: "INVALID_FIELD", field: "faultType"},
		{name: "fault missing faultType", method: "POST", path: "/events/faults", body: with(fault, "faultType", del{}), status: 400, code: "VALIDATION_FAILED", field: "faultType"},
		{name: "fault missing machineId", method: "POST", path: "/events/faults", body: with(fault, "machineId", del{}), status: 400, code: "VALIDATION_FAILED", field: "machineId"},
		{name: "fault description too long", method: "POST", path: "/events/faults", body: with(fault, "description", strings.Repeat("d", 2001)), status: 400, code: "VALIDATION_FAILED", field: "description"},
		{name: "fault future timestamp", method: "POST", path: "/events/faults", body: with(fault, "timestamp", future), status: 400, code: "VALIDATION_FAILED", field: "timestamp"},
		{name: "fault unknown machine", method: "POST", path: "/events/faults", body: with(fault, "machineId", "NOPE"), status: 422, code: "UNKNOWN_MACHINE", field: "machineId"},
		{name: "fault decommissioned machine", method: "POST", path: "/events/faults", body: with(fault, "machineId", "MDEC"), status: 409, code: "MACHINE_DECOMMISSIONED", field: "machineId"},
		{name: "fault idempotency key too long", method: "POST", path: "/events/faults", body: fault, headers: []string{"Idempotency-Key", strings.Repeat("k", 129)}, status: 400, code: "VALIDATION_FAILED", field: "Idempotency-Key"},
		{name: "fault oversized body", method: "POST", path: "/events/faults", body: big, status: 413, code: "BODY_TOO_LARGE"},

		// GET /faults, /faults/{id}, PATCH /faults/{id}
		{name: "faults limit zero", method: "GET", path: "/faults?limit=0", route: "GET /faults", status: 400, code: "VALIDATION_FAILED", field: "limit"},
		{name: "faults limit text", method: "GET", path: "/faults?limit=ten", route: "GET /faults", status: 400, code: "VALIDATION_FAILED", field: "limit"},
		{name: "faults limit too big", method: "GET", path: "/faults?limit=1001", route: "GET /faults", status: 400, code: "VALIDATION_FAILED", field: "limit"},
		{name: "faults bad status", method: "GET", path: "/faults?status=BROKEN", route: "GET /faults", status: 400, code: "VALIDATION_FAILED", field: "status"},
		{name: "fault id not a number", method: "GET", path: "/faults/abc", route: "GET /faults/{id}", status: 400, code: "VALIDATION_FAILED", field: "faultId"},
		{name: "fault id unknown", method: "GET", path: "/faults/999", route: "GET /faults/{id}", status: 404, code: "NOT_FOUND"},
		{name: "patch fault missing status", method: "PATCH", path: "/faults/1", route: "PATCH /faults/{id}", body: `{}`, status: 400, code: "VALIDATION_FAILED", field: "status"},
		{name: "patch fault bad status", method: "PATCH", path: "/faults/1", route: "PATCH /faults/{id}", body: `{"status": "FIXED"}`, status: 400, code: "VALIDATION_FAILED", field: "status"},
		{name: "patch fault status number", method: "PATCH", path: "/faults/1", route: "PATCH /faults/{id}", body: `{"status": 2}`, status: 400, code: "INVALID_FIELD", field: "status"},
		{name: "patch fault unknown field", method: "PATCH", path: "/faults/1", route: "PATCH /faults/{id}", body: `{"status": "RESOLVED", "note": "x"}`, status: 400, code: "UNKNOWN_FIELD", field: "note"},
		{name: "patch fault unknown id", method: "PATCH", path: "/faults/999", route: "PATCH /faults/{id}", body: `{"status": "RESOLVED"}`, status: 404, code: "NOT_FOUND", field: "faultId"},

		// GET /alerts
		{name: "alerts bad type", method: "GET", path: "/alerts?type=FIRE", route: "GET /alerts", status: 400, code: "VALIDATION_FAILED", field: "type"},
		{name: "alerts bad status", method: "GET", path: "/alerts?status=MAYBE", route: "GET /alerts", status: 400, code: "VALIDATION_FAILED", field: "status"},
		{name: "alerts bad limit", method: "GET", path: "/alerts?limit=-1", route: "GET /alerts", status: 400, code: "VALIDATION_FAILED", field: "limit"},

		// GET /aggregations/sales
		{name: "agg bad window", method: "GET", path: "/aggregations/sales?window=year", route: "GET /aggregations/sales", status: 400, code: "VALIDATION_FAILED", field: "window"},
		{name: "agg bad groupBy", method: "GET", path: "/aggregations/sales?groupBy=city", route: "GET /aggregations/sales", status: 400, code: "VALIDATION_FAILED", field: "groupBy"},
		{name: "agg bad from", method: "GET", path: "/aggregations/sales?from=yesterday", route: "GET /aggregations/sales", status: 400, code: "VALIDATION_FAILED", field: "from"},
		{name: "agg bad to", method: "GET", path: "/aggregations/sales?to=2025-13-01", route: "GET /aggregations/sales", status: 400, code: "VALIDATION_FAILED", field: "to"},
		{name: "agg from after to", method: "GET", path: "/aggregations/sales?from=2025-03-10&to=2025-03-01", route: "GET /aggregations/sales", status: 400, code: "VALIDATION_FAILED", field: "from"},
		{name: "agg from equals to", method: "GET", path: "/aggregations/sales?from=2025-03-10&to=2025-03-10", route: "GET /aggregations/sales", status: 400, code: "VALIDATION_FAILED", field: "from"},
		{name: "agg range over ten years", method: "GET", path: "/aggregations/sales?from=2000-01-01&to=2025-01-01", route: "GET /aggregations/sales", status: 400, code: "VALIDATION_FAILED", field: "from"},
		{name: "agg hourly over 93 days", method: "GET", path: "/aggregations/sales?window=hour&from=2025-01-01&to=2025-06-01", route: "GET /aggregations/sales", status: 400, code: "VALIDATION_FAILED", field: "window"},

		// GET /aggregations/products/top
		{name: "top n zero", method: "GET", path: "/aggregations/products/top?n=0", route: "GET /aggregations/products/top", status: 400, code: "VALIDATION_FAILED", field: "n"},
		{name: "top n text", method: "GET", path: "/aggregations/products/top?n=many", route: "GET /aggregations/products/top", status: 400, code: "VALIDATION_FAILED", field: "n"},
		{name: "top bad by", method: "GET", path: "/aggregations/products/top?by=margin", route: "GET /aggregations/products/top", status: 400, code: "VALIDATION_FAILED", field: "by"},
		{name: "top bad from", method: "GET", path: "/aggregations/products/top?from=soon", route: "GET /aggregations/products/top", status: 400, code: "VALIDATION_FAILED", field: "from"},

		// GET /audit
		{name: "audit bad limit", method: "GET", path: "/audit?limit=x", route: "GET /audit", status: 400, code: "VALIDATION_FAILED", field: "limit"},

		// Machines
		{name: "machine malformed", method: "POST", path: "/machines", body: `{"machineId":`, status: 400, code: "INVALID_JSON"},
		{name: "machine unknown field", method: "POST", path: "/machines", body: with(machine, "owner", "me"), status: 400, code: "UNKNOWN_FIELD", field: "owner"},
		{name: "machine location string", method: "POST", path: "/machines", body: with(machine, "location", "Testville"), status: 400, code: "INVALID_FIELD", field: "location"},
		{name: "machine lat string", method: "POST", path: "/machines", body: with(machine, "location", map[string]any{"city": "T", "lat": "north"}), status: 400, code: "INVALID_FIELD", field: "location.lat"},
		{name: "machine paymentMethods string", method: "POST", path: "/machines", body: with(machine, "paymentMethods", "CARD"), status: 400, code: "INVALID_FIELD", field: "paymentMethods"},
		{name: "machine missing id", method: "POST", path: "/machines", body: with(machine, "machineId", del{}), status: 400, code: "VALIDATION_FAILED", field: "machineId"},
		{name: "machine missing location", method: "POST", path: "/machines", body: with(machine, "location", del{}), status: 400, code: "VALIDATION_FAILED", field: "location"},
		{name: "machine missing city", method: "POST", path: "/machines", body: with(machine, "location", map[string]any{"building": "B"}), status: 400, code: "VALIDATION_FAILED", field: "location.city"},
		{name: "machine lat out of range", method: "POST", path: "/machines", body: with(machine, "location", map[string]any{"city": "T", "lat": 91}), status: 400, code: "VALIDATION_FAILED", field: "location.lat"},
		{name: "machine lng out of range", method: "POST", path: "/machines", body: with(machine, "location", map[string]any{"city": "T", "lng": -181}), status: 400, code: "VALIDATION_FAILED", field: "location.lng"},
		{name: "machine bad status", method: "POST", path: "/machines", body: with(machine, "status", "BROKEN"), status: 400, code: "VALIDATION_FAILED", field: "status"},
		{name: "machine decommissioned status", method: "POST", path: "/machines", body: with(machine, "status", "DECOMMISSIONED"), status: 400, code: "VALIDATION_FAILED", field: "status"},
		{name: "machine temperatureMax too high", method: "POST", path: "/machines", body: with(machine, "temperatureMax", 100), status: 400, code: "VALIDATION_FAILED", field: "temperatureMax"},
		{name: "machine empty payment method", method: "POST", path: "/machines", body: with(machine, "paymentMethods", []string{""}), status: 400, code: "VALIDATION_FAILED", field: "paymentMethods"},
		{name: "machine exists", method: "POST", path: "/machines", body: with(machine, "machineId", "M1"), status: 409, code: "MACHINE_EXISTS", field: "machineId"},
		{name: "machine decommissioned id reused", method: "POST", path: "/machines", body: with(machine, "machineId", "MDEC"), status: 409, code: "MACHINE_EXISTS", field: "machineId"},
		{name: "machine oversized body", method: "POST", path: "/machines", body: big, status: 413, code: "BODY_TOO_LARGE"},
		{name: "get unknown machine", method: "GET", path: "/machines/NOPE", route: "GET /machines/{id}", status: 404, code: "NOT_FOUND"},
		{name: "patch machine nothing", method: "PATCH", path: "/machines/M1", route: "PATCH /machines/{id}", body: `{}`, status: 400, code: "VALIDATION_FAILED"},
		{name: "patch machine bad status", method: "PATCH", path: "/machines/M1", route: "PATCH /machines/{id}", body: `{"status": "ON_FIRE"}`, status: 400, code: "VALIDATION_FAILED", field: "status"},
		{name: "patch machine empty city", method: "PATCH", path: "/machines/M1", route: "PATCH /machines/{id}", body: `{"location": {"city": " "}}`, status: 400, code: "VALIDATION_FAILED", field: "location.city"},
		{name: "patch machine unknown field", method: "PATCH", path: "/machines/M1", route: "PATCH /machines/{id}", body: `{"colour": "red"}`, status: 400, code: "UNKNOWN_FIELD", field: "colour"},
		{name: "patch machine status number", method: "PATCH", path: "/machines/M1", route: "PATCH /machines/{id}", body: `{"status": 1}`, status: 400, code: "INVALID_FIELD", field: "status"},
		{name: "patch unknown machine", method: "PATCH", path: "/machines/NOPE", route: "PATCH /machines/{id}", body: `{"status": "INACTIVE"}`, status: 404, code: "NOT_FOUND", field: "machineId"},
		{name: "patch decommissioned machine", method: "PATCH", path: "/machines/MDEC", route: "PATCH /machines/{id}", body: `{"status": "ACTIVE"}`, status: 409, code: "MACHINE_DECOMMISSIONED", field: "machineId"},
		{name: "delete unknown machine", method: "DELETE", path: "/machines/NOPE", route: "DELETE /machines/{id}", status: 404, code: "NOT_FOUND", field: "machineId"},
		{name: "delete decommissioned machine", method: "DELETE", path: "/machines/MDEC", route: "DELETE /machines/{id}", status: 409, code: "MACHINE_DECOMMISSIONED", field: "machineId"},
		{name: "inventory unknown machine", method: "GET", path: "/machines/NOPE/inventory", route: "GET /machines/{id}/inventory", status: 404, code: "NOT_FOUND"},

		// Products
		{name: "product unknown field", method: "POST", path: "/machines/M1/products", route: "POST /machines/{id}/products", body: with(product, "sku", "1"), status: 400, code: "UNKNOWN_FIELD", field: "sku"},
		{name: "product price string", method: "POST", path: "/machines/M1/products", route: "POST /machines/{id}/products", body: with(product, "price", "1.00"), status: 400, code: "INVALID_FIELD", field: "price"},
		{name: "product quantity string", method: "POST", path: "/machines/M1/products", route: "POST /machines/{id}/products", body: with(product, "quantity", "10"), status: 400, code: "INVALID_FIELD", field: "quantity"},
		{name: "product missing id", method: "POST", path: "/machines/M1/products", route: "POST /machines/{id}/products", body: with(product, "productId", del{}), status: 400, code: "VALIDATION_FAILED", field: "productId"},
		{name: "product missing name", method: "POST", path: "/machines/M1/products", route: "POST /machines/{id}/products", body: with(product, "name", del{}), status: 400, code: "VALIDATION_FAILED", field: "name"},
		{name: "product missing price", method: "POST", path: "/machines/M1/products", route: "POST /machines/{id}/products", body: with(product, "price", del{}), status: 400, code: "VALIDATION_FAILED", field: "price"},
		{name: "product negative price", method: "POST", path: "/machines/M1/products", route: "POST /machines/{id}/products", body: with(product, "price", -1), status: 400, code: "VALIDATION_FAILED", field: "price"},
		{name: "product missing quantity", method: "POST", path: "/machines/M1/products", route: "POST /machines/{id}/products", body: with(product, "quantity", del{}), status: 400, code: "VALIDATION_FAILED", field: "quantity"},
		{name: "product negative quantity", method: "POST", path: "/machines/M1/products", route: "POST /machines/{id}/products", body: with(product, "quantity", -1), status: 400, code: "VALIDATION_FAILED", field: "quantity"},
		{name: "product negative lowStockLimit", method: "POST", path: "/machines/M1/products", route: "POST /machines/{id}/products", body: with(product, "lowStockLimit", -1), status: 400, code: "VALIDATION_FAILED", field: "lowStockLimit"},
		{name: "product bad expiry", method: "POST", path: "/machines/M1/products", route: "POST /machines/{id}/products", body: with(product, "expiryDate", "31/12/2025"), status: 400, code: "VALIDATION_FAILED", field: "expiryDate"},
		{name: "product exists", method: "POST", path: "/machines/M1/products", route: "POST /machines/{id}/products", body: with(product, "productId", "P1"), status: 409, code: "PRODUCT_EXISTS", field: "productId"},
		{name: "product unknown machine", method: "POST", path: "/machines/NOPE/products", route: "POST /machines/{id}/products", body: product, status: 404, code: "NOT_FOUND", field: "machineId"},
		{name: "product decommissioned machine", method: "POST", path: "/machines/MDEC/products", route: "POST /machines/{id}/products", body: product, status: 409, code: "MACHINE_DECOMMISSIONED", field: "machineId"},
		{name: "patch product nothing", method: "PATCH", path: "/machines/M1/products/P1", route: "PATCH /machines/{id}/products/{pid}", body: `{}`, status: 400, code: "VALIDATION_FAILED"},
		{name: "patch product negative quantity", method: "PATCH", path: "/machines/M1/products/P1", route: "PATCH /machines/{id}/products/{pid}", body: `{"quantity": -3}`, status: 400, code: "VALIDATION_FAILED", field: "quantity"},
		{name: "patch product quantity string", method: "PATCH", path: "/machines/M1/products/P1", route: "PATCH /machines/{id}/products/{pid}", body: `{"quantity": "3"}`, status: 400, code: "INVALID_FIELD", field: "quantity"},
		{name: "patch product empty name", method: "PATCH", path: "/machines/M1/products/P1", route: "PATCH /machines/{id}/products/{pid}", body: `{"name": ""}`, status: 400, code: "VALIDATION_FAILED", field: "name"},
		{name: "patch product bad expiry", method: "PATCH", path: "/machines/M1/products/P1", route: "PATCH /machines/{id}/products/{pid}", body: `{"expiryDate": "tomorrow"}`, status: 400, code: "VALIDATION_FAILED", field: "expiryDate"},
		{name: "patch unknown product", method: "PATCH", path: "/machines/M1/products/NOPE", route: "PATCH /machines/{id}/products/{pid}", body: `{"quantity": 3}`, status: 404, code: "NOT_FOUND", field: "productId"},
		{name: "patch product decommissioned machine", method: "PATCH", path: "/machines/MDEC/products/P1", route: "PATCH /machines/{id}/products/{pid}", body: `{"quantity": 3}`, status: 409, code: "MACHINE_DECOMMISSIONED", field: "machineId"},

		// POST /machines/{id}/restock
		{name: "restock malformed", method: "POST", path: "/machines/M1/restock", route: "POST /machines/{id}/restock", body: `{"movementId":`, status: 400, code: "INVALID_JSON"},
		{name: "restock unknown field", method: "POST", path: "/machines/M1/restock", route: "POST /machines/{id}/restock", body: `{"movementId": "mv", "items": [], "driver": "x"}`, status: 400, code: "UNKNOWN_FIELD", field: "driver"},
		{name: "restock added string", method: "POST", path: "/machines/M1/restock", route: "POST /machines/{id}/restock", body: `{"movementId": "mv", "items": [{"productId": "P1", "added": "5"}]}`, status: 400, code: "INVALID_FIELD", field: "items.added"},
		{name: "restock missing movementId", method: "POST", path: "/machines/M1/restock", route: "POST /machines/{id}/restock", body: `{"items": [{"productId": "P1", "added": 5}]}`, status: 400, code: "VALIDATION_FAILED", field: "movementId"},
		{name: "restock no items", method: "POST", path: "/machines/M1/restock", route: "POST /machines/{id}/restock", body: `{"movementId": "mv", "items": []}`, status: 400, code: "VALIDATION_FAILED", field: "items"},
		{name: "restock product twice", method: "POST", path: "/machines/M1/restock", route: "POST /machines/{id}/restock", body: `{"movementId": "mv", "items": [{"productId": "P1", "added": 1}, {"productId": "P1", "added": 2}]}`, status: 400, code: "VALIDATION_FAILED", field: "items[1].productId"},
		{name: "restock negative added", method: "POST", path: "/machines/M1/restock", route: "POST /machines/{id}/restock", body: `{"movementId": "mv", "items": [{"productId": "P1", "added": -1}]}`, status: 400, code: "VALIDATION_FAILED", field: "items[0].added"},
		{name: "restock nothing to record", method: "POST", path: "/machines/M1/restock", route: "POST /machines/{id}/restock", body: `{"movementId": "mv", "items": [{"productId": "P1"}]}`, status: 400, code: "VALIDATION_FAILED", field: "items[0].productId"},
		{name: "restock bad expiry", method: "POST", path: "/machines/M1/restock", route: "POST /machines/{id}/restock", body: `{"movementId": "mv", "items": [{"productId": "P1", "added": 1, "expiryDate": "soon"}]}`, status: 400, code: "VALIDATION_FAILED", field: "items[0].expiryDate"},
		{name: "restock removes more than stocked", method: "POST", path: "/machines/M1/restock", route: "POST /machines/{id}/restock", body: `{"movementId": "mv", "items": [{"productId": "P1", "removedExpired": 101}]}`, status: 400, code: "VALIDATION_FAILED", field: "items[0].removedExpired"},
		{name: "restock unknown product", method: "POST", path: "/machines/M1/restock", route: "POST /machines/{id}/restock", body: `{"movementId": "mv", "items": [{"productId": "P1", "added": 1}, {"productId": "NOPE", "added": 1}]}`, status: 422, code: "UNKNOWN_PRODUCT", field: "items[1].productId"},
		{name: "restock unknown machine", method: "POST", path: "/machines/NOPE/restock", route: "POST /machines/{id}/restock", body: `{"movementId": "mv", "items": [{"productId": "P1", "added": 1}]}`, status: 404, code: "NOT_FOUND", field: "machineId"},
		{name: "restock decommissioned machine", method: "POST", path: "/machines/MDEC/restock", route: "POST /machines/{id}/restock", body: `{"movementId": "mv", "items": [{"productId": "P1", "added": 1}]}`, status: 409, code: "MACHINE_DECOMMISSIONED", field: "machineId"},
		{name: "restock oversized body", method: "POST", path: "/machines/M1/restock", route: "POST /machines/{id}/restock", body: `{"movementId": "` + strings.Repeat("m", 4*api.MaxBody) + `"}`, status: 413, code: "BODY_TOO_LARGE"},

		// POST /auth/token (no bearer token)
		{name: "token malformed", method: "POST", path: "/auth/token", body: `{"client_id":`, status: 400, code: "INVALID_JSON"},
		{name: "token unknown field", method: "POST", path: "/auth/token", body: `{"client_id": "a", "client_secret": "b", "scope": "all"}`, status: 400, code: "UNKNOWN_FIELD", field: "scope"},
		{name: "token bad grant", method: "POST", path: "/auth/token", body: `{"client_id": "a", "client_secret": "b", "grant_type": "password"}`, status: 400, code: "VALIDATION_FAILED", field: "grant_type"},
		{name: "token missing client_id", method: "POST", path: "/auth/token", body: `{"client_secret": "b"}`, status: 400, code: "VALIDATION_FAILED", field: "client_id"},
		{name: "token missing secret", method: "POST", path: "/auth/token", body: `{"client_id": "a"}`, status: 400, code: "VALIDATION_FAILED", field: "client_secret"},
		{name: "token unknown client", method: "POST", path: "/auth/token", body: `{"client_id": "a", "client_secret": "b"}`, status: 401, code: "INVALID_CLIENT", field: "client_id"},

		{name: "machines bad status", method: "GET", path: "/machines?status=BROKEN", route: "GET /machines", status: 400, code: "VALIDATION_FAILED", field: "status"},

		// No route.
		{name: "unknown route", method: "GET", path: "/nothing/here", route: "/", status: 404, code: "NOT_FOUND"},
		{name: "unknown machine subresource", method: "GET", path: "/machines/M1/history", route: "/", status: 404, code: "NOT_FOUND"},
		{name: "wrong method", method: "PUT", path: "/machines", route: "/", body: `{}`, status: 405, code: "METHOD_NOT_ALLOWED"},
		{name: "wrong method on a wildcard route", method: "POST", path: "/faults/1", route: "/", body: `{}`, status: 405, code: "METHOD_NOT_ALLOWED"},
		{name: "wrong method on a public route", method: "POST", path: "/healthz", route: "/", status: 405, code: "METHOD_NOT_ALLOWED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			route := tt.route
			if route == "" {
				route = tt.method + " " + tt.path
			}
			labels := map[string]string{"route": route, "error": tt.code}
			rejectedBefore := s.Counter("vendsync_edge_http_rejected_total", labels)
			before := edgetest.Counts(t, s.DB())

			r := s.Do(tt.method, tt.path, tok, tt.body, tt.headers...)

			if got, want := r.Status, tt.status; got != want {
				t.Fatalf("status = %d, want %d; body %s", got, want, r.Body)
			}
			e := r.Error(t)
			if got, want := e.Code, tt.code; got != want {
				t.Fatalf("code = %q, want %q (%s)", got, want, e.Message)
			}
			if got, want := e.Field, tt.field; got != want {
				t.Fatalf("field = %q, want %q (%s)", got, want, e.Message)
			}
			if got, want := r.Header.Get("Content-Type"), "application/json"; got != want {
				t.Fatalf("Content-Type = %q, want %q", got, want)
			}
			if tt.status == http.StatusMethodNotAllowed && r.Header.Get("Allow") == "" {
				t.Fatalf("405 without an Allow header")
			}
			after := edgetest.Counts(t, s.DB())
			for k, v := range before {
				if after[k] != v {
					t.Fatalf("a rejected request changed %s from %d to %d", k, v, after[k])
				}
			}
			if got, want := s.Counter("vendsync_edge_http_rejected_total", labels)-rejectedBefore, 1.0; got != want {
				t.Fatalf("vendsync_edge_http_rejected_total{route=%q,error=%q} rose by %v, want %v", route, tt.code, got, want)
			}
		})
	}
	// /metrics serves the same counts.
	all := map[string]string{}
	if got, want := edgetest.Metric(t, s.URL(), "vendsync_edge_http_rejected_total", all), s.Counter("vendsync_edge_http_rejected_total", all); got != want || got < float64(len(tests)) {
		t.Fatalf("GET /metrics: vendsync_edge_http_rejected_total sums to %v, registry %v, want at least %d", got, want, len(tests))
	}
}

// TestAPI_HappyPaths calls every route once the way a client should and
// checks the answer's status and the key parts of its body. Steps run in
// order: later ones use what earlier ones made.
func TestAPI_HappyPaths(t *testing.T) {
	s := edgetest.Start(t, edgetest.Options{Clock: edgetest.NewClock(t0), Timezone: "Asia/Kolkata"})
	tok := s.AdminToken()
	ts := t0.Add(-time.Minute).Format(time.RFC3339)
	type check func(t *testing.T, r edgetest.Response)
	field := func(path string, want any) check {
		return func(t *testing.T, r edgetest.Response) {
			t.Helper()
			var v any
			r.Decode(t, &v)
			for _, p := range strings.Split(path, ".") {
				switch x := v.(type) {
				case map[string]any:
					v = x[p]
				case []any:
					var i int
					fmt.Sscan(p, &i)
					if i >= len(x) {
						t.Fatalf("%s: index %d out of %d in %s", path, i, len(x), r.Body)
					}
					v = x[i]
				default:
					t.Fatalf("%s: no %q in %s", path, p, r.Body)
				}
			}
			if got := fmt.Sprint(v); got != fmt.Sprint(want) {
				t.Fatalf("%s = %v, want %v; body %s", path, got, want, r.Body)
			}
		}
	}
	form := url.Values{"client_id": {s.Admin.ClientID}, "client_secret": {s.Admin.ClientSecret}, "grant_type": {"client_credentials"}}.Encode()
	tests := []struct {
		name         string
		method, path string
		body         any
		headers      []string
		status       int
		checks       []check
	}{
		{name: "healthz", method: "GET", path: "/healthz", status: 200, checks: []check{field("status", "ok")}},
		{name: "readyz", method: "GET", path: "/readyz", status: 200, checks: []check{field("status", "ready"), field("site", "test-site")}},
		{name: "token JSON", method: "POST", path: "/auth/token", body: map[string]string{"client_id": s.Admin.ClientID, "client_secret": s.Admin.ClientSecret}, status: 200,
			checks: []check{field("token_type", "Bearer"), field("role", "ADMIN"), field("expires_in", 3600)}},
		{name: "token form", method: "POST", path: "/auth/token", body: form, headers: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 200,
			checks: []check{field("token_type", "Bearer")}},
		{name: "create machine", method: "POST", path: "/machines", status: 201,
			body:   map[string]any{"machineId": "VM_1", "location": map[string]any{"city": "Bangalore", "building": "Tower A", "lat": 12.97, "lng": 77.59}, "paymentMethods": []string{"card", "UPI"}, "temperatureMax": 6},
			checks: []check{field("machineId", "VM_1"), field("status", "ACTIVE"), field("location.building", "Tower A"), field("paymentMethods", []string{"CARD", "UPI"})}},
		{name: "get machine", method: "GET", path: "/machines/VM_1", status: 200, checks: []check{field("location.city", "Bangalore")}},
		{name: "list machines", method: "GET", path: "/machines?status=active", status: 200, checks: []check{field("machines.0.machineId", "VM_1")}},
		{name: "patch machine", method: "PATCH", path: "/machines/VM_1", body: map[string]any{"status": "MAINTENANCE", "location": map[string]any{"building": "Tower A"}}, status: 200,
			checks: []check{field("status", "UNDER_MAINTENANCE")}},
		{name: "patch machine back", method: "PATCH", path: "/machines/VM_1", body: map[string]any{"status": "ACTIVE"}, status: 200, checks: []check{field("status", "ACTIVE")}},
		{name: "add product", method: "POST", path: "/machines/VM_1/products", status: 201,
			body:   map[string]any{"productId": "COKE", "name": "Coke 330ml", "price": 1.5, "quantity": 20, "lowStockLimit": 3, "expiryDate": "2026-01-01"},
			checks: []check{field("productId", "COKE"), field("price", 1.5), field("quantity", 20), field("lowStockLimit", 3)}},
		{name: "patch product", method: "PATCH", path: "/machines/VM_1/products/COKE", body: map[string]any{"price": 2, "quantity": 30}, status: 200,
			checks: []check{field("price", 2), field("quantity", 30)}},
		{name: "inventory", method: "GET", path: "/machines/VM_1/inventory", status: 200, checks: []check{field("items.0.quantity", 30), field("items.0.name", "Coke 330ml")}},
		{name: "sale", method: "POST", path: "/events/sales", status: 201,
			body:   map[string]any{"transactionId": "tx-1", "machineId": "VM_1", "productId": "COKE", "quantity": 2, "amount": 4, "paymentMethod": "UPI", "timestamp": ts},
			checks: []check{field("status", "ACCEPTED"), field("transactionId", "tx-1")}},
		// 10% + 1 cent of 4.00 is 0.41: 4.41 is accepted.
		{name: "sale at the tolerance edge", method: "POST", path: "/events/sales", status: 201, headers: []string{"Idempotency-Key", "tx-2"},
			body:   map[string]any{"transactionId": "tx-2", "machineId": "VM_1", "productId": "COKE", "quantity": 2, "amount": 4.41, "paymentMethod": "CARD", "timestamp": ts},
			checks: []check{field("status", "ACCEPTED")}},
		{name: "sale id from Idempotency-Key", method: "POST", path: "/events/sales", status: 201, headers: []string{"Idempotency-Key", "tx-3"},
			// VM_1 takes CARD and UPI: a CASH sale would be refused (422).
			body:   map[string]any{"machineId": "VM_1", "productId": "COKE", "quantity": 1, "amount": 2, "paymentMethod": "UPI", "timestamp": ts},
			checks: []check{field("transactionId", "tx-3")}},
		{name: "batch", method: "POST", path: "/events/batch", status: 200,
			body: map[string]any{"events": []map[string]any{
				{"transactionId": "tx-4", "machineId": "VM_1", "productId": "COKE", "quantity": 1, "amount": 2, "paymentMethod": "CARD", "timestamp": ts},
			}},
			checks: []check{field("accepted", 1), field("results.0.status", "ACCEPTED")}},
		{name: "restock", method: "POST", path: "/machines/VM_1/restock", status: 201,
			body:   map[string]any{"movementId": "visit-1", "items": []map[string]any{{"productId": "COKE", "removedDamaged": 1, "added": 11}}},
			checks: []check{field("lines.0.reason", "DAMAGED"), field("lines.1.reason", "RESTOCK"), field("lines.1.after", 34)}},
		{name: "telemetry", method: "POST", path: "/events/telemetry", status: 202,
			body:   map[string]any{"machineId": "VM_1", "temperature": 4.5, "powerStatus": "on", "doorStatus": "closed", "timestamp": ts},
			checks: []check{field("status", "ACCEPTED")}},
		{name: "fault", method: "POST", path: "/events/faults", status: 201,
			body:   map[string]any{"machineId": "VM_1", "faultType": "coin_jam", "description": "coins stuck", "timestamp": ts},
			checks: []check{field("faultId", 1), field("faultType", "COIN_JAM"), field("status", "OPEN")}},
		{name: "list faults", method: "GET", path: "/faults?status=open&machineId=VM_1&limit=5", status: 200, checks: []check{field("faults.0.faultId", 1)}},
		{name: "get fault", method: "GET", path: "/faults/1", status: 200, checks: []check{field("description", "coins stuck")}},
		{name: "patch fault", method: "PATCH", path: "/faults/1", body: map[string]any{"status": "RESOLVED"}, status: 200,
			checks: []check{field("status", "RESOLVED"), field("resolvedBy", s.Admin.ClientID)}},
		{name: "alerts", method: "GET", path: "/alerts?status=OPEN&type=EXPIRING_SOON&limit=10", status: 200, checks: []check{field("alerts", []any{})}},
		// 12:00Z is 17:30 in Kolkata: the 17:00 hour bucket of 2025-03-10.
		{name: "sales by machine per hour", method: "GET", path: "/aggregations/sales?groupBy=machine&window=hour&from=2025-03-10&to=2025-03-11", status: 200,
			checks: []check{field("rows.0.bucket", "2025-03-10T17:00:00"), field("rows.0.transactions", 4), field("totals.quantity", 6), field("totals.revenue", 12.41), field("timezone", "Asia/Kolkata")}},
		{name: "sales by location default range", method: "GET", path: "/aggregations/sales?groupBy=location", status: 200,
			checks: []check{field("rows.0.key", "Bangalore/Tower A"), field("rows.0.bucket", "2025-03-10T00:00:00"), field("totals.transactions", 4)}},
		{name: "top products", method: "GET", path: "/aggregations/products/top?n=1&by=quantity", status: 200,
			checks: []check{field("products.0.productId", "COKE"), field("products.0.quantity", 6), field("products.0.name", "Coke 330ml")}},
		{name: "audit", method: "GET", path: "/audit?entityType=machine&entityId=VM_1&limit=10", status: 200, checks: []check{field("entries.0.action", "UPDATE")}},
		{name: "sync", method: "GET", path: "/sync", status: 200, checks: []check{field("outbox.ackedSeq", 0), field("uplink.configured", false)}},
		{name: "delete machine", method: "DELETE", path: "/machines/VM_1", status: 200, checks: []check{field("status", "DECOMMISSIONED")}},
		{name: "metrics", method: "GET", path: "/metrics", status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.Do(tt.method, tt.path, tok, tt.body, tt.headers...)
			if got, want := r.Status, tt.status; got != want {
				t.Fatalf("status = %d, want %d; body %s", got, want, r.Body)
			}
			for _, c := range tt.checks {
				c(t, r)
			}
		})
	}
	if got, want := s.Stock("VM_1", "COKE"), int64(30-6-1+11); got != want {
		t.Fatalf("stock = %d, want %d", got, want)
	}
	edgetest.CheckStore(t, s.DB(), s.Node.Store.Site.Loc)
}
