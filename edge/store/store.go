// Package store is the edge's SQLite store: the site's identity, API clients,
// and every read the edge API serves. Writes that change the site's facts go
// through package ingest, the single writer; this package only reads them.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"

	"github.com/vendsync/vendsync/internal/auth"
	"github.com/vendsync/vendsync/internal/secfile"
	"github.com/vendsync/vendsync/internal/sqlite"
	"github.com/vendsync/vendsync/migrations"
	"github.com/vendsync/vendsync/sync/envelope"
)

// dbOptions open a site's database. A site's hot pages (aggregates, stock,
// the recent end of sales and the outbox) fit in 8 MB a connection; the
// default 32 MB took the process to 100 MB under load (issue 14: ≤ 64 MB).
var dbOptions = sqlite.Options{CacheKiB: 8000}

// DBFile is the site database's file name inside the data directory.
const DBFile = "site.db"

// Errors returned by the store.
var (
	ErrNotInitialized = errors.New("site is not initialized")
	ErrInitialized    = errors.New("site is already initialized")
	ErrNotFound       = errors.New("not found")
	ErrBadCredentials = errors.New("unknown client or wrong secret")
)

// Site is the site's identity.
type Site struct {
	ID       string
	Name     string
	City     string
	Timezone string
	Loc      *time.Location
	TokenKey []byte
}

// Store is an open site database.
type Store struct {
	DB   *sqlite.DB
	Site Site

	// revoked is the set of revoked client ids, kept in memory so that a
	// request checks it without a query: RevokeClient updates it at once,
	// RefreshAuth picks up revocations made by other processes.
	revoked atomic.Pointer[map[string]struct{}]
	// lotsHint is the length of Lots' last answer: the next one's array
	// is made that size, not grown by appends.
	lotsHint atomic.Int64
	aggHint  atomic.Int64 // the same for SalesAgg
}

// SiteInit describes a new site.
type SiteInit struct {
	ID, Name, City, Timezone string
}

// Validate names the first bad field.
func (s SiteInit) Validate() error {
	if err := envelope.ValidateSiteID(s.ID); err != nil {
		return fmt.Errorf("site: %w", err)
	}
	if s.Timezone == "" {
		return errors.New("timezone: required (an IANA name such as Asia/Kolkata)")
	}
	if _, err := time.LoadLocation(s.Timezone); err != nil {
		return fmt.Errorf("timezone %q: not a known IANA timezone", s.Timezone)
	}
	return nil
}

// Init creates the site database in dir. It fails with ErrInitialized if the
// directory already holds a site.
func Init(ctx context.Context, dir string, s SiteInit) (*Store, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if _, err := secfile.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, DBFile), migrations.Edge, dbOptions)
	if err != nil {
		return nil, err
	}
	var n int
	if err := db.W.QueryRowContext(ctx, `SELECT COUNT(*) FROM site`).Scan(&n); err != nil {
		db.Close()
		return nil, fmt.Errorf("read site: %w", err)
	}
	if n > 0 {
		db.Close()
		return nil, fmt.Errorf("%w in %s", ErrInitialized, dir)
	}
	if _, err := db.W.ExecContext(ctx, `INSERT INTO site (id, site_id, name, city, timezone, token_key, created_at) VALUES (1, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.Name, s.City, s.Timezone, auth.NewKey(), time.Now().UnixMilli()); err != nil {
		db.Close()
		return nil, fmt.Errorf("create site: %w", err)
	}
	return load(ctx, db)
}

// Open opens the initialized site database in dir.
func Open(ctx context.Context, dir string) (*Store, error) {
	path := filepath.Join(dir, DBFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: no %s in %s (run `vendsync edge init` first)", ErrNotInitialized, DBFile, dir)
	}
	db, err := sqlite.Open(ctx, path, migrations.Edge, dbOptions)
	if err != nil {
		return nil, err
	}
	return load(ctx, db)
}

func load(ctx context.Context, db *sqlite.DB) (*Store, error) {
	var s Site
	err := db.QueryRow(ctx, `SELECT site_id, name, city, timezone, token_key FROM site WHERE id = 1`).
		Scan(&s.ID, &s.Name, &s.City, &s.Timezone, &s.TokenKey)
	if errors.Is(err, sql.ErrNoRows) {
		db.Close()
		return nil, ErrNotInitialized
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("read site: %w", err)
	}
	if s.Loc, err = time.LoadLocation(s.Timezone); err != nil {
		db.Close()
		return nil, fmt.Errorf("site timezone %q: %w", s.Timezone, err)
	}
	st := &Store{DB: db, Site: s}
	if _, err := st.RefreshAuth(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return st, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.DB.Close() }

// Client is an API client (the seed's users table).
type Client struct {
	ClientID  string
	Role      auth.Role
	MachineID string
	Name      string
	CreatedAt time.Time
	Revoked   bool
}

// AddClient creates credentials with role (bound to machineID for MACHINE)
// and returns the client and its secret, which is stored only hashed. A
// MACHINE client's machine must be registered at the site: otherwise it
// returns an error wrapping ErrNotFound.
func (s *Store) AddClient(ctx context.Context, role auth.Role, machineID, name string) (Client, string, error) {
	if !slices.Contains(auth.EdgeRoles, role) {
		return Client{}, "", fmt.Errorf("role: a site issues %v, not %s (an HQ role)", auth.EdgeRoles, role)
	}
	if role == auth.RoleMachine && machineID == "" {
		return Client{}, "", errors.New("machine: a MACHINE client must be bound to a machine id")
	}
	if role != auth.RoleMachine && machineID != "" {
		return Client{}, "", fmt.Errorf("machine: only MACHINE clients are bound to a machine, not %s", role)
	}
	if machineID != "" {
		var n int
		if err := s.DB.W.QueryRowContext(ctx, `SELECT count(*) FROM vending_machines WHERE machine_id = ?`, machineID).Scan(&n); err != nil {
			return Client{}, "", fmt.Errorf("add client: find machine: %w", err)
		}
		if n == 0 {
			return Client{}, "", fmt.Errorf("machine %q is not registered at this site (register it first: vendsync provision machine or POST /machines): %w", machineID, ErrNotFound)
		}
	}
	prefix := map[auth.Role]string{auth.RoleMachine: "mch", auth.RoleDriver: "drv", auth.RoleOps: "ops", auth.RoleFinance: "fin", auth.RoleAdmin: "adm"}[role]
	c := Client{ClientID: auth.NewClientID(prefix), Role: role, MachineID: machineID, Name: name, CreatedAt: time.Now()}
	secret := auth.NewSecret()
	var mid any
	if machineID != "" {
		mid = machineID
	}
	if _, err := s.DB.W.ExecContext(ctx, `INSERT INTO clients (client_id, secret_hash, role, machine_id, name, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ClientID, auth.HashSecret(secret), string(role), mid, name, c.CreatedAt.UnixMilli()); err != nil {
		return Client{}, "", fmt.Errorf("add client: %w", err)
	}
	if err := s.DB.Durable(); err != nil {
		return Client{}, "", fmt.Errorf("add client: %w", err)
	}
	return c, secret, nil
}

// RevokeClient revokes a client: it can get no new token. It returns
// ErrNotFound for an unknown client.
func (s *Store) RevokeClient(ctx context.Context, clientID string) error {
	res, err := s.DB.W.ExecContext(ctx, `UPDATE clients SET revoked_at = ? WHERE client_id = ? AND revoked_at IS NULL`, time.Now().UnixMilli(), clientID)
	if err != nil {
		return fmt.Errorf("revoke client: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("client %q: %w", clientID, ErrNotFound)
	}
	if err := s.DB.Durable(); err != nil {
		return fmt.Errorf("revoke client: %w", err)
	}
	for {
		old := s.revoked.Load()
		next := make(map[string]struct{}, len(*old)+1)
		for id := range *old {
			next[id] = struct{}{}
		}
		next[clientID] = struct{}{}
		if s.revoked.CompareAndSwap(old, &next) {
			return nil
		}
	}
}

// Revoked reports whether clientID's credentials were revoked (by this
// process, or by another one before the last RefreshAuth).
func (s *Store) Revoked(clientID string) bool {
	_, ok := (*s.revoked.Load())[clientID]
	return ok
}

// ListClients lists every client, newest first.
func (s *Store) ListClients(ctx context.Context) ([]Client, error) {
	rows, err := s.DB.Query(ctx, `SELECT client_id, role, COALESCE(machine_id, ''), name, created_at, revoked_at IS NOT NULL FROM clients ORDER BY created_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	defer rows.Close()
	var out []Client
	for rows.Next() {
		var c Client
		var created int64
		if err := rows.Scan(&c.ClientID, &c.Role, &c.MachineID, &c.Name, &created, &c.Revoked); err != nil {
			return nil, fmt.Errorf("list clients: %w", err)
		}
		c.CreatedAt = time.UnixMilli(created)
		out = append(out, c)
	}
	return out, rows.Err()
}

// Authenticate checks client credentials. It returns ErrBadCredentials for
// an unknown, revoked or wrong-secret client (without saying which).
func (s *Store) Authenticate(ctx context.Context, clientID, secret string) (Client, error) {
	var c Client
	var hash []byte
	var revoked sql.NullInt64
	err := s.DB.QueryRow(ctx, `SELECT client_id, secret_hash, role, COALESCE(machine_id, ''), name, revoked_at FROM clients WHERE client_id = ?`, clientID).
		Scan(&c.ClientID, &hash, &c.Role, &c.MachineID, &c.Name, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		auth.CheckSecret(auth.HashSecret(""), secret) // same work either way
		return Client{}, ErrBadCredentials
	}
	if err != nil {
		return Client{}, fmt.Errorf("authenticate: %w", err)
	}
	if !auth.CheckSecret(hash, secret) || revoked.Valid {
		return Client{}, ErrBadCredentials
	}
	return c, nil
}

// RefreshAuth rereads the revoked clients and returns the current token
// signing key: both may be changed by another process (`vendsync edge client
// revoke`, `vendsync edge rotate-key`).
func (s *Store) RefreshAuth(ctx context.Context) (tokenKey []byte, err error) {
	if err := s.DB.QueryRow(ctx, `SELECT token_key FROM site WHERE id = 1`).Scan(&tokenKey); err != nil {
		return nil, fmt.Errorf("read token key: %w", err)
	}
	rows, err := s.DB.Query(ctx, `SELECT client_id FROM clients WHERE revoked_at IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("read revoked clients: %w", err)
	}
	defer rows.Close()
	revoked := map[string]struct{}{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("read revoked clients: %w", err)
		}
		revoked[id] = struct{}{}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read revoked clients: %w", err)
	}
	s.revoked.Store(&revoked)
	return tokenKey, nil
}

// RotateTokenKey replaces the key that signs access tokens with a new
// random one: every token signed before is refused from then on (a running
// edge rereads the key within its auth refresh interval), and clients get
// new tokens from POST /auth/token with their unchanged credentials.
func (s *Store) RotateTokenKey(ctx context.Context) error {
	if _, err := s.DB.W.ExecContext(ctx, `UPDATE site SET token_key = ? WHERE id = 1`, auth.NewKey()); err != nil {
		return fmt.Errorf("rotate token key: %w", err)
	}
	if err := s.DB.Durable(); err != nil {
		return fmt.Errorf("rotate token key: %w", err)
	}
	return nil
}

// RecordAuthFailure writes a refused token request for clientID to the
// audit log (entity "client", action AUTH_FAILED or AUTH_LOCKED_OUT for the
// failure that locked it out, performed by "ip:<remote>") when the client
// exists; a guessed id that matches no client writes nothing.
func (s *Store) RecordAuthFailure(ctx context.Context, clientID, remoteIP, reason string, at time.Time) error {
	action := "AUTH_FAILED"
	if reason == "LOCKED_OUT" {
		action = "AUTH_LOCKED_OUT"
	}
	detail, err := json.Marshal(map[string]string{"remote": remoteIP, "reason": reason})
	if err != nil {
		return fmt.Errorf("audit auth failure: %w", err)
	}
	if _, err := s.DB.W.ExecContext(ctx, `INSERT INTO audit_logs (entity_type, entity_id, action, performed_by, performed_at, detail)
		SELECT 'client', ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM clients WHERE client_id = ?1)`,
		clientID, action, "ip:"+remoteIP, at.UnixMilli(), string(detail)); err != nil {
		return fmt.Errorf("audit auth failure: %w", err)
	}
	if err := s.DB.Durable(); err != nil {
		return fmt.Errorf("audit auth failure: %w", err)
	}
	return nil
}

// pruneBatch is how many rows one prune statement deletes: small enough
// that the writer (sales) never waits long behind a prune.
const pruneBatch = 5000

// Prune deletes raw telemetry whose event time is before telemetryBefore
// and audit rows performed before auditBefore (a zero time keeps them
// all), a batch at a time, and returns how many rows of each it deleted.
// Aggregates, alerts and machine state are not touched: telemetry rows are
// only raw history.
func (s *Store) Prune(ctx context.Context, telemetryBefore, auditBefore time.Time) (telemetry, audit int64, err error) {
	del := func(q string, before time.Time) (int64, error) {
		if before.IsZero() {
			return 0, nil
		}
		var total int64
		for {
			res, err := s.DB.W.ExecContext(ctx, q, before.UnixMilli(), pruneBatch)
			if err != nil {
				return total, err
			}
			n, _ := res.RowsAffected()
			total += n
			if n < pruneBatch {
				return total, nil
			}
		}
	}
	if telemetry, err = del(`DELETE FROM telemetry_events WHERE id IN (SELECT id FROM telemetry_events WHERE event_time < ? LIMIT ?)`, telemetryBefore); err != nil {
		return telemetry, 0, fmt.Errorf("prune telemetry: %w", err)
	}
	if audit, err = del(`DELETE FROM audit_logs WHERE id IN (SELECT id FROM audit_logs WHERE performed_at < ? LIMIT ?)`, auditBefore); err != nil {
		return telemetry, audit, fmt.Errorf("prune audit log: %w", err)
	}
	return telemetry, audit, nil
}
