package downlink_test

import (
	"context"
	"testing"
	"time"

	"github.com/vendsync/vendsync/internal/tcplink"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
	"github.com/vendsync/vendsync/sync/downlink"
)

// TestWatcher_ChangeMadeDuringOutageArrivesSoonAfterReconnect: after a 20s
// outage (the link cut, or central down too), a change central made
// meanwhile is applied within 5s of the link coming back, whatever
// nats-server's mirror retry back-off is doing.
func TestWatcher_ChangeMadeDuringOutageArrivesSoonAfterReconnect(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a 20s outage")
	}
	for _, restartHub := range []bool{false, true} {
		name := "link cut"
		if restartHub {
			name = "link cut and central restarted"
		}
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			hcfg := natstest.HubConfig(t)
			h := natstest.OpenHub(t, hcfg)
			pub, err := downlink.NewPublisher(ctx, h.JetStream())
			if err != nil {
				t.Fatal(err)
			}
			seed, _, err := h.IssueSite("A")
			if err != nil {
				t.Fatal(err)
			}
			link := testkit.NewLink(t, h.LeafURL())
			a := natstest.StartLeaf(t, "A", seed, link.URL())
			natstest.WaitConnected(t, a, true)
			got := &applied{values: map[string]string{}}
			w, err := downlink.NewWatcher(downlink.WatcherConfig{Site: "A", JS: a.JetStream(), State: newApplied(t), Handle: got.handle,
				Retry: 50 * time.Millisecond, Logger: testkit.Logger(t), Conn: a.Conn(), Connected: a.Connected})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Open(ctx); err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if _, err := pub.Put(ctx, "A", "price.m1.p1", []byte("100")); err != nil {
				t.Fatal(err)
			}
			testkit.CheckFor(t, 30*time.Second, func() error { return got.wantValues(map[string]string{"price.m1.p1": "100"}) })

			link.Cut()
			natstest.WaitConnected(t, a, false)
			if _, err := pub.Put(ctx, "A", "price.m1.p1", []byte("120")); err != nil {
				t.Fatal(err)
			}
			if err := pub.Delete(ctx, "A", "price.m2.p1"); err != nil {
				t.Fatal(err)
			}
			if _, err := pub.Put(ctx, "A", "machine.m1", []byte(`{"status":"ACTIVE"}`)); err != nil {
				t.Fatal(err)
			}
			leafURL := h.LeafURL()
			if restartHub {
				h.Close()
			}
			time.Sleep(20 * time.Second) // the outage itself: nothing to poll for
			if restartHub {
				hcfg.LeafListen = tcplink.HostPort(leafURL)
				natstest.OpenHub(t, hcfg)
			}
			link.Restore("")
			natstest.WaitConnected(t, a, true)
			back := time.Now()
			testkit.CheckFor(t, 5*time.Second, func() error {
				return got.wantValues(map[string]string{"price.m1.p1": "120", "price.m2.p1": "<deleted>", "machine.m1": `{"status":"ACTIVE"}`})
			})
			t.Logf("changes applied %v after reconnect", time.Since(back).Round(time.Millisecond))
		})
	}
}
