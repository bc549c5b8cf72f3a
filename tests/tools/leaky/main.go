// Command leaky is the incident's order service, reduced to what oombreaker watches: it answers
// HTTP requests with its instance name, exports the Go runtime's real metrics on /metrics, and on
// demand leaks orders into a global map[string]map[string]string, as the service in the incident
// did. The heap climbs steadily; once it nears the memory limit the collector runs ever more often.
//
// Built in GOPATH mode against Debian's golang-github-prometheus-client-golang-dev
// (scripts/lib/build-leaky.sh); no module downloads.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type options struct {
	listen        string
	portFile      string
	name          string
	leak          bool
	leakMiBPerSec float64
	leakMaxMiB    float64
	memoryLimit   string
	limitRatio    float64
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.listen, "listen", "127.0.0.1:8080", "HTTP listen address (port 0 picks one)")
	flag.StringVar(&o.portFile, "port-file", "", "write the bound port here (atomically) once listening")
	flag.StringVar(&o.name, "name", "stable", "instance name answered on GET /")
	flag.BoolVar(&o.leak, "leak", false, "start leaking at once (else on POST /leak)")
	flag.Float64Var(&o.leakMiBPerSec, "leak-mb-per-sec", 8, "leak rate in MiB of order data per second")
	flag.Float64Var(&o.leakMaxMiB, "leak-max-mb", 0, "stop leaking after this many MiB (0: never stop)")
	flag.StringVar(&o.memoryLimit, "memory-limit", "auto",
		"Go soft memory limit: auto (a ratio of the cgroup's limit, like automemlimit), off, or bytes")
	flag.Float64Var(&o.limitRatio, "memory-limit-ratio", 0.9, "share of the cgroup limit used by -memory-limit=auto")
	flag.Parse()
	if flag.NArg() > 0 || o.leakMiBPerSec <= 0 || o.leakMiBPerSec > 1024 || o.leakMaxMiB < 0 ||
		o.limitRatio <= 0 || o.limitRatio > 1 {
		fmt.Fprintln(os.Stderr, "leaky: invalid arguments (see -help)")
		os.Exit(2)
	}
	return o
}

// applyMemoryLimit sets the runtime's soft limit. Near it the collector runs back to back, which is
// how a leaking Go service in a container shows a climbing GC rate before the OOM kill.
func applyMemoryLimit(o options) {
	var limit int64
	switch o.memoryLimit {
	case "off":
		return
	case "auto":
		bytes, err := cgroupMemoryLimit()
		if err != nil {
			log.Printf("leaky %s: no cgroup memory limit (%v); no soft limit", o.name, err)
			return
		}
		limit = int64(float64(bytes) * o.limitRatio)
	default:
		v, err := strconv.ParseInt(o.memoryLimit, 10, 64)
		if err != nil || v <= 0 {
			log.Fatalf("leaky: -memory-limit %q: want auto, off or a byte count", o.memoryLimit)
		}
		limit = v
	}
	debug.SetMemoryLimit(limit)
	log.Printf("leaky %s: Go soft memory limit %d MiB", o.name, limit>>20)
}

func main() {
	o := parseFlags()
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	applyMemoryLimit(o)

	l := newLeaker(o.leakMiBPerSec, o.leakMaxMiB)
	prometheus.MustRegister(l)
	if o.leak {
		l.start(0)
	}

	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		log.Fatalf("leaky %s: listen %s: %v", o.name, o.listen, err)
	}
	if o.portFile != "" {
		if err := writePortFile(o.portFile, ln.Addr().(*net.TCPAddr).Port); err != nil {
			log.Fatalf("leaky %s: %v", o.name, err)
		}
	}
	srv := &http.Server{Handler: routes(o.name, l), ReadHeaderTimeout: 5 * time.Second}
	log.Printf("leaky %s: listening on %s (pid %d)", o.name, ln.Addr(), os.Getpid())

	done := make(chan struct{})
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		close(done)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("leaky %s: serve: %v", o.name, err)
	}
	<-done
	log.Printf("leaky %s: stopped", o.name)
}

// writePortFile writes the port through a temp file and a rename, so a reader never sees half of it.
func writePortFile(path string, port int) error {
	tmp := fmt.Sprintf("%s.tmp.%d", path, os.Getpid())
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(port)+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func routes(name string, l *leaker) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Instance", name)
		fmt.Fprintln(w, name)
	})
	mux.HandleFunc("/leak", func(w http.ResponseWriter, r *http.Request) {
		handleLeak(w, r, name, l)
	})
	return mux
}

// handleLeak: POST /leak[?mb_per_sec=N] starts (or re-rates) the leak, DELETE /leak stops adding
// to it (what leaked stays leaked), GET /leak reports.
func handleLeak(w http.ResponseWriter, r *http.Request, name string, l *leaker) {
	switch r.Method {
	case http.MethodPost:
		rate := 0.0
		if s := r.URL.Query().Get("mb_per_sec"); s != "" {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil || v <= 0 || v > 1024 {
				http.Error(w, "mb_per_sec: want a number in (0, 1024]", http.StatusBadRequest)
				return
			}
			rate = v
		}
		l.start(rate)
		log.Printf("leaky %s: leak on", name)
	case http.MethodDelete:
		l.stop()
		log.Printf("leaky %s: leak off", name)
	case http.MethodGet:
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	on, rate, retained, orders := l.status()
	fmt.Fprintf(w, "{\"leaking\":%t,\"mb_per_sec\":%g,\"retained_bytes\":%d,\"orders\":%d}\n",
		on, rate, retained, orders)
}
