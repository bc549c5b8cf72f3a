// SPDX-License-Identifier: MIT
//
// A tiny client_golang program whose /metrics the exposition fixtures were captured from
// (tests/tools/capture-expositions.sh). It registers the Go and process collectors, as a real
// service does, plus a few metrics with awkward label values and exemplars, and runs some GC
// cycles so the GC series are not zero. It prints its address and serves until killed.
//
// Build (GOPATH mode, Debian packages only):
//   GO111MODULE=off GOPATH=/usr/share/gocode go build -o golang-exporter ./tests/tools/golang-exporter
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

var sink [][]byte

func churn() {
	for i := 0; i < 200; i++ {
		sink = append(sink, make([]byte, 64<<10))
		if len(sink) > 32 {
			sink = sink[:0]
		}
	}
	runtime.GC()
}

func register(reg *prometheus.Registry) {
	reg.MustRegister(collectors.NewGoCollector())
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "demo_requests_total", Help: "Requests served, by path.",
	}, []string{"path", "code"})
	reg.MustRegister(requests)
	requests.WithLabelValues("/", "200").Add(41)
	requests.WithLabelValues(`/q?a="b"&c={d,e}`, "200").Add(2)
	requests.WithLabelValues("/x\\y\nz", "500").Inc()
	requests.WithLabelValues("demo_requests_total 999", "200").Add(3)
	requests.WithLabelValues("/trace", "200").(prometheus.ExemplarAdder).AddWithExemplar(
		5, prometheus.Labels{"trace_id": "4bf92f3577b34da6"})

	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "demo_request_duration_seconds", Help: "Request latency.",
		Buckets: []float64{0.005, 0.05, 0.5, 5},
	}, []string{"path"})
	reg.MustRegister(latency)
	for i, v := range []float64{0.001, 0.02, 0.3, 0.3, 7} {
		o := latency.WithLabelValues("/")
		if i == 2 {
			o.(prometheus.ExemplarObserver).ObserveWithExemplar(v, prometheus.Labels{"trace_id": "a1"})
		} else {
			o.Observe(v)
		}
	}

	size := prometheus.NewSummary(prometheus.SummaryOpts{
		Name: "demo_response_size_bytes", Help: "Response sizes.",
		Objectives: map[float64]float64{0.5: 0.05, 0.99: 0.001},
	})
	reg.MustRegister(size)
	for _, v := range []float64{512, 1024, 4096} {
		size.Observe(v)
	}

	temp := prometheus.NewGauge(prometheus.GaugeOpts{Name: "demo_temperature_celsius", Help: "A negative gauge."})
	reg.MustRegister(temp)
	temp.Set(-3.25)
}

func main() {
	reg := prometheus.NewRegistry()
	register(reg)
	for i := 0; i < 5; i++ {
		churn()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr().String())
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	if err := http.Serve(ln, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
