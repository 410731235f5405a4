// Package client calls vendsync's two HTTP APIs: a site's edge API (Edge)
// and central's HQ API (HQ). Both sign in with client credentials (POST
// /auth/token), keep the token until shortly before it expires, sign in
// again once when a token is refused, and can resend requests that failed
// for a transient reason. Answers decode into the wire types of
// internal/edgeapi and internal/hqapi, which the servers answer with.
//
// Every error answer is an *Error (status, code, field, message); a request
// that got no answer wraps ErrUnreachable; refused credentials wrap ErrAuth.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrUnreachable is wrapped by the error of a request that got no answer
// (connection refused, timeout, no URL configured): it may be sent again.
var ErrUnreachable = errors.New("unreachable")

// ErrAuth is wrapped by the error of a request whose credentials the API
// refused when signing in (a 4xx answer to POST /auth/token).
var ErrAuth = errors.New("credentials refused")

// Error is an error answer of the API, decoded from its
// {"error": {"code", "message", "field"}} body. Code is HTTP_<status> when
// the body has none.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
}

// Error says what was refused: code, message, field and HTTP status.
func (e *Error) Error() string {
	s := e.Code
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Field != "" {
		s += " (field " + e.Field + ")"
	}
	return s + " [HTTP " + strconv.Itoa(e.Status) + "]"
}

// HasCode reports whether err is, or wraps, an *Error with code.
func HasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// Retryable reports whether the request that failed with err may succeed
// if sent again unchanged later: no answer, or a transient failure of the
// server (5xx, 429, 408).
func Retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return transient(e.Status)
	}
	return errors.Is(err, ErrUnreachable)
}

func transient(status int) bool {
	return status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout
}

func decodeError(status int, body []byte) *Error {
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	e := &Error{Status: status}
	if json.Unmarshal(body, &env) == nil && env.Error.Code != "" {
		e.Code, e.Message, e.Field = env.Error.Code, env.Error.Message, env.Error.Field
		return e
	}
	e.Code = "HTTP_" + strconv.Itoa(status)
	e.Message = strings.TrimSpace(string(body))
	if len(e.Message) > 200 {
		e.Message = e.Message[:200] + "…"
	}
	return e
}

// Credentials are API client credentials, as in the
// {"client_id", "client_secret"} files vendsync writes.
type Credentials struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

// ReadCredentials reads a {"client_id", "client_secret"} file. It returns
// an error naming the file when it cannot be read or lacks either field.
func ReadCredentials(path string) (Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Credentials{}, fmt.Errorf("read credentials: %w", err)
	}
	var c Credentials
	if err := json.Unmarshal(b, &c); err != nil {
		return Credentials{}, fmt.Errorf("read credentials %s: %w", path, err)
	}
	if c.ClientID == "" || c.ClientSecret == "" {
		return Credentials{}, fmt.Errorf("read credentials %s: client_id and client_secret are required", path)
	}
	return c, nil
}

// BaseURL turns what a user typed for an API's address into a base URL:
// "http://host:port" and "https://host:port" are kept (without a trailing
// slash), and a bare "host:port" gets https://, since every vendsync API
// serves TLS unless it was started with --insecure-http (then say http://).
// Anything else is an error saying what is wrong.
func BaseURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("no URL given (want https://host:port)")
	}
	if !strings.Contains(s, "://") {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return "", fmt.Errorf("%q: want https://host:port or host:port", s)
		}
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q: want https://host:port (%v)", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%q: the scheme must be http or https, not %q", s, u.Scheme)
	}
	if u.Host == "" {
		return "", fmt.Errorf("%q: no host (want https://host:port)", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("%q: want https://host:port with no query, fragment or user", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// Options tune a client. The zero value is usable: a 30 s timeout per
// request and no resending.
type Options struct {
	// HTTP sends the requests (default: a client with a 30 s timeout).
	HTTP *http.Client
	// MaxAttempts is how many times a request that failed for a transient
	// reason (no answer, 5xx, 429, 408) is sent in all; 0 or 1 sends once.
	// Only idempotent requests should be resent: every write the edge and
	// central take carries an idempotency key or sets an absolute value.
	MaxAttempts int
	// Backoff is the first pause between attempts (default 100 ms),
	// doubled after each, capped at 5 s, with ±20% jitter; a Retry-After
	// answer stretches it.
	Backoff time.Duration
	// OnRetry, when set, is told the error code (NETWORK when there was no
	// answer) of every failure that is retried, and of every refused token
	// that is renewed.
	OnRetry func(code string)
	// Now is the clock tokens expire by (default time.Now).
	Now func() time.Time
	// TLS, when set, is the TLS configuration for https URLs, typically
	// one that pins the fleet's CA (tlsca). It replaces the transport of
	// HTTP (or of the default client).
	TLS *tls.Config
}

const maxBackoff = 5 * time.Second

// conn is an authenticated JSON-over-HTTP connection to one API.
type conn struct {
	base  string
	creds Credentials
	opts  Options

	mu        sync.Mutex
	tok       string
	refreshAt time.Time
	tokens    int64
}

func newConn(base string, creds Credentials, o Options) (*conn, error) {
	b, err := BaseURL(base)
	if err != nil {
		return nil, err
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	if o.TLS != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = o.TLS
		hc := *o.HTTP
		hc.Transport = tr
		o.HTTP = &hc
	}
	if o.MaxAttempts < 1 {
		o.MaxAttempts = 1
	}
	if o.Backoff <= 0 {
		o.Backoff = 100 * time.Millisecond
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &conn{base: b, creds: creds, opts: o}, nil
}

// URL is the API's base URL.
func (c *conn) URL() string { return c.base }

// Tokens is how many access tokens the client has fetched.
func (c *conn) Tokens() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokens
}

// SignIn fetches an access token unless the client holds one that is not
// about to expire. Concurrent callers wait for one fetch. It returns an
// error wrapping ErrAuth (and the *Error) when the credentials are refused.
func (c *conn) SignIn(ctx context.Context) error {
	_, err := c.token(ctx)
	return err
}

func (c *conn) token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != "" && c.opts.Now().Before(c.refreshAt) {
		return c.tok, nil
	}
	body, err := json.Marshal(map[string]string{
		"client_id": c.creds.ClientID, "client_secret": c.creds.ClientSecret, "grant_type": "client_credentials",
	})
	if err != nil {
		return "", err
	}
	var ans reply
	for attempt := 1; ; attempt++ {
		ans, err = c.send(ctx, http.MethodPost, "/auth/token", body, "", nil)
		if err == nil && ans.status/100 == 2 {
			break
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if err == nil && !transient(ans.status) {
			e := decodeError(ans.status, ans.body)
			if ans.status >= 400 && ans.status < 500 {
				return "", fmt.Errorf("sign in to %s: %w: %w", c.base, ErrAuth, e)
			}
			return "", fmt.Errorf("sign in to %s: %w", c.base, e)
		}
		if attempt >= c.opts.MaxAttempts {
			if err != nil {
				return "", fmt.Errorf("sign in: %w", err)
			}
			return "", fmt.Errorf("sign in to %s: %w", c.base, decodeError(ans.status, ans.body))
		}
		if err := c.pause(ctx, attempt, ans, err); err != nil {
			return "", err
		}
	}
	var tr struct {
		AccessToken string  `json:"access_token"`
		ExpiresIn   float64 `json:"expires_in"`
	}
	if err := json.Unmarshal(ans.body, &tr); err != nil || tr.AccessToken == "" {
		return "", fmt.Errorf("sign in to %s: unexpected answer %.200q", c.base, ans.body)
	}
	life := time.Duration(tr.ExpiresIn * float64(time.Second))
	if life <= 0 {
		life = time.Minute
	}
	// Renew a little early so a request never carries a token that expires
	// on its way.
	c.tok = tr.AccessToken
	c.refreshAt = c.opts.Now().Add(life - min(time.Minute, life/10))
	c.tokens++
	return c.tok, nil
}

// invalidate forgets tok (after a 401) unless a newer token replaced it.
func (c *conn) invalidate(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok == tok {
		c.tok = ""
	}
}

// pause waits before the next attempt; it tells OnRetry why.
func (c *conn) pause(ctx context.Context, attempt int, ans reply, err error) error {
	code := "NETWORK"
	if err == nil {
		code = decodeError(ans.status, ans.body).Code
	}
	if c.opts.OnRetry != nil {
		c.opts.OnRetry(code)
	}
	d := c.opts.Backoff << min(attempt-1, 20)
	if d <= 0 || d > maxBackoff {
		d = maxBackoff
	}
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	t := time.NewTimer(max(d, ans.retryAfter))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// reply is an HTTP answer.
type reply struct {
	status     int
	header     http.Header
	body       []byte
	retryAfter time.Duration // from a Retry-After header in seconds, capped
}

// replayed reports whether the API answered an idempotent write with its
// first result (the Idempotent-Replayed header).
func (r reply) replayed() bool {
	return strings.EqualFold(r.header.Get("Idempotent-Replayed"), "true")
}

// Do sends an authenticated request: in (nil: no body) as JSON, and a
// successful answer decoded into out (nil: dropped; a *json.RawMessage
// keeps it as is). header holds extra name, value pairs. A refused token
// is renewed and the request resent once; transient failures are resent
// up to Options.MaxAttempts. It returns an *Error for an error answer, an
// error wrapping ErrAuth when the credentials are refused, and one wrapping
// ErrUnreachable when no answer came.
func (c *conn) Do(ctx context.Context, method, path string, in, out any, header ...string) error {
	_, err := c.do(ctx, method, path, in, out, header...)
	return err
}

func (c *conn) do(ctx context.Context, method, path string, in, out any, header ...string) (reply, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return reply{}, fmt.Errorf("%s %s: encode: %w", method, path, err)
		}
	}
	return c.exchange(ctx, method, path, body, out, header)
}

// exchange sends body (already encoded) with the token, renewing the token
// once on a 401 and retrying transient failures up to MaxAttempts, and
// decodes a 2xx answer into out.
func (c *conn) exchange(ctx context.Context, method, path string, body []byte, out any, header []string) (reply, error) {
	renewed := false
	for attempt := 1; ; attempt++ {
		tok, err := c.token(ctx)
		if err != nil {
			return reply{}, err
		}
		ans, err := c.send(ctx, method, path, body, tok, header)
		switch {
		case err != nil && ctx.Err() != nil:
			return reply{}, ctx.Err()
		case err == nil && ans.status/100 == 2:
			if out != nil {
				if err := json.Unmarshal(ans.body, out); err != nil {
					return ans, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
				}
			}
			return ans, nil
		case err == nil && ans.status == http.StatusUnauthorized && !renewed:
			// The token expired early or the API restarted with a new key.
			renewed = true
			c.invalidate(tok)
			if c.opts.OnRetry != nil {
				c.opts.OnRetry(decodeError(ans.status, ans.body).Code)
			}
			attempt--
			continue
		case err == nil && !transient(ans.status):
			return ans, decodeError(ans.status, ans.body)
		}
		if attempt >= c.opts.MaxAttempts {
			if err != nil {
				return reply{}, err
			}
			return ans, decodeError(ans.status, ans.body)
		}
		if err := c.pause(ctx, attempt, ans, err); err != nil {
			return reply{}, err
		}
	}
}

// send makes one request; a transport failure wraps ErrUnreachable.
func (c *conn) send(ctx context.Context, method, path string, body []byte, tok string, header []string) (reply, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return reply{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.opts.HTTP.Do(req)
	if err != nil {
		return reply{}, c.unreachable(method, path, err)
	}
	defer res.Body.Close()
	r := reply{status: res.StatusCode, header: res.Header}
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
		r.retryAfter = min(time.Duration(s)*time.Second, maxBackoff)
	}
	if r.body, err = io.ReadAll(io.LimitReader(res.Body, 64<<20)); err != nil {
		return reply{}, c.unreachable(method, path, err)
	}
	return r, nil
}

func (c *conn) unreachable(method, path string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("%s %s%s: %w (%v)", method, c.base, path, ErrUnreachable, err)
}

// stream sends in as JSON and copies a successful answer to w as it
// arrives, calling progress (if set) with the bytes so far. It returns the
// bytes copied. No timeout but ctx bounds it: an export may take long.
func (c *conn) stream(ctx context.Context, method, path string, in any, w io.Writer, progress func(int64)) (int64, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return 0, fmt.Errorf("%s %s: encode: %w", method, path, err)
	}
	renewed := false
	for {
		tok, err := c.token(ctx)
		if err != nil {
			return 0, err
		}
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", method, path, err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		hc := *c.opts.HTTP
		hc.Timeout = 0
		res, err := hc.Do(req)
		if err != nil {
			return 0, c.unreachable(method, path, err)
		}
		if res.StatusCode == http.StatusUnauthorized && !renewed {
			res.Body.Close()
			renewed = true
			c.invalidate(tok)
			continue
		}
		defer res.Body.Close()
		if res.StatusCode/100 != 2 {
			data, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
			return 0, decodeError(res.StatusCode, data)
		}
		var n int64
		buf := make([]byte, 32<<10)
		for {
			k, rerr := res.Body.Read(buf)
			if k > 0 {
				if _, err := w.Write(buf[:k]); err != nil {
					return n, err
				}
				n += int64(k)
				if progress != nil {
					progress(n)
				}
			}
			if rerr == io.EOF {
				return n, nil
			}
			if rerr != nil {
				return n, fmt.Errorf("%s %s: cut short after %d bytes: %w", method, path, n, rerr)
			}
		}
	}
}

// query encodes params as a query string ("" values left out), with a
// leading "?" when there is any.
func query(params ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		if params[i+1] != "" {
			v.Set(params[i], params[i+1])
		}
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

func itoa(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}
