// Command waitport returns once a TCP address accepts a connection, or
// fails after a timeout. scripts/edge-rss.sh times a cold start with it: a
// shell loop that tries the port forks a process per try, which competes
// with the starting edge for the CPU and added ~30 ms on a 2-core machine.
//
//	waitport [-timeout 10s] 127.0.0.1:18556
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	timeout := flag.Duration("timeout", 10*time.Second, "give up after this long")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: waitport [-timeout 10s] host:port")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	addr := flag.Arg(0)
	deadline := time.Now().Add(*timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "waitport: %s did not accept a connection within %s: %v\n", addr, *timeout, err)
			os.Exit(1)
		}
		time.Sleep(200 * time.Microsecond)
	}
}
