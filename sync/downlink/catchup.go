package downlink

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/vendsync/vendsync/sync/envelope"
)

// catchUpTimeout bounds one catch-up: creating the consumer and receiving
// what was pending when it was created.
const catchUpTimeout = 10 * time.Second

// catchUp applies the changes after last straight from central's CONFIG
// bucket, through an ephemeral push consumer filtered to the site's keys
// and delivered on the site's downlink prefix (all a site's credentials
// allow; see central/siteauth). It stops once it has applied what was
// pending when the consumer was created, and returns the last revision
// applied. The mirror delivers the same changes later with the same
// revisions, and the watcher skips them.
func (w *Watcher) catchUp(ctx context.Context, last uint64) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, catchUpTimeout)
	defer cancel()
	nc, site := w.cfg.Conn, w.cfg.Site
	name := "catchup_" + nuid.Next()
	deliver := envelope.DownlinkDeliverPrefix(site) + ".catchup." + name
	msgs := make(chan *nats.Msg, 256)
	sub, err := nc.ChanSubscribe(deliver, msgs)
	if err != nil {
		return last, fmt.Errorf("subscribe: %w", err)
	}
	defer sub.Unsubscribe()
	if err := nc.FlushWithContext(ctx); err != nil {
		return last, fmt.Errorf("flush: %w", err)
	}

	stream := "KV_" + envelope.BucketConfig
	filter := envelope.ConfigFilterSubject(site)
	req, err := json.Marshal(struct {
		Stream string                   `json:"stream_name"`
		Config jetstream.ConsumerConfig `json:"config"`
	}{stream, jetstream.ConsumerConfig{
		Name: name, DeliverSubject: deliver, FilterSubject: filter,
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: last + 1,
		AckPolicy: jetstream.AckNonePolicy, MaxDeliver: 1, MemoryStorage: true, Replicas: 1,
		InactiveThreshold: 5 * time.Second,
	}})
	if err != nil {
		return last, err
	}
	subject := "$JS." + envelope.HubDomain + ".API.CONSUMER.CREATE." + stream + "." + name + "." + filter
	resp, err := nc.RequestWithContext(ctx, subject, req)
	if err != nil {
		return last, fmt.Errorf("create consumer: %w", err)
	}
	var info struct {
		NumPending uint64 `json:"num_pending"`
		Error      *struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(resp.Data, &info); err != nil {
		return last, fmt.Errorf("create consumer: %w", err)
	}
	if info.Error != nil {
		return last, fmt.Errorf("create consumer: %d %s", info.Error.Code, info.Error.Description)
	}
	prefix := envelope.ConfigKeyPrefix(site)
	kvPrefix := "$KV." + envelope.BucketConfig + "."
	start := last
	for pending := info.NumPending; pending > 0; pending-- {
		var m *nats.Msg
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("after revision %d: %w", last, ctx.Err())
		case m = <-msgs:
		}
		md, err := m.Metadata()
		if err != nil {
			if len(m.Data) == 0 {
				pending++ // a heartbeat or flow control, not a change
				continue
			}
			return last, fmt.Errorf("change metadata: %w", err)
		}
		rev := md.Sequence.Stream
		if rev <= last {
			continue
		}
		var value []byte
		switch m.Header.Get("KV-Operation") {
		case "DEL", "PURGE":
		default:
			value = m.Data
			if value == nil {
				value = []byte{}
			}
		}
		// A push consumer delivers each message with its stream subject.
		key, _ := strings.CutPrefix(m.Subject, kvPrefix)
		if err := w.apply(ctx, prefix, key, value, rev); err != nil {
			return last, err
		}
		last = rev
		if md.NumPending == 0 {
			break
		}
	}
	if last > start {
		w.log.Info().Uint64("from", start+1).Uint64("to", last).Msg("caught up from central after reconnect")
	}
	return last, nil
}
