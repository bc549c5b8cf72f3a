/* SPDX-License-Identifier: MIT */
/*
 * Event sources: the common part and dispatching. Registration is in events-cgroup.c
 * (v1 OOM, v2 notify files, PSI) and events-policy.c (the policy directory).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "events-internal.h"

void events_source_init(struct events_source *s)
{
        *s = (struct events_source){ .fd = -1 };
}

void events_source_close(struct events_source *s)
{
        if (s->fd >= 0)
                close(s->fd);
        free(s->dir_path);
        events_source_init(s);
}

const char *events_kind_name(enum events_kind kind)
{
        static const char *const names[_EVENTS_KIND_MAX] = {
                [EVENTS_V1_OOM] = "v1-oom",
                [EVENTS_V2_NOTIFY] = "v2-notify",
                [EVENTS_PSI] = "psi",
                [EVENTS_POLICY_DIR] = "policy-dir",
        };

        return kind >= 0 && kind < _EVENTS_KIND_MAX ? names[kind] : "?";
}

static void fired(const struct events_source *s, uint64_t count, bool gone,
                  struct events_fired *ret)
{
        *ret = (struct events_fired){
                .kind = s->kind, .cookie = s->cookie, .count = count, .gone = gone
        };
}

/* The eventfd's counter is the number of OOM notifications since the last read. */
static int dispatch_v1_oom(struct events_source *s, short revents, struct events_fired *ret)
{
        uint64_t n;
        ssize_t k;

        if (!(revents & (POLLIN | POLLERR | POLLHUP)))
                return 0;
        k = read(s->fd, &n, sizeof(n));
        if (k < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        if (k != sizeof(n))
                return -EIO;
        fired(s, n, false, ret);
        return 1;
}

/*
 * kernfs raises POLLPRI|POLLERR until the file is read again through this fd; a read that
 * fails with ENODEV means the cgroup was removed.
 */
static int dispatch_v2_notify(struct events_source *s, short revents, struct events_fired *ret)
{
        char buf[512];

        if (!(revents & (POLLPRI | POLLERR)))
                return 0;
        if (pread(s->fd, buf, sizeof(buf), 0) < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                if (errno != ENODEV && errno != ENOENT)
                        return -errno;
                fired(s, 1, true, ret);
                return 1;
        }
        fired(s, 1, false, ret);
        return 1;
}

/* poll() itself consumes a PSI event; POLLERR means the trigger or the cgroup is gone. */
static int dispatch_psi(struct events_source *s, short revents, struct events_fired *ret)
{
        if (revents & (POLLERR | POLLHUP | POLLNVAL)) {
                fired(s, 1, true, ret);
                return 1;
        }
        if (!(revents & POLLPRI))
                return 0;
        fired(s, 1, false, ret);
        return 1;
}

int events_dispatch(struct events_source *s, short revents, struct events_fired *ret)
{
        if (s->fd < 0)
                return -EBADF;
        switch (s->kind) {
        case EVENTS_V1_OOM:
                return dispatch_v1_oom(s, revents, ret);
        case EVENTS_V2_NOTIFY:
                return dispatch_v2_notify(s, revents, ret);
        case EVENTS_PSI:
                return dispatch_psi(s, revents, ret);
        case EVENTS_POLICY_DIR:
                return events_policy_dir_dispatch(s, revents, ret);
        default:
                return -EINVAL;
        }
}
