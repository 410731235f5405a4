package aggregator

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	events       *prometheus.CounterVec
	batches      *prometheus.CounterVec
	lag          prometheus.Gauge
	applySeconds prometheus.Histogram
	fetchErrors  prometheus.Counter
}

func newMetrics(durable string) *metrics {
	labels := prometheus.Labels{"consumer": durable}
	return &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "vendsync", Subsystem: "aggregator", Name: "events_total", ConstLabels: labels,
			Help: "Events in applied batches, by result: applied (new), duplicate (already present), skipped (undecodable data).",
		}, []string{"result"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "vendsync", Subsystem: "aggregator", Name: "batches_total", ConstLabels: labels,
			Help: "Stream messages handled, by result: applied, terminated (malformed), retry (store failed), too_new (kept for an upgraded node).",
		}, []string{"result"}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "vendsync", Subsystem: "aggregator", Name: "lag_messages", ConstLabels: labels,
			Help: "Messages in the stream not yet delivered to this consumer, as of the last message.",
		}),
		applySeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "vendsync", Subsystem: "aggregator", Name: "apply_seconds", ConstLabels: labels,
			Help:    "Time of one read-model transaction: one batch, or a group of batches during a catch-up.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		fetchErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "vendsync", Subsystem: "aggregator", Name: "fetch_errors_total", ConstLabels: labels,
			Help: "Fetches from the stream that failed.",
		}),
	}
}

func (m *metrics) register(r prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.events, m.batches, m.lag, m.applySeconds, m.fetchErrors} {
		if err := r.Register(c); err != nil {
			return err
		}
	}
	return nil
}
