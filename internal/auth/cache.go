package auth

import (
	"sync"
	"time"
)

// maxCached bounds how many verified tokens a Signer remembers: a site has
// a few hundred clients at most, each with one live token at a time.
const maxCached = 4096

// verified remembers tokens whose signature and claims checked out, with
// their claims and the key that checked them, keyed by the whole token:
// only the exact bytes that were verified ever hit, and only while that key
// is the signer's key. Entries are dropped once expired (when the map is
// full); Verify checks the times on every hit.
type verified struct {
	mu sync.RWMutex
	m  map[string]verifiedToken
}

type verifiedToken struct {
	Claims
	key *[]byte
}

func (v *verified) get(token string, key *[]byte) (Claims, bool) {
	v.mu.RLock()
	e, ok := v.m[token]
	v.mu.RUnlock()
	if !ok || e.key != key {
		return Claims{}, false
	}
	return e.Claims, true
}

func (v *verified) put(token string, key *[]byte, c Claims, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		v.m = make(map[string]verifiedToken)
	}
	if len(v.m) >= maxCached {
		for k, e := range v.m {
			if now.Unix() >= e.ExpiresAt {
				delete(v.m, k)
			}
		}
		if len(v.m) >= maxCached {
			clear(v.m) // all live: start again rather than track use
		}
	}
	v.m[token] = verifiedToken{c, key}
}
