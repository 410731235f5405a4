// Package portcheck tells, before a server writes anything or starts
// anything, whether the addresses it is about to listen on are free, so a
// port already in use is one clear line naming the setting instead of a
// half-started server.
package portcheck

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// Listener is an address a server will listen on and the setting (a flag,
// e.g. "--http") it comes from.
type Listener struct {
	Setting, Addr string
}

// Free listens on each address and closes it again. It skips empty
// addresses and random ports (0 or -1), and returns an error naming the
// first address that cannot be listened on and its setting. (Another
// process may still take a port between this check and the real listen;
// that is reported by the server itself.)
func Free(ls ...Listener) error {
	for _, l := range ls {
		if l.Addr == "" {
			continue
		}
		host, port, err := net.SplitHostPort(l.Addr)
		if err != nil {
			return fmt.Errorf("%s %q: not host:port", l.Setting, l.Addr)
		}
		if port == "0" || port == "-1" {
			continue
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
		if err != nil {
			if errors.Is(err, syscall.EADDRINUSE) {
				return fmt.Errorf("%s %s: port %s is already in use (another vendsync, or another program, listens there); choose another with %s", l.Setting, l.Addr, port, l.Setting)
			}
			var oe *net.OpError
			if errors.As(err, &oe) && oe.Err != nil {
				err = oe.Err
			}
			return fmt.Errorf("%s %s: cannot listen there: %v", l.Setting, l.Addr, err)
		}
		ln.Close()
	}
	return nil
}
