#!/usr/bin/env bash
# A real Prometheus server on loopback for the tests (Debian's prometheus). Source after
# common.sh.

# prometheus_start INTERVAL_MS TARGET...: starts a server on a free port that scrapes each
# TARGET (HOST:PORT) every INTERVAL_MS, with a fresh TSDB under $TEST_TMP; sets prom (its URL)
# and prom_pid. A port taken before prometheus bound it is tried again (three ports at most).
prometheus_start() {
	local interval=$1 port try targets
	shift
	targets=$(printf "'%s', " "$@")
	for try in 1 2 3; do
		port=$(free_port)
		prom=http://127.0.0.1:$port
		cat >"$TEST_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: ${interval}ms
  scrape_timeout: ${interval}ms
  evaluation_interval: ${interval}ms
scrape_configs:
  - job_name: oombreaker
    static_configs:
      - targets: [${targets%, }]
EOF
		rm -rf "$TEST_TMP/tsdb"
		: >"$TEST_TMP/prometheus.log"
		spawn prometheus prometheus --config.file="$TEST_TMP/prometheus.yml" \
			--storage.tsdb.path="$TEST_TMP/tsdb" --web.listen-address="127.0.0.1:$port" \
			--log.level=warn
		prom_pid=$SPAWN_PID
		wait_until 60 eval "curl -sf '$prom/-/ready' >/dev/null || ! _group_alive $prom_pid" || true
		if curl -sf "$prom/-/ready" >/dev/null; then
			log "prometheus $(prometheus --version 2>&1 | awk 'NR == 1 { print $3 }') ready on $prom"
			return 0
		fi
		_group_alive "$prom_pid" && fail "prometheus not ready within 60 s"
		spawn_kill "$prom_pid" || true
		grep -q 'address already in use' "$TEST_TMP/prometheus.log" ||
			fail "prometheus exited at start (see prometheus.log)"
		log "prometheus: port $port was taken (try $try); another one"
	done
	fail "prometheus found no free port"
}
