package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// orders is the leak: every order the service ever saw, keyed by id, each a map of its fields,
// never evicted. It is a package global so the collector can never free it.
var orders = map[string]map[string]string{}

var orderFields = [...]string{"customer", "sku", "address", "items", "coupon", "note", "trace", "session"}

const (
	fieldBytes = 512
	tickPeriod = 100 * time.Millisecond
	mib        = 1 << 20
)

// leaker adds orders at a steady byte rate while on. All fields are guarded by mu; orders itself
// is written only by the leaking goroutine but read by the metrics under mu too.
type leaker struct {
	mu         sync.Mutex
	on         bool
	mibPerSec  float64
	maxBytes   int64
	retained   int64
	next       int64
	stopSignal chan struct{}
}

func newLeaker(mibPerSec, maxMiB float64) *leaker {
	return &leaker{mibPerSec: mibPerSec, maxBytes: int64(maxMiB * mib)}
}

// start turns the leak on (a no-op when it already runs); rate > 0 replaces the rate.
func (l *leaker) start(rate float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if rate > 0 {
		l.mibPerSec = rate
	}
	if l.on {
		return
	}
	l.on = true
	l.stopSignal = make(chan struct{})
	go l.run(l.stopSignal)
}

// stop stops adding orders; what leaked stays reachable.
func (l *leaker) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.on {
		l.on = false
		close(l.stopSignal)
	}
}

func (l *leaker) status() (on bool, rate float64, retained, count int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.on, l.mibPerSec, l.retained, int64(len(orders))
}

// run paces the leak on elapsed time, not tick count, so a descheduled process catches up and
// the heap climbs at the configured rate on a loaded machine too.
func (l *leaker) run(stop <-chan struct{}) {
	ticker := time.NewTicker(tickPeriod)
	defer ticker.Stop()
	last := time.Now()
	budget := 0.0
	for {
		select {
		case <-stop:
			return
		case now := <-ticker.C:
			l.mu.Lock()
			budget += l.mibPerSec * mib * now.Sub(last).Seconds()
			for budget > 0 && (l.maxBytes == 0 || l.retained < l.maxBytes) {
				budget -= float64(l.addOrder())
			}
			if l.maxBytes != 0 && l.retained >= l.maxBytes {
				budget = 0 // capped: nothing to catch up on later
			}
			l.mu.Unlock()
			last = now
		}
	}
}

// addOrder stores one order and returns the bytes of strings it retained. Building each field in
// a scratch buffer also leaves as much garbage as it keeps, like request handling does.
func (l *leaker) addOrder() int {
	id := fmt.Sprintf("order-%012d", l.next)
	l.next++
	order := make(map[string]string, len(orderFields))
	size := len(id)
	for i, field := range orderFields {
		scratch := make([]byte, fieldBytes)
		for j := range scratch {
			scratch[j] = 'a' + byte((int(l.next)+i+j)%26)
		}
		order[field] = string(scratch)
		size += len(field) + fieldBytes
	}
	orders[id] = order
	l.retained += int64(size)
	return size
}

// Describe and Collect export the leak's own progress next to the runtime's metrics.
var (
	retainedDesc = prometheus.NewDesc("leaky_retained_bytes", "Bytes of order strings leaked so far.", nil, nil)
	ordersDesc   = prometheus.NewDesc("leaky_orders", "Orders held in the leaking map.", nil, nil)
	leakingDesc  = prometheus.NewDesc("leaky_leaking", "1 while the leak is on.", nil, nil)
)

func (l *leaker) Describe(ch chan<- *prometheus.Desc) {
	ch <- retainedDesc
	ch <- ordersDesc
	ch <- leakingDesc
}

func (l *leaker) Collect(ch chan<- prometheus.Metric) {
	on, _, retained, count := l.status()
	leaking := 0.0
	if on {
		leaking = 1
	}
	ch <- prometheus.MustNewConstMetric(retainedDesc, prometheus.GaugeValue, float64(retained))
	ch <- prometheus.MustNewConstMetric(ordersDesc, prometheus.GaugeValue, float64(count))
	ch <- prometheus.MustNewConstMetric(leakingDesc, prometheus.GaugeValue, leaking)
}
