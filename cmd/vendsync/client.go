package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vendsync/vendsync/edge"
	"github.com/vendsync/vendsync/internal/tlsca"
)

// apiClient calls a vendsync HTTP API (edge or central) with client
// credentials, fetching a token first.
type apiClient struct {
	base  string
	creds edge.Credentials
	http  *http.Client
	token string
}

// newAPIClient returns a client of the API at base with the credentials in
// credsFile; for an https:// base it trusts only the CA certificate in
// caFile (the system's roots when caFile is empty).
func newAPIClient(base, credsFile, caFile string) (*apiClient, error) {
	if base == "" {
		return nil, fmt.Errorf("--central is required (e.g. https://127.0.0.1:9080)")
	}
	if credsFile == "" {
		return nil, fmt.Errorf("--credentials is required (the {\"client_id\",\"client_secret\"} file, e.g. DIR/admin-credentials.json)")
	}
	creds, err := edge.ReadCredentials(credsFile)
	if err != nil {
		return nil, err
	}
	hc, err := httpClient(caFile, 30*time.Second)
	if err != nil {
		return nil, err
	}
	return &apiClient{base: strings.TrimRight(base, "/"), creds: creds, http: hc}, nil
}

// httpClient is an HTTP client with timeout that, for https:// URLs,
// trusts only the CA certificate in caFile (the system's roots when empty).
func httpClient(caFile string, timeout time.Duration) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if caFile != "" {
		cfg, err := tlsca.ClientConfig(caFile)
		if err != nil {
			return nil, fmt.Errorf("--ca: %w", err)
		}
		tr.TLSClientConfig = cfg
	}
	return &http.Client{Timeout: timeout, Transport: tr}, nil
}

// caFlag is the root's --ca: the CA certificate clients pin for https://.
func caFlag(cmd *cobra.Command) string {
	ca, _ := cmd.Flags().GetString("ca")
	return ca
}

// apiError is an error answer of the API.
type apiError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

func (e *apiError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s (%d %s, field %s)", e.Message, e.Status, e.Code, e.Field)
	}
	return fmt.Sprintf("%s (%d %s)", e.Message, e.Status, e.Code)
}

func (c *apiClient) login(ctx context.Context) error {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := c.raw(ctx, http.MethodPost, "/auth/token", map[string]string{
		"client_id": c.creds.ClientID, "client_secret": c.creds.ClientSecret, "grant_type": "client_credentials",
	}, &tok, false); err != nil {
		return fmt.Errorf("log in to %s: %w", c.base, err)
	}
	c.token = tok.AccessToken
	return nil
}

// do sends body as JSON (nil: none) and decodes the answer into out (nil: drop).
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	if c.token == "" {
		if err := c.login(ctx); err != nil {
			return err
		}
	}
	return c.raw(ctx, method, path, body, out, true)
}

func (c *apiClient) raw(ctx context.Context, method, path string, body, out any, auth bool) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if auth {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error apiError `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error.Code == "" {
			return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
		}
		e.Error.Status = resp.StatusCode
		return &e.Error
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}
