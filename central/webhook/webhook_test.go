package webhook_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vendsync/vendsync/central/webhook"
)

func TestSign_VerifiesAndRefuses(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"alertId":1}`)
	h := webhook.Sign("whsec_x", now, body)
	tests := []struct {
		name   string
		secret string
		header string
		body   []byte
		at     time.Time
		want   error
	}{
		{"good", "whsec_x", h, body, now.Add(time.Minute), nil},
		{"other secret", "whsec_y", h, body, now, webhook.ErrBadSignature},
		{"changed body", "whsec_x", h, []byte(`{"alertId":2}`), now, webhook.ErrBadSignature},
		{"replayed late", "whsec_x", h, body, now.Add(6 * time.Minute), webhook.ErrStale},
		{"no header", "whsec_x", "", body, now, webhook.ErrNoSignature},
		{"no v1", "whsec_x", "t=1800000000", body, now, webhook.ErrNoSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := webhook.Verify(tt.secret, tt.header, tt.body, tt.at, 0); !errors.Is(got, tt.want) {
				t.Fatalf("Verify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckURL_RefusesInternalTargets(t *testing.T) {
	tests := []struct {
		name         string
		url          string
		allowPrivate bool
		ok           bool
	}{
		{"public https", "https://hooks.example.com/x", false, true},
		{"ftp", "ftp://hooks.example.com/x", false, false},
		{"file", "file:///etc/passwd", true, false},
		{"no host", "https:///x", false, false},
		{"credentials", "https://u:p@hooks.example.com/", false, false},
		{"localhost", "http://localhost:8080/", false, false},
		{"loopback v4", "http://127.0.0.1/", false, false},
		{"loopback v6", "http://[::1]/", false, false},
		{"private", "http://10.1.2.3/", false, false},
		{"link-local metadata", "http://169.254.169.254/latest/meta-data", false, false},
		{"mapped loopback", "http://[::ffff:127.0.0.1]/", false, false},
		{"cgnat", "http://100.64.1.1/", false, false},
		{"loopback allowed", "http://127.0.0.1:9/", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := webhook.CheckURL(tt.url, tt.allowPrivate); (err == nil) != tt.ok {
				t.Fatalf("CheckURL(%q) = %v, want ok %v", tt.url, err, tt.ok)
			}
		})
	}
}

// A name that resolves to loopback passes CheckURL but is refused when
// dialled: the guard is on the address, not the name.
func TestNewClient_RefusesLoopbackAtDial(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	_, port, _ := splitPort(srv.URL)
	_, err := webhook.NewClient(time.Second, false).Get("http://localhost:" + port + "/")
	if !errors.Is(err, webhook.ErrForbiddenTarget) {
		t.Fatalf("GET via localhost = %v, want ErrForbiddenTarget", err)
	}
	res, err := webhook.NewClient(time.Second, true).Get(srv.URL)
	if err != nil {
		t.Fatalf("allowed private: %v", err)
	}
	res.Body.Close()
}

func splitPort(u string) (string, string, error) {
	for i := len(u) - 1; i >= 0; i-- {
		if u[i] == ':' {
			return u[:i], u[i+1:], nil
		}
	}
	return u, "", errors.New("no port")
}

func TestBackoff_GrowsWithJitterAndCaps(t *testing.T) {
	base, maxD := time.Second, 10*time.Second
	tests := []struct {
		n    int
		r    float64
		want time.Duration
	}{
		{1, 0, 500 * time.Millisecond},
		{1, 0.999999, 999999500 * time.Nanosecond},
		{2, 0, time.Second},
		{3, 0.5, 3 * time.Second},
		{4, 0, 4 * time.Second},
		{5, 0, 5 * time.Second}, // 16 s capped at 10 s, half fixed
		{50, 1, 10 * time.Second},
	}
	for _, tt := range tests {
		if got := webhook.Backoff(tt.n, base, maxD, tt.r); got != tt.want {
			t.Errorf("Backoff(%d, r=%v) = %v, want %v", tt.n, tt.r, got, tt.want)
		}
	}
}
