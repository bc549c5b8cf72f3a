/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "haproxy.h"
#include "clock.h"
#include "util.h"

#define REPLY_CHUNK 4096
#define DESC_MAX    128

enum phase {
        PHASE_CONNECTING,
        PHASE_WRITING,
        PHASE_READING,
        PHASE_DONE,
};

struct haproxy_req {
        int fd;
        enum phase phase;
        enum haproxy_expect expect;
        enum haproxy_req_status status;
        int error;
        uint64_t deadline_ms; /* CLOCK_MONOTONIC */
        uint64_t timeout_ms;
        char line[HAPROXY_COMMAND_MAX + 2];
        size_t line_len, sent;
        char *reply; /* reply_len bytes + NUL, reply_cap allocated */
        size_t reply_len, reply_cap, reply_max;
        char desc[DESC_MAX]; /* the target, for reasons */
        char reason[HAPROXY_REASON_MAX];
};

__attribute__((format(printf, 3, 4))) static enum haproxy_req_status
finish(struct haproxy_req *r, int error, const char *fmt, ...)
{
        va_list ap;

        if (r->fd >= 0)
                close(r->fd);
        r->fd = -1;
        r->phase = PHASE_DONE;
        r->error = error;
        r->status = error ? HAPROXY_REQ_FAILED : HAPROXY_REQ_OK;
        r->reason[0] = '\0';
        if (fmt) {
                va_start(ap, fmt);
                vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
                va_end(ap);
        }
        return r->status;
}

static bool command_valid(const char *c)
{
        size_t n = strlen(c);

        if (n == 0 || n > HAPROXY_COMMAND_MAX)
                return false;
        /* ';' would chain a second command into a line built from a server name. */
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f || c[i] == ';')
                        return false;
        return true;
}

static int unix_address(const char *path, struct sockaddr_un *sa, socklen_t *len)
{
        size_t n = strlen(path);

        if (n == 0 || n >= sizeof(sa->sun_path))
                return -EINVAL;
        *sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
        memcpy(sa->sun_path, path, n + 1);
        *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
        return 0;
}

static int parse_port(const char *s, in_port_t *ret)
{
        char *end;
        unsigned long v;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno || *end || v == 0 || v > 65535)
                return -EINVAL;
        *ret = htons((in_port_t)v);
        return 0;
}

/* Numeric addresses only: resolving a name could block the loop. */
static int inet_address(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
        char host[INET6_ADDRSTRLEN + 2];
        const char *colon = strrchr(addr, ':');
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        size_t n = colon ? (size_t)(colon - addr) : 0;

        if (!colon || n == 0 || n >= sizeof(host))
                return -EINVAL;
        memcpy(host, addr, n);
        host[n] = '\0';
        memset(ss, 0, sizeof(*ss));
        if (host[0] == '[' && host[n - 1] == ']') {
                host[n - 1] = '\0';
                in6->sin6_family = AF_INET6;
                *len = sizeof(*in6);
                if (inet_pton(AF_INET6, host + 1, &in6->sin6_addr) != 1)
                        return -EINVAL;
                return parse_port(colon + 1, &in6->sin6_port);
        }
        in->sin_family = AF_INET;
        *len = sizeof(*in);
        if (inet_pton(AF_INET, host, &in->sin_addr) != 1)
                return -EINVAL;
        return parse_port(colon + 1, &in->sin_port);
}

static int resolve(const struct haproxy_target *t, struct sockaddr_storage *ss, socklen_t *len)
{
        if (!t || !!t->socket == !!t->address)
                return -EINVAL;
        if (t->socket)
                return unix_address(t->socket, (struct sockaddr_un *)ss, len);
        return inet_address(t->address, ss, len);
}

static void connect_start(struct haproxy_req *r, const struct sockaddr_storage *ss, socklen_t len)
{
        r->fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (r->fd < 0) {
                finish(r, -errno, "socket for %s: %s", r->desc, strerror(errno));
                return;
        }
        if (connect(r->fd, (const struct sockaddr *)ss, len) == 0) {
                r->phase = PHASE_WRITING;
                return;
        }
        if (errno == EINPROGRESS) {
                r->phase = PHASE_CONNECTING;
                return;
        }
        /* A unix listener with a full backlog says EAGAIN: HAProxy is not keeping up. */
        finish(r, -errno, "connect to %s: %s", r->desc, strerror(errno));
}

int haproxy_req_start(const struct haproxy_target *t, const char *command,
                      enum haproxy_expect expect, uint64_t timeout_ms, size_t reply_max,
                      struct haproxy_req **ret)
{
        struct sockaddr_storage ss;
        struct haproxy_req *r;
        socklen_t len;

        if (!command || !command_valid(command) || (unsigned)expect >= _HAPROXY_EXPECT_MAX ||
            timeout_ms == 0 || timeout_ms > UINT32_MAX || reply_max > HAPROXY_REPLY_LIMIT ||
            resolve(t, &ss, &len) < 0)
                return -EINVAL;
        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->fd = -1;
        r->expect = expect;
        r->status = HAPROXY_REQ_IN_PROGRESS;
        r->timeout_ms = timeout_ms;
        r->deadline_ms = (uint64_t)mono_ms() + timeout_ms;
        r->reply_max = reply_max ? reply_max : HAPROXY_REPLY_DEFAULT;
        r->line_len = (size_t)snprintf(r->line, sizeof(r->line), "%s\n", command);
        snprintf(r->desc, sizeof(r->desc), "%s", t->socket ? t->socket : t->address);
        connect_start(r, &ss, len);
        *ret = r;
        return 0;
}

static void connect_done(struct haproxy_req *r, short revents)
{
        struct pollfd p = { .fd = r->fd, .events = POLLOUT };
        socklen_t len = sizeof(int);
        int err = 0;

        /* Before the connection resolves SO_ERROR reads 0 too: ask poll() to be sure. */
        if (!(revents & (POLLOUT | POLLERR | POLLHUP)) && (poll(&p, 1, 0) <= 0 || !p.revents))
                return;
        if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                err = errno;
        if (err) {
                finish(r, -err, "connect to %s: %s", r->desc, strerror(err));
                return;
        }
        r->phase = PHASE_WRITING;
}

static void write_some(struct haproxy_req *r)
{
        while (r->sent < r->line_len) {
                ssize_t n = send(r->fd, r->line + r->sent, r->line_len - r->sent, MSG_NOSIGNAL);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return;
                if (n < 0) {
                        finish(r, -errno, "send to %s: %s", r->desc, strerror(errno));
                        return;
                }
                r->sent += (size_t)n;
        }
        r->phase = PHASE_READING;
}

static int grow_reply(struct haproxy_req *r)
{
        size_t cap = r->reply_cap ? r->reply_cap * 2 : REPLY_CHUNK;
        char *p;

        if (cap > r->reply_max + 1)
                cap = r->reply_max + 1;
        p = realloc(r->reply, cap + 1);
        if (!p)
                return -ENOMEM;
        r->reply = p;
        r->reply_cap = cap;
        return 0;
}

/* Copies the first line of text, printable ASCII only, for a one-line reason. */
static void first_line(const char *text, char *buf, size_t size)
{
        size_t i = 0;

        while (*text == '\n' || *text == '\r' || *text == ' ')
                text++;
        for (; text[i] && text[i] != '\n' && i + 1 < size; i++)
                buf[i] = (text[i] >= 0x20 && text[i] < 0x7f) ? text[i] : '?';
        buf[i] = '\0';
}

static void judge(struct haproxy_req *r)
{
        char line[HAPROXY_REASON_MAX - 16];

        /* HAProxy ends every reply with an empty line; silence means it never answered. */
        if (r->reply_len == 0) {
                finish(r, -EPROTO, "%s closed the connection without a reply", r->desc);
                return;
        }
        if (r->expect == HAPROXY_EXPECT_ANY || strspn(r->reply, " \r\n") == r->reply_len) {
                finish(r, 0, NULL);
                return;
        }
        first_line(r->reply, line, sizeof(line));
        finish(r, -EPROTO, "HAProxy: %s", line);
}

static void read_some(struct haproxy_req *r)
{
        for (;;) {
                ssize_t n;

                if (r->reply_len + 1 >= r->reply_cap && grow_reply(r) < 0) {
                        finish(r, -ENOMEM, "out of memory reading from %s", r->desc);
                        return;
                }
                n = recv(r->fd, r->reply + r->reply_len, r->reply_cap - r->reply_len, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                        return;
                if (n < 0) {
                        finish(r, -errno, "receive from %s: %s", r->desc, strerror(errno));
                        return;
                }
                if (n == 0)
                        break;
                r->reply_len += (size_t)n;
                r->reply[r->reply_len] = '\0';
                if (r->reply_len > r->reply_max) {
                        finish(r, -EMSGSIZE, "reply from %s longer than %zu bytes", r->desc,
                               r->reply_max);
                        return;
                }
        }
        judge(r);
}

enum haproxy_req_status haproxy_req_on_ready(struct haproxy_req *r, short revents)
{
        if (r->phase == PHASE_CONNECTING)
                connect_done(r, revents);
        if (r->phase == PHASE_WRITING)
                write_some(r);
        if (r->phase == PHASE_READING)
                read_some(r);
        if (r->phase != PHASE_DONE && (uint64_t)mono_ms() >= r->deadline_ms)
                finish(r, -ETIMEDOUT, "%s did not %s within %" PRIu64 " ms", r->desc,
                       r->phase == PHASE_CONNECTING ? "accept the connection" : "reply",
                       r->timeout_ms);
        return r->status;
}

int haproxy_req_fd(const struct haproxy_req *r)
{
        return r->fd;
}

short haproxy_req_events(const struct haproxy_req *r)
{
        switch (r->phase) {
        case PHASE_CONNECTING:
        case PHASE_WRITING:
                return POLLOUT;
        case PHASE_READING:
                return POLLIN;
        default:
                return 0;
        }
}

uint64_t haproxy_req_timeout_ms(const struct haproxy_req *r)
{
        uint64_t now = (uint64_t)mono_ms();

        if (r->phase == PHASE_DONE || now >= r->deadline_ms)
                return 0;
        return r->deadline_ms - now;
}

void haproxy_req_cancel(struct haproxy_req *r)
{
        if (r->phase != PHASE_DONE)
                finish(r, -ECANCELED, "cancelled");
}

enum haproxy_req_status haproxy_req_status(const struct haproxy_req *r)
{
        return r->status;
}

int haproxy_req_error(const struct haproxy_req *r)
{
        return r->error;
}

const char *haproxy_req_reason(const struct haproxy_req *r)
{
        return r->reason;
}

const char *haproxy_req_reply(const struct haproxy_req *r, size_t *ret_len)
{
        if (ret_len)
                *ret_len = r->reply_len;
        return r->reply ? r->reply : "";
}

struct haproxy_req *haproxy_req_free(struct haproxy_req *r)
{
        if (!r)
                return NULL;
        if (r->fd >= 0)
                close(r->fd);
        free(r->reply);
        free(r);
        return NULL;
}

static void reqp_free(struct haproxy_req **r)
{
        haproxy_req_free(*r);
}

static void copy_out(char *dst, size_t size, const char *src)
{
        if (dst && size > 0)
                snprintf(dst, size, "%s", src);
}

int haproxy_command_sync(const struct haproxy_target *t, const char *command,
                         enum haproxy_expect expect, uint64_t timeout_ms, char *reply,
                         size_t reply_size, char *reason, size_t reason_size)
{
        _cleanup_(reqp_free) struct haproxy_req *r = NULL;
        size_t cap = reply && reply_size > 1 ? reply_size - 1 : 0;
        int k;

        k = haproxy_req_start(t, command, expect, timeout_ms, cap, &r);
        if (k < 0)
                return k;
        while (haproxy_req_status(r) == HAPROXY_REQ_IN_PROGRESS) {
                struct pollfd p = { .fd = r->fd, .events = haproxy_req_events(r) };
                int n = poll(&p, 1, (int)haproxy_req_timeout_ms(r));

                if (n < 0 && errno != EINTR)
                        return -errno;
                haproxy_req_on_ready(r, n > 0 ? p.revents : 0);
        }
        if (r->status != HAPROXY_REQ_OK) {
                copy_out(reason, reason_size, r->reason);
                return r->error;
        }
        copy_out(reply, reply_size, haproxy_req_reply(r, NULL));
        copy_out(reason, reason_size, "");
        return 0;
}
