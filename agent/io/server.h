/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The HTTP listener (libmicrohttpd): GET /metrics, /status and /healthz.
 *
 * It runs on the loop's own thread: the loop polls server_pollfd() and calls
 * server_dispatch(), and a page is rendered by the loop's callback only when a client asks
 * for it, from the state in memory at that moment. Nothing is rendered between requests.
 */

#include <poll.h>
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

enum server_page {
        SERVER_PAGE_METRICS, /* Prometheus text */
        SERVER_PAGE_STATUS,  /* {"batches":[...]} */
};

/*
 * Renders page on request. Returns 0 and *ret_body (malloc'd, handed to the client and
 * freed by the server), or -errno (the client gets a 500).
 */
typedef int (*server_render_fn)(void *userdata, enum server_page page, char **ret_body);

/*
 * Starts listening on listen ("127.0.0.1:9782", "[::1]:9782"); render builds /metrics and
 * /status. Returns 0 and sets *ret, -EINVAL for a malformed address, -EADDRINUSE or another
 * -errno when it cannot listen.
 */
int server_start(const char *listen, server_render_fn render, void *userdata, struct server **ret);

/*
 * Records when the last tick finished (CLOCK_MONOTONIC, µs) and the tick interval (µs);
 * /healthz answers 200 while now - tick_end_us <= 3 intervals, else 503. Allocates nothing.
 */
void server_note_tick(struct server *s, uint64_t tick_end_us, uint64_t interval_us);

/* The one fd to poll (for POLLIN) for the listener and its connections. */
struct pollfd server_pollfd(const struct server *s);

/* How long the loop may wait before server_dispatch() must run again (ms; 0 when it has
 * work already, e.g. connections left to accept); max when it has no deadline. */
int server_timeout_ms(const struct server *s, int max);

/*
 * Accepts, reads and answers what is ready, and closes idle connections; call it when the
 * fd is ready and at least once a second. Never blocks.
 */
void server_dispatch(struct server *s);

/* The TCP port actually bound (useful with port 0). */
uint16_t server_port(const struct server *s);

/* Stops the listener and frees it; NULL is fine. Returns NULL. */
struct server *server_stop(struct server *s);
