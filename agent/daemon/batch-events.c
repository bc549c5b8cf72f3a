/* SPDX-License-Identifier: MIT */
/* Kernel event sources of a batch's targets (io/events.h): registered into the loop's epoll
 * set, and an event brings the batch's next tick forward (core/event-tick.h). */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "batch-internal.h"
#include "event-tick.h"
#include "log.h"

/* The lowest threshold any psi rule sets for kind, or false when no rule uses it. */
static bool psi_threshold(const struct policy *p, enum psi_kind kind, double *ret)
{
        enum cond_metric m = kind == PSI_SOME ? COND_PSI_SOME : COND_PSI_FULL;
        bool found = false;

        for (size_t r = 0; r < p->n_rules; r++)
                if (p->rules[r].has[m] && (!found || p->rules[r].threshold[m] < *ret)) {
                        *ret = p->rules[r].threshold[m];
                        found = true;
                }
        return found;
}

/* Puts s into the loop's epoll set, or closes it. Returns 0 or -errno. */
static int watch(struct batch *b, struct events_source *s, char *reason)
{
        struct epoll_event ev = { .events = (uint32_t)s->poll_events, .data.ptr = s };

        if (epoll_ctl(b->env->events_fd, EPOLL_CTL_ADD, s->fd, &ev) == 0)
                return 0;
        snprintf(reason, EVENTS_REASON_MAX, "epoll: %s", strerror(errno));
        events_source_close(s);
        return -errno;
}

/* Opens one source into t->ev[t->n_ev]; open is 0 or the -errno of the open function. */
static int add_source(struct batch_target *t, int open, char *reason)
{
        int r = open < 0 ? open : watch(t->b, &t->ev[t->n_ev], reason);

        if (r == 0)
                t->n_ev++;
        return r;
}

static int target_events_open(struct batch *b, struct batch_target *t, char *reason)
{
        const struct cgroup_hierarchy *h = t->own_hierarchy ? t->own_hierarchy : b->env->hierarchy;
        char dir[PATH_MAX];
        int r;

        if (strpbrk(t->path, "*?["))
                return snprintf(reason, EVENTS_REASON_MAX, "glob targets are polled"), -ENOTSUP;
        snprintf(dir, sizeof(dir), "%s/%s", cgroup_hierarchy_root(h), t->path);
        r = cgroup_hierarchy_version(h) == CGROUP_V1
                    ? events_v1_oom_open(dir, (uintptr_t)t, reason, &t->ev[0])
                    : events_v2_notify_open(dir, "memory.events", (uintptr_t)t, reason, &t->ev[0]);
        if ((r = add_source(t, r, reason)) < 0)
                return r;
        for (int k = 0; k < _PSI_KIND_MAX; k++) {
                struct psi_trigger pt;
                double pct = 0;

                if (!psi_threshold(b->p, k, &pct))
                        continue;
                r = psi_trigger_derive(k, pct, (int64_t)b->p->interval_ms, events_psi_privileged(),
                                       &pt);
                if (r < 0 || !cgroup_hierarchy_psi_root(h))
                        return snprintf(reason, EVENTS_REASON_MAX, "no PSI trigger"), -ENOTSUP;
                snprintf(dir, sizeof(dir), "%s/%s", cgroup_hierarchy_psi_root(h), t->path);
                r = events_psi_open(dir, &pt, (uintptr_t)t, reason, &t->ev[t->n_ev]);
                if ((r = add_source(t, r, reason)) < 0)
                        return r;
        }
        return 0;
}

void batch_events_open(struct batch *b)
{
        char reason[EVENTS_REASON_MAX] = "";

        b->events_note[0] = '\0';
        if (!b->env->has_events)
                return;
        for (size_t i = 0; i < b->n_t; i++) {
                struct batch_target *t = &b->t[i];

                for (size_t k = 0; k < BATCH_EVENT_SOURCES; k++)
                        events_source_init(&t->ev[k]);
                t->n_ev = 0;
                if (t->pq)
                        continue; /* a promql target has no kernel to hear from */
                if (target_events_open(b, t, reason) < 0 && !b->events_note[0])
                        snprintf(b->events_note, sizeof(b->events_note), "target %s: %s",
                                 target_name(t), reason);
        }
        if (b->events_note[0])
                batch_log(LOG_LEVEL_NOTICE, b,
                          "batch %s: kernel events unavailable, polling every %llu ms instead "
                          "(%s)",
                          b->p->name, (unsigned long long)b->p->interval_ms, b->events_note);
}

void batch_events_close(struct batch_target *t)
{
        for (size_t k = 0; k < t->n_ev; k++)
                events_source_close(&t->ev[k]);
        t->n_ev = 0;
}

const char *batch_events_status(const struct batch *b)
{
        return !b->env->has_events ? "polling (events off)"
               : b->events_note[0] ? "polling"
                                   : "kernel";
}

void batch_event(void *source, uint32_t revents, int64_t now_ms)
{
        struct events_source *s = source;
        struct events_fired f;
        struct batch_target *t;
        struct batch *b;

        if (events_dispatch(s, (short)revents, &f) <= 0)
                return;
        t = (struct batch_target *)(uintptr_t)f.cookie;
        b = t->b;
        if (f.gone) {
                events_source_close(s);
                return;
        }
        b->next_tick_ms = tick_due_on_event(b->next_tick_ms, b->last_event_tick_ms, now_ms);
        b->event_due = true;
        if (f.kind == EVENTS_V1_OOM)
                b->oom_recheck = true;
}
