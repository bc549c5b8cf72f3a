// gcload: a real Go process for the live GC test. It serves client_golang's default
// registry (its own go_* runtime metrics) on 127.0.0.1 and allocates garbage without
// pause, so go_gc_duration_seconds_count keeps rising.
//
// Usage: gcload [-port N]   (0 = any free port). Prints "port N" on stdout once listening.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// sink keeps the latest allocations reachable for a moment so the collector has work.
var sink [64][]byte

func churn() {
	for i := 0; ; i++ {
		sink[i%len(sink)] = make([]byte, 64<<10)
		if i%16 == 0 {
			// About 1 MiB per 5 ms: tens of GC cycles a second, yet a small share of a core.
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 (0 = any free port)")
	flag.Parse()

	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gcload:", err)
		os.Exit(1)
	}
	fmt.Printf("port %d\n", ln.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()

	go churn()
	http.Handle("/metrics", promhttp.Handler())
	if err := http.Serve(ln, nil); err != nil {
		fmt.Fprintln(os.Stderr, "gcload:", err)
		os.Exit(1)
	}
}
