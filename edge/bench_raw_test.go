package edge_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawConn is a lean HTTP/1.1 keep-alive client for one connection: the
// request goes out in one write from a reused buffer and the answer is read
// by its Content-Length. It stands for a load generator on another machine
// (like wrk): Go's net/http client spends about 40 µs of CPU per request in
// the benchmark's process, which on this 2-core machine is taken from the
// site under test.
type rawConn struct {
	c    net.Conn
	r    *bufio.Reader
	req  []byte
	host string
	auth string
}

func dialRaw(addr, token string) (*rawConn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &rawConn{c: c, r: bufio.NewReaderSize(c, 4096), host: addr, auth: "Bearer " + token}, nil
}

// post sends body to path and returns the answer's status and body.
func (rc *rawConn) post(path string, body []byte) (int, []byte, error) {
	b := rc.req[:0]
	b = append(b, "POST "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, rc.host...)
	b = append(b, "\r\nContent-Type: application/json\r\nAuthorization: "...)
	b = append(b, rc.auth...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\n\r\n"...)
	b = append(b, body...)
	rc.req = b
	if _, err := rc.c.Write(b); err != nil {
		return 0, nil, err
	}
	line, err := rc.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	// "HTTP/1.1 201 Created\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	n := -1
	for {
		h, err := rc.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		if len(h) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(h, []byte(":")); ok {
			switch {
			case bytes.EqualFold(k, []byte("Content-Length")):
				if n, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
					return 0, nil, fmt.Errorf("bad Content-Length %q", v)
				}
			case bytes.EqualFold(k, []byte("Transfer-Encoding")):
				return 0, nil, errors.New("chunked answers are not read by this client")
			}
		}
	}
	if n < 0 {
		return 0, nil, errors.New("answer without Content-Length")
	}
	out := make([]byte, n)
	if _, err := io.ReadFull(rc.r, out); err != nil {
		return 0, nil, err
	}
	return status, out, nil
}

// BenchmarkSaleHTTPLeanClient is BenchmarkSaleHTTP with the lean client
// above in place of net/http's: the same site, sales and durability, less
// of the 2 cores spent generating the load.
func BenchmarkSaleHTTPLeanClient(b *testing.B) {
	for _, clients := range []int{1, 64} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			s := newBenchSite(b, b.TempDir(), 10, 20)
			defer s.node.Close()
			conns := make([]*rawConn, clients)
			for c := range conns {
				rc, err := dialRaw(s.node.Addr(), s.token)
				if err != nil {
					b.Fatal(err)
				}
				defer rc.c.Close()
				conns[c] = rc
			}
			lat := make([][]time.Duration, clients)
			var next atomic.Int64
			var failed atomic.Int64
			ts := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
			tx0 := s.node.Writer.Transactions()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for c, rc := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var body []byte
					for {
						i := int(next.Add(1)) - 1
						if i >= b.N {
							return
						}
						n := txSeq.Add(1)
						m, p := s.machines[i%len(s.machines)], s.products[(i/len(s.machines))%len(s.products)]
						price := 10 + (i/len(s.machines))%len(s.products)
						body = fmt.Appendf(body[:0], `{"transactionId":"tx-%d","machineId":%q,"productId":%q,"quantity":1,"amount":%d,"paymentMethod":"CARD","timestamp":%q}`,
							n, m, p, price, ts)
						t0 := time.Now()
						status, ans, err := rc.post("/events/sales", body)
						lat[c] = append(lat[c], time.Since(t0))
						if err != nil || status != 201 {
							if failed.Add(1) == 1 {
								b.Errorf("sale %d: status %d, %v: %s", i, status, err, ans)
							}
							return
						}
					}
				}()
			}
			wg.Wait()
			el := time.Since(start)
			b.StopTimer()
			if failed.Load() > 0 {
				return
			}
			b.ReportMetric(float64(b.N)/el.Seconds(), "sales/s")
			b.ReportMetric(float64(b.N)/float64(s.node.Writer.Transactions()-tx0), "sales/commit")
			reportLatency(b, slices.Concat(lat...))
		})
	}
}
