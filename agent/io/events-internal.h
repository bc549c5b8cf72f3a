/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by events.c, events-cgroup.c and events-policy.c; not a public API. */

#include "events.h"

/* Writes reason (EVENTS_REASON_MAX bytes) and returns r (a -errno). */
__attribute__((format(printf, 3, 4))) int events_fail(char *reason, int r, const char *fmt, ...);

/* Checks that fd is on a filesystem with magic (CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC). */
int events_check_fs(int fd, long magic);

/* The policy dir's part of events_dispatch(). */
int events_policy_dir_dispatch(struct events_source *s, short revents, struct events_fired *ret);
