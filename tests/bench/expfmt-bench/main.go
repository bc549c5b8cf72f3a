// SPDX-License-Identifier: MIT
//
// Parse throughput of Go's expfmt.TextParser (Debian golang-github-prometheus-common-dev): parses
// FILE for at least SECONDS and prints "mb_per_s=X".
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o expfmt-bench ./tests/bench/expfmt-bench
package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/common/expfmt"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: expfmt-bench FILE [SECONDS]")
		os.Exit(2)
	}
	body, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	seconds := 3.0
	if len(os.Args) > 2 {
		if seconds, err = strconv.ParseFloat(os.Args[2], 64); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	var parser expfmt.TextParser
	runs, families := 0, 0
	start := time.Now()
	for {
		mfs, err := parser.TextToMetricFamilies(bytes.NewReader(body))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		families = len(mfs)
		runs++
		if time.Since(start).Seconds() >= seconds {
			break
		}
	}
	elapsed := time.Since(start).Seconds()
	fmt.Printf("runs=%d families=%d seconds=%.3f mb_per_s=%.2f\n", runs, families, elapsed,
		float64(len(body))*float64(runs)/elapsed/1e6)
}
