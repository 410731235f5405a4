package forward

import "github.com/prometheus/client_golang/prometheus"

// metrics are the forwarder's Prometheus series, labelled with the site.
type metrics struct {
	depth     prometheus.Gauge
	oldest    prometheus.Gauge
	watermark prometheus.Gauge
	batches   prometheus.Counter
	resends   prometheus.Counter
	failures  prometheus.Counter
}

func newMetrics(site string) *metrics {
	l := prometheus.Labels{"site": site}
	return &metrics{
		depth: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vendsync_forward_outbox_depth",
			Help: "Outbox rows above central's watermark that the forwarder has seen.", ConstLabels: l}),
		oldest: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vendsync_forward_oldest_unsynced_timestamp_seconds",
			Help: "Event time of the oldest outbox row not yet covered by central's watermark; 0 when synced.", ConstLabels: l}),
		watermark: prometheus.NewGauge(prometheus.GaugeOpts{Name: "vendsync_forward_watermark",
			Help: "Central's contiguous watermark for this site.", ConstLabels: l}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{Name: "vendsync_forward_batches_sent_total",
			Help: "Batches acknowledged by the ingest stream.", ConstLabels: l}),
		resends: prometheus.NewCounter(prometheus.CounterOpts{Name: "vendsync_forward_resends_total",
			Help: "Resends from the watermark started because central reported a gap or stalled.", ConstLabels: l}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "vendsync_forward_publish_failures_total",
			Help: "Failed batch publishes (offline, no stream, timeout).", ConstLabels: l}),
	}
}

func (m *metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.depth, m.oldest, m.watermark, m.batches, m.resends, m.failures} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}
