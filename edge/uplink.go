package edge

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/vendsync/vendsync/edge/api"
	"github.com/vendsync/vendsync/edge/ingest"
	"github.com/vendsync/vendsync/edge/leaf"
	"github.com/vendsync/vendsync/edge/machine"
	"github.com/vendsync/vendsync/edge/stock"
	"github.com/vendsync/vendsync/edge/store"
	"github.com/vendsync/vendsync/internal/errs"
	"github.com/vendsync/vendsync/internal/natsusers"
	"github.com/vendsync/vendsync/internal/tlsca"
	"github.com/vendsync/vendsync/sync/downlink"
	"github.com/vendsync/vendsync/sync/envelope"
	"github.com/vendsync/vendsync/sync/forward"
	"github.com/vendsync/vendsync/sync/wire"
)

// The edge store is the forwarder's outbox and remembers the downlink
// revision it applied.
var (
	_ forward.Outbox   = (*storeOutbox)(nil)
	_ downlink.Applied = (*storeOutbox)(nil)
)

type storeOutbox struct{ *Node }

// ReadAfter reads only events that are on disk (the writer's DurableSeq):
// one a power cut took back would have its sequence reused by the next
// event, which central would then drop as a duplicate.
func (o storeOutbox) ReadAfter(ctx context.Context, after uint64, max int) ([]envelope.Record, error) {
	return o.Store.ReadBetween(ctx, after, o.Writer.DurableSeq(), max)
}
func (o storeOutbox) Trim(ctx context.Context, upTo uint64) error { return o.Store.Trim(ctx, upTo) }
func (o storeOutbox) Acked(ctx context.Context) (uint64, error)   { return o.Store.Acked(ctx) }
func (o storeOutbox) LastApplied(ctx context.Context) (uint64, error) {
	return o.Store.LastApplied(ctx)
}
func (o storeOutbox) SetApplied(ctx context.Context, rev uint64) error {
	return o.Store.SetApplied(ctx, rev)
}

// startLeaf starts the embedded NATS server. It needs only the store's
// site, so Open runs it while the rules load.
func (n *Node) startLeaf(ctx context.Context) error {
	site := n.Store.Site
	var err error
	var hubTLS *tls.Config
	if n.cfg.HubCAFile != "" {
		if hubTLS, err = tlsca.ClientConfig(n.cfg.HubCAFile); err != nil {
			return err
		}
	}
	// The local NATS port serves TLS with the API's certificate.
	var natsTLS *tls.Config
	if n.cfg.NATSListen != "" && n.cfg.TLSCertFile != "" {
		if natsTLS, err = tlsca.ServerConfig(n.cfg.TLSCertFile, n.cfg.TLSKeyFile); err != nil {
			return err
		}
	}
	n.Leaf, err = leaf.New(leaf.Config{
		SiteID: site.ID, StoreDir: filepath.Join(n.cfg.Dir, "nats"), ListenAddr: n.cfg.NATSListen,
		HubURLs: n.cfg.HubURLs, HubURLsOnly: n.cfg.HubURLsOnly, CredsSeed: n.cfg.LeafSeed, Logger: n.cfg.Logger,
		HubTLS: hubTLS, ClientTLS: natsTLS, UsersFile: filepath.Join(n.cfg.Dir, natsusers.SiteFile),
	})
	if err != nil {
		return err
	}
	if err := n.Leaf.Open(ctx); err != nil {
		n.Leaf = nil
		return fmt.Errorf("start site nats: %w", err)
	}
	return nil
}

// openUplink starts, when central is configured, the uplink forwarder and
// the downlink watcher, after the leaf and the rules (the downlink applies
// central's configuration through them). Neither is on the path of a sale:
// the outbox decouples them.
func (n *Node) openUplink(ctx context.Context) error {
	if len(n.cfg.HubURLs) == 0 {
		return nil
	}
	site := n.Store.Site
	var err error
	n.Forwarder, err = forward.New(forward.Config{
		Site: site.ID, TZ: site.Timezone, Conn: n.Leaf.Conn(), Outbox: storeOutbox{n},
		BatchSize: n.cfg.ForwardBatch, Registerer: n.Metrics.Registry, Logger: n.cfg.Logger,
	})
	if err != nil {
		return err
	}
	if err := n.Forwarder.Open(ctx); err != nil {
		n.Forwarder = nil
		return fmt.Errorf("start uplink: %w", err)
	}
	n.Downlink, err = downlink.NewWatcher(downlink.WatcherConfig{
		Site: site.ID, JS: n.Leaf.JetStream(), State: storeOutbox{n}, Handle: n.applyDownlink, Logger: n.cfg.Logger,
		Conn: n.Leaf.Conn(), Connected: n.Leaf.Connected,
	})
	if err != nil {
		return err
	}
	if err := n.Downlink.Open(ctx); err != nil {
		n.Downlink = nil
		return fmt.Errorf("start downlink: %w", err)
	}
	return nil
}

// poke tells the forwarder as soon as new outbox rows are durable.
func (n *Node) poke(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-n.Writer.Appended():
			n.Forwarder.Poke()
		}
	}
}

// DefaultHeartbeatEvery is how often a site heartbeats to central unless
// Config.HeartbeatEvery says otherwise.
const DefaultHeartbeatEvery = 5 * time.Second

// heartbeat publishes the site's heartbeat over the leaf link every
// HeartbeatEvery, so central can tell this site offline from idle. Core
// NATS, not JetStream: a heartbeat lost is one that says nothing new, and
// while the link is down nobody hears it.
func (n *Node) heartbeat(ctx context.Context) error {
	every := cmp.Or(n.cfg.HeartbeatEvery, DefaultHeartbeatEvery)
	subj := envelope.SubjectHeartbeat(n.Store.Site.ID)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if nc := n.Leaf.Conn(); nc != nil && n.Leaf.Connected() {
			// A failed publish (connection closing) is the next tick's to retry.
			body, _ := json.Marshal(envelope.Heartbeat{V: envelope.Version, Time: time.Now().UTC(), Binary: n.cfg.BinaryVersion})
			_ = nc.Publish(subj, body)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// applyDownlink applies one configuration change from central through the
// rules, so it is validated, audited (performed by "central") and sent back
// up like any local change. A change the rules reject (errs.Rejected: an
// unknown machine or product, an invalid value) is logged and skipped:
// retrying would not help. Any other error is retried by the watcher.
//
// A change that writes records rev in its own transaction
// (ingest.WithDownlinkRevision): a crash after it commits cannot apply it
// again. A change that writes nothing is marked by the watcher afterwards.
func (n *Node) applyDownlink(ctx context.Context, key string, value []byte, rev uint64) error {
	ctx = ingest.WithDownlinkRevision(ctx, rev)
	log := n.log.With().Str("key", key).Uint64("revision", rev).Logger()
	if value == nil {
		return nil // a deleted key leaves the last value in force
	}
	kind, ids, err := envelope.ParseDownlinkKey(key)
	if err != nil {
		log.Warn().Err(err).Msg("downlink: skipped")
		return nil
	}
	by := fmt.Sprintf("central (downlink rev %d)", rev)
	switch kind {
	case envelope.DownlinkProduct:
		var c envelope.ProductConfig
		if err := json.Unmarshal(value, &c); err != nil {
			log.Warn().Err(err).Msg("downlink: bad product config skipped")
			return nil
		}
		p := stock.ProductPatch{LowStockLimit: c.LowStockLimit, ParLevel: c.ParLevel, CasePack: c.CasePack, Name: c.Name, Perishable: c.Perishable,
			Capacity: c.Capacity}
		if c.PriceCents != nil {
			m := wire.Money(*c.PriceCents)
			p.Price = &m
		}
		if p == (stock.ProductPatch{}) {
			return nil
		}
		_, err = n.Stock.UpdateProduct(ctx, ids[0], ids[1], p, by)
	case envelope.DownlinkMachine:
		var c envelope.MachineConfig
		if err := json.Unmarshal(value, &c); err != nil {
			log.Warn().Err(err).Msg("downlink: bad machine config skipped")
			return nil
		}
		if c.Status == nil && c.TemperatureMax == nil {
			return nil
		}
		err = n.Machines.Update(ctx, ids[0], machine.Patch{Status: c.Status, TemperatureMax: c.TemperatureMax}, by)
	case envelope.DownlinkFault:
		var c envelope.FaultUpdate
		id, perr := strconv.ParseInt(ids[0], 10, 64)
		if perr != nil || json.Unmarshal(value, &c) != nil {
			log.Warn().Msg("downlink: bad fault update skipped")
			return nil
		}
		if c.By != "" {
			by = fmt.Sprintf("%s via central (downlink rev %d)", c.By, rev)
		}
		_, err = n.Faults.Update(ctx, id, c.Status, by)
	case envelope.DownlinkDriver:
		var c envelope.DriverCredential
		if err := json.Unmarshal(value, &c); err != nil {
			log.Warn().Err(err).Msg("downlink: bad driver credential skipped")
			return nil
		}
		if err := n.Store.PutDriverClient(ctx, ids[0], c.Name, c.SecretHash, c.Revoked, time.Now()); err != nil {
			if errors.Is(err, store.ErrNotDriverClient) {
				log.Warn().Err(err).Msg("downlink: driver credential skipped")
				return nil
			}
			return err
		}
		log.Info().Str("client", ids[0]).Bool("revoked", c.Revoked).Msg("downlink: driver credential applied")
		return nil
	case envelope.DownlinkLease, envelope.DownlinkPromotion:
		err = n.applyPromotionDownlink(ctx, kind, ids[0], value, by)
	case envelope.DownlinkOrder, envelope.DownlinkOrderKey:
		err = n.applyOrderDownlink(ctx, kind, value, by)
	case envelope.DownlinkSubstitution:
		err = n.applySubstitutionDownlink(ctx, ids[0], value, by)
	}
	if errs.Rejected(err) {
		e, _ := errs.As(err)
		log.Warn().Str("code", e.Code).Msg("downlink: " + e.Message + "; skipped")
		return nil
	}
	if err == nil {
		log.Info().Msg("downlink: applied")
	}
	return err
}

// uplinkState reports the link for GET /sync.
func (n *Node) uplinkState() api.Uplink {
	u := api.Uplink{Configured: n.Forwarder != nil, Envelope: envelope.Version, Binary: n.cfg.BinaryVersion}
	if n.Leaf != nil {
		u.Connected = n.Leaf.Connected()
	}
	if n.Forwarder != nil {
		wm := n.Forwarder.Watermark()
		u.Watermark = &wm
		u.WaitingForCentral, u.CentralReads = n.Forwarder.WaitingForCentral()
	}
	return u
}
