package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/central/api"
	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/sync/downlink"
	"github.com/vendsync/vendsync/sync/envelope"
)

// TestPatchProduct_TwoNodesEditingOneKeyBothLand: two central nodes changing
// different fields of one product at the same moment both land, every time:
// neither node's write overwrites the other's.
func TestPatchProduct_TwoNodesEditingOneKeyBothLand(t *testing.T) {
	c := newCentral(t)
	ctx := context.Background()
	pub, err := downlink.NewPublisher(ctx, c.JS)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := c.JS.KeyValue(ctx, envelope.BucketConfig)
	if err != nil {
		t.Fatal(err)
	}
	node2 := httptest.NewServer(api.New(api.Config{Store: c.Store, Auth: c.Auth, Signer: c.Signer, Publisher: pub,
		ConfigKV: kv, Metrics: newMetrics(), Logger: zerolog.Nop(), Now: func() time.Time { return t0.Add(5 * time.Minute) }}))
	t.Cleanup(node2.Close)
	tok := c.Token(auth.RoleOps)
	patch := func(base, body string) error {
		req, err := http.NewRequest("PATCH", base+"/machines/M2/products/P1", strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("PATCH %s: status %d", body, resp.StatusCode)
		}
		return nil
	}
	for i := 1; i <= 25; i++ {
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		start := make(chan struct{})
		for _, p := range []struct{ url, body string }{
			{c.URL, fmt.Sprintf(`{"price": %d}`, i)},
			{node2.URL, fmt.Sprintf(`{"parLevel": %d}`, i)},
		} {
			wg.Go(func() {
				<-start
				errs <- patch(p.url, p.body)
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		v, _ := c.Published("s2", "product.M2.P1")
		if v["priceCents"] != float64(i*100) || v["parLevel"] != float64(i) {
			t.Fatalf("round %d: CONFIG s2.product.M2.P1 = %v, want priceCents %d and parLevel %d", i, v, i*100, i)
		}
	}
}
