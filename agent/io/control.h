/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The control socket: a unix stream socket (mode 0660) speaking line-delimited JSON, one
 * request line and one response line at a time per client. The loop polls its fds next to
 * curl's; nothing here ever blocks, and every client is capped in size and in time.
 */

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/un.h>

#define CONTROL_REQUEST_MAX      4096 /* bytes in one request line */
#define CONTROL_CLIENTS_MAX      64
#define CONTROL_CLIENTS_RESERVED 1     /* slots only uid 0 and the agent's uid may take */
#define CONTROL_IDLE_MS          30000 /* a client with no request this long is dropped */
#define CONTROL_REQUEST_MS       5000  /* a whole request line and its reply, from the first byte */
#define CONTROL_RESPONSE_MAX     (1024 * 1024)
#define CONTROL_ACCEPT_PAUSE_MS  1000 /* listener rest after running out of fds */

struct control_peer {
        pid_t pid;
        uid_t uid;
        gid_t gid;
        bool privileged; /* uid 0, or a member of the socket's group */
};

/* The replies the socket itself gives, without asking the handler. */
#define CONTROL_ERROR_NO_MEMORY "{\"ok\":false,\"error\":\"out of memory\"}"
#define CONTROL_ERROR_TOO_LONG  "{\"ok\":false,\"error\":\"request line too long\"}"

/*
 * Answers one request line (request[0..len), without its newline, not NUL-terminated): returns
 * the reply line, malloc'd, without a newline; NULL when out of memory. Called from
 * control_dispatch() on the loop's thread. The socket is a transport: what a line means (JSON,
 * docs/json.md) is the handler's business.
 */
typedef char *(*control_handler)(void *userdata, const struct control_peer *peer,
                                 const char *request, size_t len);

struct control;

/*
 * Binds path (replacing a stale socket, refusing to replace anything else), chmods it to
 * 0660. Returns 0 and sets *ret, or -errno: -EADDRINUSE when a daemon already listens there,
 * -EEXIST when path is not a socket, -ENAMETOOLONG past 107 bytes.
 */
int control_open(const char *path, control_handler handler, void *userdata, struct control **ret);

/*
 * Slots: when all CONTROL_CLIENTS_MAX are taken, a newcomer evicts the client idle longest
 * (else the one whose request began first); the last CONTROL_CLIENTS_RESERVED slots are for
 * peers with uid 0 or the agent's own uid, which untrusted newcomers never evict.
 *
 * Fills up to max pollfds (the listener and each client) and returns how many; the loop
 * passes them to its poll and hands back revents with control_dispatch().
 */
size_t control_pollfds(struct control *c, struct pollfd *fds, size_t max);

/* Processes readiness for the fds filled by control_pollfds(); now_ms is monotonic. */
void control_dispatch(struct control *c, const struct pollfd *fds, size_t n, int64_t now_ms);

/* Closes every client, unlinks the socket and frees; NULL is fine. Returns NULL. */
struct control *control_close(struct control *c);

/* Fills *sa for the socket at path. 0, or -ENAMETOOLONG past 107 bytes. */
int control_sockaddr(const char *path, struct sockaddr_un *sa);

/*
 * Client side: connects (retrying a full backlog with back-off) to path, sends request (one
 * line, no newline in it) and reads one response line, all within timeout_ms. Returns 0 and
 * sets *ret_response (malloc'd, without the newline), -ENOENT/-ECONNREFUSED when no daemon
 * listens, -ETIMEDOUT, -EACCES, -EINVAL for a request with a newline.
 */
int control_call(const char *path, const char *request, int timeout_ms, char **ret_response);
