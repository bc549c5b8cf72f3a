/* SPDX-License-Identifier: MIT */
/*
 * The control socket's client side, used by the CLI: one request line, one response line,
 * all within a timeout. A daemon whose backlog is full answers connect() with EAGAIN; that
 * is retried with back-off until the timeout, since the daemon frees slots within moments.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "clock.h"
#include "util.h"

/* Waits until fd is ready for events or the deadline passes. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
        struct pollfd p = { .fd = fd, .events = events };
        int64_t left = deadline_ms - mono_ms();
        int r;

        if (left <= 0)
                return -ETIMEDOUT;
        r = poll(&p, 1, (int)left);
        if (r < 0)
                return errno == EINTR ? 0 : -errno;
        return r == 0 ? -ETIMEDOUT : 0;
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline_ms)
{
        size_t off = 0;

        while (off < len) {
                ssize_t n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
                int r;

                if (n >= 0) {
                        off += (size_t)n;
                        continue;
                }
                if (errno != EAGAIN && errno != EINTR)
                        return -errno;
                r = wait_fd(fd, POLLOUT, deadline_ms);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Reads until a newline; returns the malloc'd line without it. */
static int recv_line(int fd, int64_t deadline_ms, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, size = 0;

        for (;;) {
                ssize_t n;
                int r;

                if (size - len < 4096) {
                        char *b;

                        if (size >= CONTROL_RESPONSE_MAX)
                                return -EBADMSG;
                        size = size ? size * 2 : 8192;
                        b = realloc(buf, size + 1);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                n = read(fd, buf + len, size - len);
                if (n == 0)
                        return -EBADMSG;
                if (n > 0) {
                        char *nl = memchr(buf + len, '\n', (size_t)n);

                        len += (size_t)n;
                        if (nl) {
                                *nl = '\0';
                                *ret = TAKE_PTR(buf);
                                return 0;
                        }
                        continue;
                }
                if (errno != EAGAIN && errno != EINTR)
                        return -errno;
                r = wait_fd(fd, POLLIN, deadline_ms);
                if (r < 0)
                        return r;
        }
}

/*
 * Connects to sa before the deadline. A full backlog (EAGAIN) is retried on a new socket
 * after 5, 10, 20 ... 100 ms; anything else (no daemon, no permission) fails at once.
 */
static int connect_retrying(const struct sockaddr_un *sa, int64_t deadline_ms)
{
        int backoff_ms = 5;

        for (;;) {
                _cleanup_close_ int fd =
                        socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                int64_t left;

                if (fd < 0)
                        return -errno;
                if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
                        return TAKE_FD(fd);
                if (errno == EINPROGRESS) {
                        int r = wait_fd(fd, POLLOUT, deadline_ms);

                        return r < 0 ? r : TAKE_FD(fd);
                }
                if (errno != EAGAIN)
                        return -errno;
                left = deadline_ms - mono_ms();
                if (left <= 0)
                        return -ETIMEDOUT;
                poll(NULL, 0, (int)(left < backoff_ms ? left : backoff_ms));
                backoff_ms = backoff_ms * 2 > 100 ? 100 : backoff_ms * 2;
        }
}

int control_call(const char *path, const char *request, int timeout_ms, char **ret_response)
{
        _cleanup_close_ int fd = -1;
        int64_t deadline = mono_ms() + timeout_ms;
        struct sockaddr_un sa;
        int r;

        if (strchr(request, '\n'))
                return -EINVAL;
        r = control_sockaddr(path, &sa);
        if (r < 0)
                return r;
        fd = connect_retrying(&sa, deadline);
        if (fd < 0)
                return fd;
        r = send_all(fd, request, strlen(request), deadline);
        if (r >= 0)
                r = send_all(fd, "\n", 1, deadline);
        if (r >= 0)
                r = recv_line(fd, deadline, ret_response);
        return r < 0 ? r : 0;
}
