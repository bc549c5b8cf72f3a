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

#include <jansson.h>

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

/*
 * Answers one request; sets *ret_response (a new reference). Called from control_dispatch()
 * on the loop's thread.
 */
typedef void (*control_handler)(void *userdata, const struct control_peer *peer, json_t *request,
                                json_t **ret_response);

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
 * Client side: connects (retrying a full backlog with back-off) to path, sends request as one line
 * and reads one response line, all within timeout_ms. Returns 0 and sets *ret_response,
 * -ENOENT/-ECONNREFUSED when no daemon listens, -ETIMEDOUT, -EACCES, -EBADMSG for a malformed
 * reply.
 */
int control_call(const char *path, json_t *request, int timeout_ms, json_t **ret_response);
