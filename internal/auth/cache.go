package auth

import (
	"sync"
	"time"
)

// maxCached bounds how many verified tokens a Signer remembers: a site has
// a few hundred clients at most, each with one live token at a time.
const maxCached = 4096

// verified remembers tokens whose signature and issuer checked out, with
// their claims, keyed by the whole token: only the exact bytes that were
// verified ever hit. Entries are dropped once expired (when the map is
// full); a token is never remembered past its expiry, and Verify checks the
// expiry on every hit.
type verified struct {
	mu sync.RWMutex
	m  map[string]Claims
}

func (v *verified) get(token string) (Claims, bool) {
	v.mu.RLock()
	c, ok := v.m[token]
	v.mu.RUnlock()
	return c, ok
}

func (v *verified) put(token string, c Claims, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		v.m = make(map[string]Claims)
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
	v.m[token] = c
}
