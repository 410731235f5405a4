package hqauth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"

	"github.com/vendsync/vendsync/internal/auth"
)

// keyOrders holds the ed25519 seed that signs pickup tokens (sync/pickup).
const keyOrders = "order-signing-key"

// OrderKey returns the fleet's key for pickup tokens, shared by every
// central node through the bucket and created on first use. Sites get its
// public half through the downlink and verify tokens with it offline.
func (s *Store) OrderKey(ctx context.Context) (ed25519.PrivateKey, error) {
	seed, err := s.createOnce(ctx, keyOrders, func() ([]byte, error) {
		b := make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		return b, nil
	})
	if err != nil {
		return nil, fmt.Errorf("order key: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("order key is %d bytes, need %d", len(seed), ed25519.SeedSize)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// AddCustomer creates the credentials of a new customer (role CUSTOMER)
// and returns its id, which is the customer's opaque token in its orders,
// and its secret (not kept). No personal data is asked or stored.
func (s *Store) AddCustomer(ctx context.Context) (clientID, secret string, err error) {
	c, secret, err := s.addClient(ctx, auth.RoleCustomer, "customer", nil)
	if err != nil {
		return "", "", err
	}
	return c.ID, secret, nil
}
