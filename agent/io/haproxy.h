/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A non-blocking client for HAProxy's runtime API (the "stats socket"), over a unix socket
 * or TCP. One request is one connection: connect, send one command line, read the reply
 * until HAProxy closes the connection (non-interactive mode), then judge it. The loop polls
 * haproxy_req_fd() for haproxy_req_events() next to curl and calls haproxy_req_on_ready();
 * nothing here blocks except haproxy_command_sync(). No logging: failures carry a reason.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haproxy-text.h"
#include "policy.h"

#define HAPROXY_COMMAND_MAX   1024        /* bytes, newline excluded */
#define HAPROXY_REPLY_DEFAULT (64 * 1024) /* reply cap when the caller passes 0 */
#define HAPROXY_REPLY_LIMIT   (16 * 1024 * 1024)
#define HAPROXY_REASON_MAX    256

/* Where the runtime API listens: exactly one of the two is set. */
struct haproxy_target {
        const char *socket;  /* unix socket path */
        const char *address; /* numeric "IPv4:port" or "[IPv6]:port" */
};

enum haproxy_expect {
        HAPROXY_EXPECT_EMPTY, /* set commands: any text in the reply is HAProxy's refusal */
        HAPROXY_EXPECT_ANY,   /* show commands: the reply is the answer */
        _HAPROXY_EXPECT_MAX,
};

enum haproxy_req_status {
        HAPROXY_REQ_IN_PROGRESS,
        HAPROXY_REQ_OK,
        HAPROXY_REQ_FAILED,
        _HAPROXY_REQ_STATUS_MAX,
};

struct haproxy_req;

/*
 * Starts sending command (one line, no ';' or control characters) to t, to finish within
 * timeout_ms, keeping at most reply_max reply bytes (0: HAPROXY_REPLY_DEFAULT). Returns 0
 * and *ret (free with haproxy_req_free()); the request may already have failed (e.g. the
 * socket does not exist): check haproxy_req_status(). -EINVAL for a bad target or
 * command, -ENOMEM.
 */
int haproxy_req_start(const struct haproxy_target *t, const char *command,
                      enum haproxy_expect expect, uint64_t timeout_ms, size_t reply_max,
                      struct haproxy_req **ret);

/* The fd to poll, or -1 once the request has finished. */
int haproxy_req_fd(const struct haproxy_req *r);

/* POLLIN or POLLOUT, whichever the request waits for; 0 once it has finished. */
short haproxy_req_events(const struct haproxy_req *r);

/* Milliseconds until the request times out (for the poll timeout); 0 when due or finished. */
uint64_t haproxy_req_timeout_ms(const struct haproxy_req *r);

/*
 * Advances the request after poll() reported revents on its fd (or after its timeout
 * passed, with revents 0): connects, writes, reads, and enforces the deadline. Never
 * blocks. Returns the status after the step.
 */
enum haproxy_req_status haproxy_req_on_ready(struct haproxy_req *r, short revents);

/* Abandons a request in progress: closes the connection; it fails with -ECANCELED. */
void haproxy_req_cancel(struct haproxy_req *r);

enum haproxy_req_status haproxy_req_status(const struct haproxy_req *r);

/*
 * Why a finished request failed, as -errno: -ECONNREFUSED, -ENOENT (no such socket),
 * -ETIMEDOUT, -EMSGSIZE (reply over the cap), -EPROTO (HAProxy refused the command, or
 * closed without replying), -ECANCELED; 0 on success or while in progress.
 */
int haproxy_req_error(const struct haproxy_req *r);

/* A one-line, printable explanation of the failure ("" otherwise), e.g. "HAProxy: No such
 * server." or "connect to /run/haproxy.sock: Connection refused". Owned by r. */
const char *haproxy_req_reason(const struct haproxy_req *r);

/* The reply read so far, NUL-terminated, and its length; owned by r. */
const char *haproxy_req_reply(const struct haproxy_req *r, size_t *ret_len);

/* Frees r, closing its connection if still open; NULL is fine. Returns NULL. */
struct haproxy_req *haproxy_req_free(struct haproxy_req *r);

/*
 * Runs one request to completion, blocking in poll() for at most timeout_ms. Returns 0
 * and the reply in reply (NUL-terminated, reply_size bytes incl. the NUL, which also caps
 * it; reply may be NULL), or the haproxy_req_error() with its reason copied to reason
 * (may be NULL). -EINVAL and -ENOMEM as for haproxy_req_start().
 */
int haproxy_command_sync(const struct haproxy_target *t, const char *command,
                         enum haproxy_expect expect, uint64_t timeout_ms, char *reply,
                         size_t reply_size, char *reason, size_t reason_size);
