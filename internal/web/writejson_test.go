package web_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/vendsync/vendsync/internal/edgeapi"
	"github.com/vendsync/vendsync/internal/web"
)

// TestWriteJSON_AppenderWritesTheEncodersBytes checks that an answer that
// encodes itself reaches the client exactly as json.Encoder would write it.
func TestWriteJSON_AppenderWritesTheEncodersBytes(t *testing.T) {
	ans := edgeapi.SalesAnswer{From: "2026-12-01T00:00:00", GroupBy: "machine", Site: "s<1>", Window: "day",
		Rows: []edgeapi.SalesRow{{Key: "VM_1", Bucket: "2026-12-01T00:00:00", Transactions: 3, Quantity: 4, Revenue: 1250, GrossRevenue: 1250}}}
	for range 3 { // the second and third reuse a pooled buffer
		rec := httptest.NewRecorder()
		web.WriteJSON(rec, 200, ans)
		type plain edgeapi.SalesAnswer // no AppendJSON: encoding/json reflects
		want, _ := json.Marshal(plain(ans))
		if got := rec.Body.String(); got != string(want)+"\n" {
			t.Fatalf("body =\n%s\nwant\n%s", got, want)
		}
		if got := rec.Header().Get("Content-Type"); got != "application/json" {
			t.Fatalf("Content-Type = %q", got)
		}
	}
}
