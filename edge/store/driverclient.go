package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vendsync/vendsync/sync/envelope"
)

// ErrNotDriverClient is returned by PutDriverClient for a client id that is
// not a central-made driver credential (or names a local client).
var ErrNotDriverClient = errors.New("not a central driver credential")

// PutDriverClient creates or replaces a DRIVER client made at central for
// a driver whose route includes this site (the downlink carries it): its
// id starts with envelope.DriverClientPrefix, only its secret's hash is
// known here, and revoked stops it working (and cannot be undone by a
// later put). It returns ErrNotDriverClient for another id or for an id a
// local client of another role holds, so the downlink can never replace a
// site's own credentials.
func (s *Store) PutDriverClient(ctx context.Context, clientID, name string, secretHash []byte, revoked bool, at time.Time) error {
	if !strings.HasPrefix(clientID, envelope.DriverClientPrefix+"_") || len(secretHash) == 0 {
		return fmt.Errorf("put driver client %q: %w", clientID, ErrNotDriverClient)
	}
	var rev any
	if revoked {
		rev = at.UnixMilli()
	}
	res, err := s.DB.W.ExecContext(ctx, `INSERT INTO clients (client_id, secret_hash, role, name, created_at, revoked_at) VALUES (?1, ?2, 'DRIVER', ?3, ?4, ?5)
		ON CONFLICT(client_id) DO UPDATE SET secret_hash = excluded.secret_hash, name = excluded.name,
			revoked_at = COALESCE(clients.revoked_at, excluded.revoked_at)
		WHERE clients.role = 'DRIVER'`, clientID, secretHash, name, at.UnixMilli(), rev)
	if err != nil {
		return fmt.Errorf("put driver client: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("put driver client %q: %w", clientID, ErrNotDriverClient)
	}
	if err := s.DB.Durable(); err != nil {
		return fmt.Errorf("put driver client: %w", err)
	}
	if revoked {
		s.markRevoked(clientID)
	}
	return nil
}

// markRevoked adds clientID to the in-memory set of revoked clients.
func (s *Store) markRevoked(clientID string) {
	for {
		old := s.revoked.Load()
		if _, ok := (*old)[clientID]; ok {
			return
		}
		next := make(map[string]struct{}, len(*old)+1)
		for id := range *old {
			next[id] = struct{}{}
		}
		next[clientID] = struct{}{}
		if s.revoked.CompareAndSwap(old, &next) {
			return
		}
	}
}
