package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/vendsync/vendsync/internal/auth"
)

func TestRouteCandidates_SiteWithLowStockComesFirst(t *testing.T) {
	c := newCentral(t)
	r := c.Do("GET", "/routes/candidates", c.Token(auth.RoleDriver), nil)
	if r.Status != http.StatusOK {
		t.Fatalf("status = %d: %s", r.Status, r.Body)
	}
	var got struct {
		Candidates []struct {
			Site    string `json:"site"`
			Reasons []struct {
				Code string `json:"code"`
			} `json:"reasons"`
		} `json:"candidates"`
	}
	if err := json.Unmarshal([]byte(r.Body), &got); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
	// s1 has an open LOW_STOCK alert on M1/P2; s2's only alert is closed.
	if len(got.Candidates) == 0 || got.Candidates[0].Site != "s1" {
		t.Fatalf("candidates = %s, want s1 first", r.Body)
	}
	found := false
	for _, rs := range got.Candidates[0].Reasons {
		found = found || rs.Code != ""
	}
	if !found {
		t.Fatalf("s1 has no reasons: %s", r.Body)
	}
	if r := c.Do("GET", "/routes/candidates", c.Token(auth.RoleFinance), nil); r.Status != http.StatusForbidden {
		t.Fatalf("FINANCE: status = %d, want 403", r.Status)
	}
}
