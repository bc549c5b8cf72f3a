/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The HTTP listener (libmicrohttpd): GET /metrics, /status and /healthz.
 *
 * It runs on libmicrohttpd's own thread and only ever serves the last snapshot the loop
 * published with server_publish(); it never touches the loop's live state.
 */

#include <stdint.h>

/*
 * Limits against slow or many clients (slowloris): one address holds at most
 * SERVER_PER_IP_MAX connections, a connection silent for SERVER_IDLE_S is closed, and of the
 * SERVER_CONNECTIONS_MAX connections the last SERVER_LOOPBACK_RESERVE are only for loopback
 * peers, so the node's own scrapes and probes get through whatever remote peers do.
 */
#define SERVER_CONNECTIONS_MAX   256
#define SERVER_PER_IP_MAX        16
#define SERVER_LOOPBACK_RESERVE  32
#define SERVER_IDLE_S            5
#define SERVER_CONNECTION_MEMORY (32 * 1024) /* bytes of request buffer per connection */

struct server;

/*
 * Starts listening on listen ("127.0.0.1:9782", "[::1]:9782"). Returns 0 and sets *ret,
 * -EINVAL for a malformed address, -EADDRINUSE or another -errno when it cannot listen.
 */
int server_start(const char *listen, struct server **ret);

/*
 * Replaces the snapshot (copied): the Prometheus text for /metrics, the JSON for
 * /status, and when the last tick finished (CLOCK_MONOTONIC, µs) with the tick interval
 * (µs); /healthz answers 200 while now - tick_end_us <= 3 intervals, else 503.
 * Returns 0 or -ENOMEM (the old snapshot is then kept).
 */
int server_publish(struct server *s, const char *metrics, const char *status_json,
                   uint64_t tick_end_us, uint64_t interval_us);

/* The TCP port actually bound (useful with port 0). */
uint16_t server_port(const struct server *s);

/* Stops the listener and frees it; NULL is fine. Returns NULL. */
struct server *server_stop(struct server *s);
