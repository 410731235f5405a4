package web

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/internal/errs"
)

// Metrics are the HTTP metrics of one server.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	rejected *prometheus.CounterVec
	duration *prometheus.HistogramVec

	// The children of requests and duration by label values, looked up
	// once: WithLabelValues hashes and allocates on every call.
	mu      sync.RWMutex
	counted map[routeCode]prometheus.Counter
	timed   map[string]prometheus.Observer
}

type routeCode struct {
	route string
	code  int
}

// observe counts one answered request and its latency.
func (m *Metrics) observe(route string, code int, d time.Duration) {
	m.mu.RLock()
	c, okc := m.counted[routeCode{route, code}]
	o, oko := m.timed[route]
	m.mu.RUnlock()
	if !okc || !oko {
		m.mu.Lock()
		if m.counted == nil {
			m.counted, m.timed = map[routeCode]prometheus.Counter{}, map[string]prometheus.Observer{}
		}
		if c, okc = m.counted[routeCode{route, code}]; !okc {
			c = m.requests.WithLabelValues(route, strconv.Itoa(code))
			m.counted[routeCode{route, code}] = c
		}
		if o, oko = m.timed[route]; !oko {
			o = m.duration.WithLabelValues(route)
			m.timed[route] = o
		}
		m.mu.Unlock()
	}
	c.Inc()
	o.Observe(d.Seconds())
}

// NewMetrics returns a registry with Go and process collectors and the HTTP
// request metrics, named with prefix (e.g. "vendsync_edge").
func NewMetrics(prefix string) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: prefix + "_http_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: prefix + "_http_rejected_total", Help: "Requests answered with a 4xx error, by route and error code.",
		}, []string{"route", "error"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: prefix + "_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.rejected, m.duration)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// CountRejected counts one rejected item (e.g. a bad event inside a batch that
// itself answered 200).
func (m *Metrics) CountRejected(route, code string) { m.rejected.WithLabelValues(route, code).Inc() }

type recorder struct {
	http.ResponseWriter
	status  int
	errCode string
	cause   error
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Instrument wraps a mux: it records every request's route pattern, status and
// latency, counts 4xx answers by error code, and logs 5xx answers with their
// cause (errors are logged here, at the boundary, not where they occur).
func (m *Metrics) Instrument(next http.Handler, log zerolog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		m.observe(route, rec.status, time.Since(start))
		switch {
		case rec.status >= 500 && r.Context().Err() != nil:
			// The client went away (or the server is shutting down): not a fault.
			log.Debug().Err(rec.cause).Str("route", route).Msg("request cancelled")
		case rec.status == http.StatusServiceUnavailable && errs.KindOf(rec.cause) == errs.Unavailable:
			// A known state (storage full, catching up): whoever owns it
			// logs its changes, not every request it refuses.
		case rec.status >= 500:
			log.Error().Err(rec.cause).Str("route", route).Int("status", rec.status).Msg("request failed")
		case rec.status >= 400:
			code := rec.errCode
			if code == "" {
				code = strconv.Itoa(rec.status)
			}
			m.rejected.WithLabelValues(route, code).Inc()
		}
	})
}
