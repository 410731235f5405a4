package web_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/web"
)

// nopWriter is a ResponseWriter that keeps nothing but its header map, so
// the benchmark counts what the chain itself costs.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

// BenchmarkMiddlewareChain serves one authenticated write through Mount
// (metrics, bearer token, roles, the rate limiter and a claims lookup) to a
// handler that reads a small body and answers 201 with a small JSON
// object: the HTTP plumbing a sale goes through on the server, without
// net/http's connection handling and without the sale's rules.
func BenchmarkMiddlewareChain(b *testing.B) {
	signer, err := auth.NewSigner(auth.NewKey(), "bench", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := signer.Issue(auth.Claims{ClientID: "m1", Role: auth.RoleMachine, MachineID: "VM_0001"}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	lim := web.NewLimiter(web.NoRateLimits(), nil)
	h := web.Mount([]web.Route{{Method: "POST", Pattern: "/events/sales", Roles: []auth.Role{auth.RoleMachine}}},
		map[string]web.Handler{"POST /events/sales": func(w http.ResponseWriter, r *http.Request) error {
			c, _ := web.ClaimsFrom(r.Context())
			if c.MachineID != "VM_0001" {
				b.Fatal("no claims")
			}
			if _, err := io.Copy(io.Discard, r.Body); err != nil {
				return err
			}
			web.WriteJSON(w, http.StatusCreated, map[string]string{"status": "ACCEPTED"})
			return nil
		}}, web.NewMetrics("bench"), &web.Authenticator{Signer: signer}, lim.Writes, zerolog.Nop())
	body := []byte(`{"transactionId":"tx-1","machineId":"VM_0001"}`)
	req, _ := http.NewRequest(http.MethodPost, "http://x/events/sales", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.RemoteAddr = "10.0.0.1:1234"
	rd := bytes.NewReader(body)
	b.ReportAllocs()
	for range b.N {
		rd.Reset(body)
		req.Body = io.NopCloser(rd)
		w := &nopWriter{h: http.Header{}}
		h.ServeHTTP(w, req)
	}
}
