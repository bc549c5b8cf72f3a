/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Kernel event sources between ticks (DESIGN.md "Events between ticks"; issue 15).
 *
 * Each source is one fd the single-threaded loop polls next to its other fds. When poll()
 * reports it, the loop calls events_dispatch() with the revents and gets back, as a value,
 * which source fired (its kind and the caller's cookie). Nothing here logs or reads the
 * clock, and nothing allocates after registration (only the policy-dir watch keeps a copy
 * of its path): a struct events_source lives wherever the caller keeps it.
 *
 * Interfaces, by kernel:
 *   cgroup v1     memory.oom_control: an eventfd registered through cgroup.event_control
 *                 ("<eventfd> <fd of memory.oom_control>"). Fires (POLLIN) each time the
 *                 cgroup enters OOM, which is before the victim is reaped, and once more
 *                 when the cgroup is removed. Not for the root cgroup. Deprecated since
 *                 2024 (CONFIG_MEMCG_V1): registration may fail on new kernels. Measured
 *                 on a 6.18 v1 host (tests/integration/test-events-real.sh): the event
 *                 comes 7-80 ms before the victim's exit, and in about 1 of 10 kills
 *                 before oom_kill has risen, so an event tick that finds no new kill
 *                 should be followed by one more event tick after the debounce.
 *   cgroup v2     memory.events (or any kernfs notify file, e.g. cgroup.events): POLLPRI
 *                 on a kept-open fd, re-armed by reading it. Chosen over inotify IN_MODIFY
 *                 because the fd itself names the target (no watch-descriptor table), it
 *                 is the same POLLPRI path as PSI, and it has no shared queue to overflow
 *                 and no fs.inotify.max_user_watches to run into. The price is one fd per
 *                 cgroup, where a shared inotify fd would cost none.
 *   PSI (>= 4.20) memory.pressure (v2, or the cgroup2 mount of a hybrid host): a trigger
 *                 written with its trailing NUL; POLLPRI when the stall exceeds the
 *                 threshold within the window (at most one per window); POLLERR when the
 *                 cgroup is gone. Parameters come from psi_trigger_derive() (core).
 *   policy dir    inotify: IN_CLOSE_WRITE, IN_MOVED_TO, IN_MOVED_FROM, IN_DELETE, and
 *                 IN_CREATE of symlinks; a Kubernetes ConfigMap update shows up as a
 *                 rename of "..data_tmp" over "..data" (IN_MOVED_TO "..data").
 *
 * Fallback: an open function that fails returns -errno and a one-line reason (no
 * permission, an old kernel, PSI disabled, a fixture tree that is not cgroupfs:
 * -EMEDIUMTYPE). The loop then keeps polling that target at its interval, says so once in
 * the log and in status, and may retry at the next policy load. A source that reports
 * gone (cgroup removed) is closed by the caller and treated the same way.
 *
 * fd cost per target, events on: v1 one (the eventfd; memory.oom_control and
 * cgroup.event_control are closed after registering); v2 one for memory.events plus one
 * per PSI trigger (one per psi kind its rules use: at most two); a hybrid host one
 * eventfd plus the PSI triggers. Per glob target, that per matched cgroup. Plus one fd
 * for the policy directory (the inotify fd). The sampler's own kept-open fds (cgroup.h)
 * come on top.
 *
 * Debounce and rates (core/event-tick.h): an event brings the batch's next tick forward,
 * at most one event tick per 100 ms; the next regular tick comes one interval after any
 * tick; a rate at an event tick spans back to the newest sample at least half an interval
 * old.
 */

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "psi-trigger.h"

#define EVENTS_REASON_MAX 512 /* size of the reason buffers below */

enum events_kind {
        EVENTS_V1_OOM,     /* cgroup v1 memory.oom_control eventfd */
        EVENTS_V2_NOTIFY,  /* cgroup v2 kernfs notify file (memory.events) */
        EVENTS_PSI,        /* PSI trigger on memory.pressure */
        EVENTS_POLICY_DIR, /* inotify on the policy directory */
        _EVENTS_KIND_MAX,
};

/* One registered source. Initialise with events_source_init(); fields are read-only. */
struct events_source {
        enum events_kind kind;
        int fd;            /* poll this; -1 when closed */
        short poll_events; /* the events to poll it for (POLLIN or POLLPRI) */
        char *dir_path;    /* policy dir: its path (owned); else NULL */
        uint64_t cookie;   /* the caller's, handed back by events_dispatch() */
};

/* What events_dispatch() reports. */
struct events_fired {
        enum events_kind kind;
        uint64_t cookie;
        uint64_t count;          /* v1: OOM notifications since the last dispatch; policy dir:
                                    relevant names changed; otherwise 1 */
        bool gone;               /* the source stopped working (cgroup or directory removed):
                                    close it and fall back to polling */
        bool rescan;             /* policy dir: the queue overflowed, rescan everything */
        bool data_swap;          /* policy dir: a ConfigMap "..data" swap */
        char name[NAME_MAX + 1]; /* policy dir: the last name that changed, else "" */
};

/* Sets s to the closed state (fd -1). */
void events_source_init(struct events_source *s);

/* Closes s's fd (the kernel drops the registration), frees what it owns and re-initialises
 * it; idempotent. */
void events_source_close(struct events_source *s);

/*
 * cgroup v1: registers an OOM eventfd for the cgroup directory cgroup_dir (on the v1
 * memory hierarchy). Returns 0 and *ret, or -errno with reason (EVENTS_REASON_MAX bytes):
 * -EMEDIUMTYPE when the directory is not on a cgroup v1 filesystem, -ENOENT, -EACCES,
 * -EINVAL / -EOPNOTSUPP when the kernel refuses the registration.
 */
int events_v1_oom_open(const char *cgroup_dir, uint64_t cookie, char *reason,
                       struct events_source *ret);

/*
 * cgroup v2: watches the kernfs notify file cgroup_dir/file ("memory.events", or
 * "cgroup.events") for changes. Returns 0 and *ret (already armed: it fires only on a
 * change after this call), or -errno with reason; -EMEDIUMTYPE when not on cgroup2.
 */
int events_v2_notify_open(const char *cgroup_dir, const char *file, uint64_t cookie, char *reason,
                          struct events_source *ret);

/*
 * PSI: registers trigger t on cgroup_dir/memory.pressure (the v2 cgroup, or on a hybrid
 * host the cgroup's directory under the cgroup2 mount). Returns 0 and *ret, or -errno with
 * reason: -EMEDIUMTYPE when not on cgroup2, -EINVAL when the kernel refuses the trigger
 * (a window not a multiple of 2 s without CAP_SYS_RESOURCE), -EOPNOTSUPP when PSI is off.
 */
int events_psi_open(const char *cgroup_dir, const struct psi_trigger *t, uint64_t cookie,
                    char *reason, struct events_source *ret);

/* Whether this process may register PSI windows that are not 2 s multiples. */
bool events_psi_privileged(void);

/*
 * Watches the policy directory dir with inotify. Returns 0 and *ret, or -errno with
 * reason (-ENOTDIR, -ENOENT, -EMFILE / -ENOSPC at the inotify limits).
 */
int events_policy_dir_open(const char *dir, uint64_t cookie, char *reason,
                           struct events_source *ret);

/*
 * Handles poll()'s revents for s: drains or re-arms the fd. Returns 1 and *ret when the
 * source fired or is gone, 0 when there is nothing to report (a spurious wake-up, or only
 * names the policy dir ignores: hidden files, directories, plain IN_CREATE), or -errno
 * when reading the fd failed. Never blocks; allocates nothing.
 */
int events_dispatch(struct events_source *s, short revents, struct events_fired *ret);

/* A static name for kind ("v1-oom", "v2-notify", "psi", "policy-dir"). */
const char *events_kind_name(enum events_kind kind);
