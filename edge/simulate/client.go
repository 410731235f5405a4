package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrAuth is returned (wrapped) by Run when the edge refuses the client
// credentials.
var ErrAuth = errors.New("edge refused the credentials")

// APIError is a non-2xx answer of the edge, decoded from its
// {"error":{"code","message","field"}} body. Code is HTTP_<status> when the
// body has no code.
type APIError struct {
	Status  int
	Code    string
	Message string
	Field   string
}

// Error describes the answer: status, code, message and field.
func (e *APIError) Error() string {
	s := fmt.Sprintf("edge answered %d %s", e.Status, e.Code)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Field != "" {
		s += " (field " + e.Field + ")"
	}
	return s
}

func decodeAPIError(status int, body []byte) *APIError {
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	e := &APIError{Status: status}
	if json.Unmarshal(body, &env) == nil && env.Error.Code != "" {
		e.Code, e.Message, e.Field = env.Error.Code, env.Error.Message, env.Error.Field
	} else {
		e.Code = "HTTP_" + strconv.Itoa(status)
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200]
		}
	}
	return e
}

// transient reports whether a request that got status may succeed if sent
// again unchanged.
func transient(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
}

const maxBackoff = 5 * time.Second

// client talks to the edge API: it holds the access token, refreshes it
// before expiry and on a 401, and retries transient failures with back-off.
// Retrying is safe because every write the simulator makes is idempotent
// (sales and faults carry an Idempotency-Key, PATCH sets an absolute value).
type client struct {
	base        string
	id, secret  string
	hc          *http.Client
	maxAttempts int
	backoff     time.Duration
	// retried is told about every failure that is retried.
	retried func(code string)

	mu        sync.Mutex
	tok       string
	refreshAt time.Time
	tokens    int64 // tokens fetched
}

func newClient(cfg *Config, retried func(string)) *client {
	hc := cfg.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cfg.Concurrency
		hc = &http.Client{Timeout: 15 * time.Second, Transport: tr}
	}
	return &client{
		base:        strings.TrimRight(cfg.EdgeURL, "/"),
		id:          cfg.ClientID,
		secret:      cfg.ClientSecret,
		hc:          hc,
		maxAttempts: cfg.MaxAttempts,
		backoff:     cfg.RetryBackoff,
		retried:     retried,
	}
}

// token returns a valid access token, fetching one if there is none or it is
// about to expire. Concurrent callers wait for one fetch. It returns an error
// wrapping ErrAuth when the edge refuses the credentials.
func (c *client) token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != "" && time.Now().Before(c.refreshAt) {
		return c.tok, nil
	}
	body, _ := json.Marshal(map[string]string{
		"client_id":     c.id,
		"client_secret": c.secret,
		"grant_type":    "client_credentials",
	})
	var (
		r   reply
		err error
	)
	for attempt := 1; ; attempt++ {
		r, err = c.send(ctx, http.MethodPost, "/auth/token", body, "", "")
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if (err == nil && !transient(r.status)) || attempt >= c.maxAttempts {
			break
		}
		code := "NETWORK"
		if err == nil {
			code = decodeAPIError(r.status, r.body).Code
		}
		c.retried(code)
		if err := sleep(ctx, max(r.retryAfter, c.backoffFor(attempt))); err != nil {
			return "", err
		}
	}
	if err != nil {
		return "", fmt.Errorf("get token: %w", err)
	}
	status, resp := r.status, r.body
	if status/100 != 2 {
		e := decodeAPIError(status, resp)
		if status >= 400 && status < 500 {
			return "", fmt.Errorf("get token: %w: %w", ErrAuth, e)
		}
		return "", fmt.Errorf("get token: %w", e)
	}
	var tr struct {
		AccessToken string  `json:"access_token"`
		ExpiresIn   float64 `json:"expires_in"`
	}
	if err := json.Unmarshal(resp, &tr); err != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("get token: unexpected answer %.200q", resp)
	}
	life := time.Duration(tr.ExpiresIn * float64(time.Second))
	if life <= 0 {
		life = time.Minute
	}
	// Refresh a little early so a request never carries a token that expires
	// on its way.
	c.tok = tr.AccessToken
	c.refreshAt = time.Now().Add(life - min(time.Minute, life/10))
	c.tokens++
	return c.tok, nil
}

// invalidate forgets tok (after a 401) unless a newer token replaced it.
func (c *client) invalidate(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok == tok {
		c.tok = ""
	}
}

func (c *client) tokenCount() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokens
}

// do sends an authenticated request. A 401 refreshes the token and resends
// once; connection failures, 5xx and 429 are resent with exponential back-off
// up to maxAttempts tries, with the same body and idempotency key. It returns
// a 2xx answer, an *APIError for any other final answer, a wrapped ErrAuth
// when the credentials are refused, or the transport error after the last
// try.
func (c *client) do(ctx context.Context, method, path string, body []byte, idemKey string) (reply, error) {
	refreshed := false
	for attempt := 1; ; attempt++ {
		tok, err := c.token(ctx)
		if err != nil {
			return reply{}, err
		}
		r, err := c.send(ctx, method, path, body, tok, idemKey)
		var code string
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return reply{}, ctx.Err()
			}
			code = "NETWORK"
		case r.status/100 == 2:
			return r, nil
		case r.status == http.StatusUnauthorized && !refreshed:
			// The token expired early or the edge restarted with a new key.
			refreshed = true
			c.invalidate(tok)
			c.retried(decodeAPIError(r.status, r.body).Code)
			attempt--
			continue
		case transient(r.status):
			code = decodeAPIError(r.status, r.body).Code
		default:
			return r, decodeAPIError(r.status, r.body)
		}
		if attempt >= c.maxAttempts {
			if err != nil {
				return reply{}, fmt.Errorf("%s %s: %w", method, path, err)
			}
			return r, decodeAPIError(r.status, r.body)
		}
		c.retried(code)
		if err := sleep(ctx, max(r.retryAfter, c.backoffFor(attempt))); err != nil {
			return reply{}, err
		}
	}
}

// backoffFor is the pause after the attempt-th failure: doubling from
// c.backoff, capped at maxBackoff, with ±20% jitter so workers spread out.
func (c *client) backoffFor(attempt int) time.Duration {
	d := c.backoff << min(attempt-1, 20)
	if d <= 0 || d > maxBackoff {
		d = maxBackoff
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// reply is an HTTP answer.
type reply struct {
	status     int
	body       []byte
	retryAfter time.Duration // from a Retry-After header in seconds, capped
	// replayed: the edge answered an idempotent request with its first
	// result (200, or an Idempotent-Replayed: true header).
	replayed bool
}

func (c *client) send(ctx context.Context, method, path string, body []byte, tok, idemKey string) (reply, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return reply{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer res.Body.Close()
	r := reply{
		status:   res.StatusCode,
		replayed: res.StatusCode == http.StatusOK || strings.EqualFold(res.Header.Get("Idempotent-Replayed"), "true"),
	}
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
		r.retryAfter = min(time.Duration(s)*time.Second, maxBackoff)
	}
	if r.body, err = io.ReadAll(io.LimitReader(res.Body, 8<<20)); err != nil {
		return reply{}, err
	}
	return r, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
