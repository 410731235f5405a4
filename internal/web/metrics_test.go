package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// gathered is the value of every series of metric name, by its labels
// joined with commas in name order (counters: their count; histograms:
// their sample count).
func gathered(t *testing.T, m *Metrics, name string) map[string]float64 {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, l.GetValue())
			}
			v := s.GetCounter().GetValue()
			if h := s.GetHistogram(); h != nil {
				v = float64(h.GetSampleCount())
			}
			out[strings.Join(labels, ",")] = v
		}
	}
	return out
}

// Instrument counts each request under its route and status, and times it,
// however many requests share a route.
func TestInstrument_CountsByRouteAndStatus(t *testing.T) {
	m := NewMetrics("t")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /a/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "missing" {
			WriteError(w, r, NotFound("id", "no such thing"))
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	h := m.Instrument(mux, zerolog.Nop())
	for _, path := range []string{"/a/1", "/a/2", "/a/3", "/a/missing", "/nowhere"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	tests := []struct {
		name   string
		metric string
		want   map[string]float64
	}{
		{"requests", "t_http_requests_total", map[string]float64{"201,GET /a/{id}": 3, "404,GET /a/{id}": 1, "404,unmatched": 1}},
		{"rejected", "t_http_rejected_total", map[string]float64{"NOT_FOUND,GET /a/{id}": 1, "404,unmatched": 1}},
		{"duration", "t_http_request_duration_seconds", map[string]float64{"GET /a/{id}": 4, "unmatched": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := gathered(t, m, tc.metric)
			if len(got) != len(tc.want) {
				t.Fatalf("%s = %v, want %v", tc.metric, got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("%s = %v, want %v", tc.metric, got, tc.want)
				}
			}
		})
	}
}
