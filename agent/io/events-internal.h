/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by events.c, events-cgroup.c and events-policy.c; not a public API. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/vfs.h>

#include "events.h"

/* Writes reason (EVENTS_REASON_MAX bytes) and returns r (a -errno). */
__attribute__((format(printf, 3, 4))) static inline int events_fail(char *reason, int r,
                                                                    const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(reason, EVENTS_REASON_MAX, fmt, ap);
        va_end(ap);
        return r;
}

/* Checks that fd is on a filesystem with magic (CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC). */
static inline int events_check_fs(int fd, long magic)
{
        struct statfs sfs;

        if (fstatfs(fd, &sfs) < 0)
                return -errno;
        return (long)sfs.f_type == magic ? 0 : -EMEDIUMTYPE;
}

/* The policy dir's part of events_dispatch(). */
int events_policy_dir_dispatch(struct events_source *s, short revents, struct events_fired *ret);
