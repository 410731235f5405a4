package edge_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// benchPromotions are five active promotions: one applies to every sale
// (10 % off every product, so a sale pays evaluation and booking its
// discount), four are considered and skipped (another product, a combo, a
// code, an nth purchase without a customer).
var benchPromotions = []map[string]any{
	{"id": "all-10", "name": "10 % off", "kind": "PERCENT", "percent": 10, "stacking": "STACKABLE", "active": true, "priority": 5},
	{"id": "p000-50c", "name": "0.50 off P000", "kind": "AMOUNT", "amountOff": 0.5, "productIds": []string{"P900"}, "stacking": "STACKABLE", "active": true},
	{"id": "combo", "name": "combo", "kind": "COMBO", "productIds": []string{"P901", "P902"}, "comboSize": 2, "comboDistinct": true, "percent": 20, "stacking": "STACKABLE", "active": true},
	{"id": "coded", "name": "coded", "kind": "PERCENT", "percent": 5, "code": "SAVE5", "stacking": "STACKABLE", "active": true},
	{"id": "fifth", "name": "every 5th", "kind": "NTH_PURCHASE", "nthPurchase": 5, "percent": 50, "stacking": "EXCLUSIVE", "active": true},
}

// BenchmarkSalePromotionsHTTP is the cost of promotions on a sale: two
// sites in one process, one with no promotion and one with five active
// ones (its sales pay the discounted amount); each iteration posts one
// single-client HTTP sale to each, alternating which goes first, so both
// see the same machine load. It reports each site's p50/p99 and the added
// latency of the median in percent.
func BenchmarkSalePromotionsHTTP(b *testing.B) {
	none := newBenchSite(b, b.TempDir(), 10, 20)
	defer none.node.Close()
	five := newBenchSite(b, b.TempDir(), 10, 20)
	defer five.node.Close()
	for _, p := range benchPromotions {
		five.post(b, "/promotions", p, nil)
	}
	latNone := make([]time.Duration, 0, b.N)
	latFive := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			latNone = append(latNone, none.promoSale(b, i, false))
			latFive = append(latFive, five.promoSale(b, i, true))
		} else {
			latFive = append(latFive, five.promoSale(b, i, true))
			latNone = append(latNone, none.promoSale(b, i, false))
		}
	}
	b.StopTimer()
	p50n, p50f := percentile(latNone, 0.50), percentile(latFive, 0.50)
	b.ReportMetric(float64(p50n.Microseconds())/1000, "none_p50_ms")
	b.ReportMetric(float64(percentile(latNone, 0.99).Microseconds())/1000, "none_p99_ms")
	b.ReportMetric(float64(p50f.Microseconds())/1000, "five_p50_ms")
	b.ReportMetric(float64(percentile(latFive, 0.99).Microseconds())/1000, "five_p99_ms")
	b.ReportMetric(100*(float64(p50f)/float64(p50n)-1), "added_p50_%")
}

// promoSale posts one sale, at 10 % off when discounted, and returns its
// latency.
func (s *benchSite) promoSale(b *testing.B, i int, discounted bool) time.Duration {
	n := txSeq.Add(1)
	m, p := s.machines[i%len(s.machines)], s.products[(i/len(s.machines))%len(s.products)]
	cents := int64(1000 + 100*((i/len(s.machines))%len(s.products)))
	if discounted {
		cents -= (cents*10 + 50) / 100
	}
	body := fmt.Sprintf(`{"transactionId":"ptx-%d","machineId":%q,"productId":%q,"quantity":1,"amount":%d.%02d,"paymentMethod":"CARD","timestamp":%q}`,
		n, m, p, cents/100, cents%100, time.Now().Add(-time.Minute).UTC().Format(time.RFC3339))
	req, _ := http.NewRequest(http.MethodPost, s.node.URL()+"/events/sales", bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.token)
	start := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		b.Error(err)
		return 0
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("sale answered %d %s", resp.StatusCode, data)
	}
	return d
}
