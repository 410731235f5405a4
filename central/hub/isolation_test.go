package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/vendsync/vendsync/central/hub"
	"github.com/vendsync/vendsync/internal/testkit"
	"github.com/vendsync/vendsync/internal/testkit/natstest"
	"github.com/vendsync/vendsync/sync/envelope"
)

func connectAs(t *testing.T, url, seed string) (*nats.Conn, error) {
	t.Helper()
	kp, err := nkeys.FromSeed([]byte(seed))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := kp.PublicKey()
	return nats.Connect(url, nats.Nkey(pub, kp.Sign), nats.NoReconnect(), nats.Timeout(2*time.Second))
}

// consumerCreate builds a consumer-create request as a site's server sends it
// for a mirror of its keys.
func consumerCreate(name, filter, deliver string, filters ...string) []byte {
	cfg := map[string]any{
		"name": name, "deliver_subject": deliver, "ack_policy": "none",
		"deliver_policy": "all", "inactive_threshold": int64(5 * time.Second),
	}
	if len(filters) > 0 {
		cfg["filter_subjects"] = filters
	} else {
		cfg["filter_subject"] = filter
	}
	b, _ := json.Marshal(map[string]any{"stream_name": "KV_CONFIG", "config": cfg})
	return b
}

func apiError(resp *nats.Msg) error {
	var r struct {
		Error *struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(resp.Data, &r); err != nil {
		return err
	}
	if r.Error != nil {
		return fmt.Errorf("api error %d: %s", r.Error.Code, r.Error.Description)
	}
	return nil
}

func TestHub_SiteCannotActAsAnotherSite(t *testing.T) {
	h := natstest.StartHub(t)
	a, seedA := natstest.ConnectSite(t, h, "A")
	b, _ := natstest.ConnectSite(t, h, "B")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	jsA, err := jetstream.New(a.Conn())
	if err != nil {
		t.Fatal(err)
	}
	// Positive control: A publishes its own batch.
	testkit.CheckFor(t, 10*time.Second, func() error {
		_, err := jsA.Publish(ctx, envelope.SubjectBatch("A"), []byte(`{}`), jetstream.WithMsgID("A:1-1"))
		return err
	})

	t.Run("publish as B", func(t *testing.T) {
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		defer pcancel()
		if _, err := jsA.Publish(pctx, envelope.SubjectBatch("B"), []byte(`{}`), jetstream.WithMsgID("B:1-1")); err == nil {
			t.Fatal("site A published fleet.B.batch into FLEET")
		}
		// Also a raw publish, no ack expected: nothing may be stored.
		if err := a.Conn().Publish(envelope.SubjectBatch("B"), []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		if err := a.Conn().Flush(); err != nil {
			t.Fatal(err)
		}
		s, err := h.JetStream().Stream(ctx, envelope.StreamIngest)
		if err != nil {
			t.Fatal(err)
		}
		// A marker published by the hub after A's attempts: once it is stored,
		// anything A managed to get through would be stored before it.
		if _, err := h.JetStream().Publish(ctx, envelope.SubjectBatch("marker"), []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx, jetstream.WithSubjectFilter("fleet.B.batch"))
		if err != nil {
			t.Fatal(err)
		}
		if got := len(info.State.Subjects); got != 0 {
			t.Fatalf("FLEET holds %d fleet.B.batch subjects, want 0", got)
		}
	})

	t.Run("read B's watermark and downlink", func(t *testing.T) {
		subA, err := a.Conn().SubscribeSync("vsync.>")
		if err != nil {
			t.Fatal(err)
		}
		subB, err := b.Conn().SubscribeSync("vsync.>")
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Conn().Flush(); err != nil {
			t.Fatal(err)
		}
		if err := b.Conn().Flush(); err != nil {
			t.Fatal(err)
		}
		hc := h.Conn()
		// Publish until each site's own subjects arrive (interest takes a
		// moment to cross the leaf), always B's before A's.
		var gotA, gotB []string
		testkit.CheckFor(t, 10*time.Second, func() error {
			for _, site := range []string{"B", "A"} {
				for _, subj := range []string{envelope.SubjectWatermarkPush(site), envelope.DownlinkDeliverPrefix(site) + ".M.x"} {
					if err := hc.Publish(subj, []byte(site)); err != nil {
						return err
					}
				}
			}
			if err := hc.Flush(); err != nil {
				return err
			}
			for {
				m, err := subA.NextMsg(50 * time.Millisecond)
				if err != nil {
					break
				}
				gotA = append(gotA, m.Subject)
			}
			for {
				m, err := subB.NextMsg(50 * time.Millisecond)
				if err != nil {
					break
				}
				gotB = append(gotB, m.Subject)
			}
			if !slices.Contains(gotA, "vsync.dl.A.M.x") || !slices.Contains(gotA, "vsync.wm.A") || !slices.Contains(gotB, "vsync.dl.B.M.x") || !slices.Contains(gotB, "vsync.wm.B") {
				return fmt.Errorf("A got %v, B got %v", gotA, gotB)
			}
			return nil
		})
		for _, s := range gotA {
			if strings.Contains(s, ".B") {
				t.Fatalf("site A received %s", s)
			}
		}
		for _, s := range gotB {
			if strings.Contains(s, ".A") {
				t.Fatalf("site B received %s", s)
			}
		}
	})

	t.Run("consumer on B's keys", func(t *testing.T) {
		nc := a.Conn()
		own := "$JS.hub.API.CONSUMER.CREATE.KV_CONFIG.ca.$KV.CONFIG.A.>"
		var resp *nats.Msg
		testkit.CheckFor(t, 10*time.Second, func() error {
			var err error
			resp, err = nc.Request(own, consumerCreate("ca", "$KV.CONFIG.A.>", "vsync.dl.A.test"), time.Second)
			return err
		})
		if err := apiError(resp); err != nil {
			t.Fatalf("own consumer: %v", err)
		}
		cases := []struct {
			name, subject string
			body          []byte
		}{
			{"B's filter", "$JS.hub.API.CONSUMER.CREATE.KV_CONFIG.cb.$KV.CONFIG.B.>", consumerCreate("cb", "$KV.CONFIG.B.>", "vsync.dl.A.x")},
			{"every key", "$JS.hub.API.CONSUMER.CREATE.KV_CONFIG.cb.$KV.CONFIG.>", consumerCreate("cb", "$KV.CONFIG.>", "vsync.dl.A.x")},
			{"unfiltered", "$JS.hub.API.CONSUMER.CREATE.KV_CONFIG.cb", consumerCreate("cb", "", "vsync.dl.A.x")},
			{"own subject, B's filter in body", own, consumerCreate("cb", "$KV.CONFIG.B.>", "vsync.dl.A.x")},
			{"own subject, B's filters in body", own, consumerCreate("cb", "", "vsync.dl.A.x", "$KV.CONFIG.B.>")},
			{"direct get", "$JS.hub.API.DIRECT.GET.KV_CONFIG.$KV.CONFIG.B.price", nil},
			{"stream info", "$JS.hub.API.STREAM.INFO.KV_CONFIG", nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				resp, err := nc.Request(tc.subject, tc.body, 500*time.Millisecond)
				if err == nil {
					t.Logf("response: %s", resp.Data)
				} else {
					t.Logf("error: %v", err)
				}
				if err == nil {
					if apiError(resp) == nil && len(resp.Data) > 0 {
						t.Fatalf("request succeeded: %s", resp.Data)
					}
				}
			})
		}
		// The hub's KV_CONFIG has exactly one consumer: A's own.
		s, err := h.JetStream().Stream(ctx, "KV_CONFIG")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for n := range s.ConsumerNames(ctx).Name() {
			names = append(names, n)
		}
		if len(names) != 1 || names[0] != "ca" {
			t.Fatalf("KV_CONFIG consumers = %v, want [ca]", names)
		}
	})

	t.Run("direct client with A's key", func(t *testing.T) {
		nc, err := connectAs(t, h.ClientURL(), seedA)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		errs := make(chan error, 4)
		nc.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err })
		if _, err := nc.SubscribeSync("vsync.dl.B.>"); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errs:
			if !errors.Is(err, nats.ErrPermissionViolation) && !strings.Contains(err.Error(), "Permissions Violation") {
				t.Fatalf("got %v, want a permissions violation", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("subscribing to B's downlink was not refused")
		}
	})
}

func TestHub_RevokedSiteIsDisconnectedAndRefused(t *testing.T) {
	h := natstest.StartHub(t)
	a, seedA := natstest.ConnectSite(t, h, "A")
	b, _ := natstest.ConnectSite(t, h, "B")
	direct, err := connectAs(t, h.ClientURL(), seedA)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()

	if err := h.RevokeSite("A"); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 5*time.Second, func() error {
		if a.Connected() {
			return errors.New("site A still connected")
		}
		if !direct.IsClosed() {
			return errors.New("A's direct client still connected")
		}
		return nil
	})
	// A retries every 100ms; it must stay out, and B must stay in.
	testkit.Consistently(t, time.Second, func() error {
		if a.Connected() {
			return errors.New("revoked site reconnected")
		}
		if !b.Connected() {
			return errors.New("site B lost its connection")
		}
		return nil
	})
	if _, err := connectAs(t, h.ClientURL(), seedA); err == nil {
		t.Fatal("revoked key connected")
	}
	if got := h.Sites(); len(got) != 1 || got[0] != "B" {
		t.Fatalf("sites = %v, want [B]", got)
	}
}

func TestHub_RegistrySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	h := natstest.StartHub(t, func(c *hub.Config) { c.StoreDir = dir })
	seed, _, err := h.IssueSite("A")
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	h2 := natstest.StartHub(t, func(c *hub.Config) { c.StoreDir = dir })
	nc, err := connectAs(t, h2.ClientURL(), seed)
	if err != nil {
		t.Fatalf("site key after restart: %v", err)
	}
	nc.Close()
}
