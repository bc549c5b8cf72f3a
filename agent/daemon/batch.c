/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "batch-internal.h"
#include "event-tick.h"
#include "log.h"
#include "rules.h"
#include "scrape.h"
#include "util.h"

const char *batch_name(const struct batch *b)
{
        return b->p->name;
}

const struct policy *batch_policy(const struct batch *b)
{
        return b->p;
}

bool batch_same_file(const struct batch *b, const struct stat *st)
{
        return b->file.st_dev == st->st_dev && b->file.st_ino == st->st_ino &&
               b->file.st_size == st->st_size && b->file.st_mtim.tv_sec == st->st_mtim.tv_sec &&
               b->file.st_mtim.tv_nsec == st->st_mtim.tv_nsec;
}

int64_t batch_next_tick_ms(const struct batch *b)
{
        return b->next_tick_ms;
}

const struct breaker_trip *batch_trip_record(const struct batch *b)
{
        return b->st->has_trip ? &b->st->trip : NULL;
}

const struct state_release *batch_release(const struct batch *b)
{
        return &b->st->release;
}

enum breaker_phase batch_phase(const struct batch *b)
{
        return breaker_phase(b->br);
}

static void evaluate(struct batch *b);

static void scrape_done(struct scrape *sc, const struct runtime_sample *rs, const char *reason,
                        void *userdata)
{
        struct batch_target *t = userdata;
        struct batch *b = t->b;
        bool failed = !rs->has_gc_count && !rs->has_heap_used && !rs->has_heap_max;

        (void)sc;
        t->cur.runtime = *rs;
        snprintf(t->cur.runtime_error, sizeof(t->cur.runtime_error), "%s", reason);
        if (failed) {
                t->errors[1]++;
                if (!t->scrape_failing)
                        log_full(LOG_LEVEL_WARNING,
                                 LOG_FIELDS(.batch = b->p->name, .target = target_name(t)),
                                 "batch %s, instance %s: scrape of %s failed: %s (logged "
                                 "once until it recovers)",
                                 b->p->name, target_name(t), b->p->targets[t->index].metrics_url,
                                 reason);
        } else if (t->scrape_failing) {
                log_full(LOG_LEVEL_NOTICE,
                         LOG_FIELDS(.batch = b->p->name, .target = target_name(t)),
                         "batch %s, instance %s: scrape of %s works again", b->p->name,
                         target_name(t), b->p->targets[t->index].metrics_url);
        }
        t->scrape_failing = failed;
        if (b->outstanding > 0 && --b->outstanding == 0 && b->collecting)
                evaluate(b);
}

static void promql_done(struct promql_source *src, const struct mem_sample *m, const char *reason,
                        void *userdata)
{
        struct batch_target *t = userdata;
        struct batch *b = t->b;
        bool failed = !m->has_current;

        (void)src;
        t->cur.memory = *m;
        snprintf(t->cur.memory_error, sizeof(t->cur.memory_error), "%s", reason);
        if (failed)
                t->errors[0]++;
        if (failed != t->was_gone)
                log_full(failed ? LOG_LEVEL_WARNING : LOG_LEVEL_NOTICE,
                         LOG_FIELDS(.batch = b->p->name, .target = target_name(t)),
                         failed ? "batch %s, instance %s: no working set from Prometheus: %s "
                                  "(logged once until it recovers)"
                                : "batch %s, instance %s: Prometheus answers again%s",
                         b->p->name, target_name(t), reason);
        t->was_gone = failed;
        if (b->outstanding > 0 && --b->outstanding == 0 && b->collecting)
                evaluate(b);
}

/* A promql target: its queries on the loop's engine, no cgroup. */
static int target_open_promql(struct batch *b, struct batch_target *t)
{
        const struct policy_target *pt = &b->p->targets[t->index];
        int r = promql_source_new(b->env->http, pt, promql_done, t, &t->pq);

        if (r >= 0 && pt->metrics_url)
                r = scrape_new(b->env->http, pt, scrape_done, t, &t->sc);
        if (r < 0)
                log_full(LOG_LEVEL_ERR, LOG_FIELDS(.batch = b->p->name, .target = pt->name),
                         "batch %s, target %s: cannot set up the promql queries: %s", b->p->name,
                         pt->name, strerror(-r));
        return r;
}

static int target_open(struct batch *b, size_t i)
{
        const struct policy_target *pt = &b->p->targets[i];
        struct batch_target *t = &b->t[i];
        struct cgroup_hierarchy *h = b->env->hierarchy;
        char err[CGROUP_ERROR_MAX] = "", path[CGROUP_PATH_MAX];
        int r;

        t->b = b;
        t->index = i;
        if (pt->source == TARGET_SOURCE_PROMQL)
                return target_open_promql(b, t);
        r = cgroup_target_path(pt->cgroup, pt->unit, path);
        if (r < 0) {
                log_full(LOG_LEVEL_ERR, LOG_FIELDS(.batch = b->p->name, .target = pt->name),
                         "batch %s, target %s: bad cgroup path", b->p->name, pt->name);
                return r;
        }
        t->path = strdup(path);
        if (!t->path)
                return -ENOMEM;
        if (pt->cgroup_root) {
                r = cgroup_hierarchy_open(pt->cgroup_root, err, &t->own_hierarchy);
                if (r < 0) {
                        log_full(LOG_LEVEL_ERR, LOG_FIELDS(.batch = b->p->name, .target = pt->name),
                                 "batch %s, target %s: cgroup_root: %s", b->p->name, pt->name, err);
                        return r;
                }
                h = t->own_hierarchy;
        }
        if (!h) {
                log_full(LOG_LEVEL_ERR, LOG_FIELDS(.batch = b->p->name, .target = pt->name),
                         "batch %s, target %s: no memory cgroup hierarchy (see --cgroup-root)",
                         b->p->name, pt->name);
                return -ENOMEDIUM;
        }
        r = cgroup_target_new(h, t->path, &t->cg);
        if (r >= 0 && b->p->interval_ms > 0) /* limits seldom change (docs/policy.md) */
                cgroup_target_limit_every(t->cg,
                                          (unsigned)(BATCH_LIMIT_REREAD_MS / b->p->interval_ms));
        if (r >= 0 && pt->metrics_url)
                r = scrape_new(b->env->http, pt, scrape_done, t, &t->sc);
        if (r < 0)
                log_full(LOG_LEVEL_ERR, LOG_FIELDS(.batch = b->p->name, .target = pt->name),
                         "batch %s, target %s: cannot set up sampling: %s", b->p->name, pt->name,
                         strerror(-r));
        return r;
}

void batch_targets_free(struct batch *b)
{
        for (size_t i = 0; b->t && i < b->n_t; i++) {
                scrape_free(b->t[i].sc);
                promql_source_free(b->t[i].pq);
                cgroup_target_free(b->t[i].cg);
                cgroup_hierarchy_free(b->t[i].own_hierarchy);
                batch_events_close(&b->t[i]);
                free(b->t[i].path);
                free(b->t[i].last.memory_error);
                free(b->t[i].last.runtime_error);
        }
        free(b->t);
        b->t = NULL;
        b->n_t = 0;
}

int batch_targets_new(struct batch *b)
{
        b->t = calloc(b->p->n_targets, sizeof(*b->t));
        if (!b->t)
                return -ENOMEM;
        b->n_t = b->p->n_targets;
        for (size_t i = 0; i < b->n_t; i++) {
                int r = target_open(b, i);

                if (r < 0)
                        return r;
        }
        return 0;
}

static void sample_memory(struct batch *b, struct batch_target *t)
{
        char reason[CGROUP_ERROR_MAX] = "";
        int r;

        if (t->pq) {
                if (promql_source_start(t->pq) >= 0)
                        b->outstanding++;
                else
                        snprintf(t->cur.memory_error, sizeof(t->cur.memory_error),
                                 "cannot start the promql query");
                return;
        }
        r = cgroup_target_sample(t->cg, reason, &t->cur.memory);
        if (r < 0)
                t->errors[0]++;
        if (r < 0 || reason[0]) {
                snprintf(t->cur.memory_error, sizeof(t->cur.memory_error), "%s",
                         reason[0] ? reason : strerror(-r));
        }
        if (r < 0)
                memset(&t->cur.memory, 0, sizeof(t->cur.memory));
        if (cgroup_target_gone(t->cg) != t->was_gone) {
                t->was_gone = !t->was_gone;
                if (t->was_gone)
                        log_full(LOG_LEVEL_WARNING,
                                 LOG_FIELDS(.batch = b->p->name, .target = target_name(t)),
                                 "batch %s, instance %s: cgroup %s is gone: %s (no data "
                                 "until it is back)",
                                 b->p->name, target_name(t), t->path, t->cur.memory_error);
                else
                        log_full(LOG_LEVEL_NOTICE,
                                 LOG_FIELDS(.batch = b->p->name, .target = target_name(t)),
                                 "batch %s, instance %s: cgroup %s is back", b->p->name,
                                 target_name(t), t->path);
        }
}

/* Whether an OOM kill shows in this tick's sample that the last tick did not have. */
static bool oom_kill_rose(const struct batch *b)
{
        for (size_t i = 0; i < b->n_t; i++)
                if (b->t[i].cur.memory.has_oom_kill &&
                    b->t[i].cur.memory.oom_kill > b->t[i].last.oom_kill)
                        return true;
        return false;
}

/* After a tick at now_ms: the next one interval later (on the cadence for a regular tick);
 * a v1 OOM event tick that finds no new kill yet gets one more event tick after the
 * debounce (the event can come before oom_kill rises). */
static void schedule_next(struct batch *b, bool event, int64_t now_ms)
{
        int64_t interval = (int64_t)b->p->interval_ms;

        if (event)
                b->next_tick_ms = tick_due_after(now_ms, interval);
        else /* the next deadline follows the first one, not the clock: no drift */
                do
                        b->next_tick_ms += interval;
                while (b->next_tick_ms <= now_ms);
        if (event && b->oom_recheck && !oom_kill_rose(b)) {
                b->next_tick_ms = now_ms + TICK_DEBOUNCE_MS;
                b->event_due = true;
        }
        if (event)
                b->oom_recheck = false;
}

void batch_tick(struct batch *b, int64_t now_ms)
{
        bool event = b->event_due;

        /* Scrapes still out from the previous tick are cancelled: they are no-data. */
        for (size_t i = 0; b->collecting && i < b->n_t; i++) {
                if (b->t[i].sc)
                        scrape_cancel(b->t[i].sc);
                if (b->t[i].pq)
                        promql_source_cancel(b->t[i].pq);
        }
        if (b->collecting)
                evaluate(b);
        b->event_due = false;
        if (event)
                b->last_event_tick_ms = now_ms;
        b->tick_t_ms = now_ms - b->env->start_ms;
        b->collecting = true;
        b->outstanding = 0;
        for (size_t i = 0; i < b->n_t; i++) {
                struct batch_target *t = &b->t[i];

                memset(&t->cur, 0, sizeof(t->cur));
                t->cur.t_ms = b->tick_t_ms;
                t->cur.event = event;
                sample_memory(b, t);
                if (t->sc && scrape_start(t->sc) >= 0)
                        b->outstanding++;
                else if (t->sc)
                        snprintf(t->cur.runtime_error, sizeof(t->cur.runtime_error),
                                 "cannot start the scrape");
        }
        schedule_next(b, event, now_ms);
        if (b->outstanding == 0)
                evaluate(b);
}

void batch_tick_took(struct batch *b, double seconds)
{
        tick_stats_record(&b->ticks, seconds);
}

/* Keeps the OOM baselines the breaker took in the state file, so restarts never re-count.
 * A baseline once found in the state is not looked up again (a lookup is a scan by name)
 * until it changes or batch_reset() clears the state's baselines. */
static bool sync_baselines(struct batch *b)
{
        bool changed = false;

        for (size_t i = 0; i < b->n_t; i++) {
                struct batch_target *t = &b->t[i];
                uint64_t now, old;

                if (!breaker_oom_baseline(b->br, i, &now) ||
                    (t->baseline_saved && t->saved_baseline == now))
                        continue;
                t->baseline_saved = false;
                if (state_baseline_get(b->st, target_name(t), &old) == 0 && old == now)
                        t->baseline_saved = true;
                else if (state_baseline_set(b->st, target_name(t), now) >= 0)
                        t->baseline_saved = changed = true;
                t->saved_baseline = now;
        }
        return changed;
}

/* The current run of armed ticks, for wait --bake: only ticks this agent judged count. */
static void note_healthy(struct batch *b, enum breaker_phase ph)
{
        if (ph != BREAKER_ARMED)
                b->armed_since_t_ms = -1;
        else if (b->armed_since_t_ms < 0)
                b->armed_since_t_ms = b->tick_t_ms;
}

int64_t batch_healthy_ms(const struct batch *b)
{
        return b->armed_since_t_ms < 0 ? 0 : b->tick_t_ms - b->armed_since_t_ms;
}

/* Keeps text as *kept: NULL when empty, a new copy only when it changed (no copy when out of
 * memory: status then lacks that reason). */
static void keep_reason(char **kept, const char *text)
{
        if (*kept && strcmp(*kept, text) == 0)
                return;
        free(*kept);
        *kept = text[0] ? strdup(text) : NULL;
}

static void keep_last(struct batch_target *t)
{
        const struct sample *s = &t->cur;

        t->last.has_current = s->memory.has_current;
        t->last.has_max = s->memory.has_max;
        t->last.max_unlimited = s->memory.max_unlimited;
        t->last.max_bytes = s->memory.max_bytes;
        t->last.oom_kill = s->memory.has_oom_kill ? s->memory.oom_kill : 0;
        t->last.has_runtime =
                s->runtime.has_gc_count || s->runtime.has_heap_used || s->runtime.has_heap_max;
        keep_reason(&t->last.memory_error, s->memory_error);
        keep_reason(&t->last.runtime_error, s->runtime_error);
}

static void evaluate(struct batch *b)
{
        const struct sample *samples[POLICY_TARGETS_MAX];
        const struct breaker_transition *tr;
        enum breaker_phase before = breaker_phase(b->br), ph;
        size_t n;

        b->collecting = false;
        for (size_t i = 0; i < b->n_t; i++) {
                samples[i] = &b->t[i].cur;
                keep_last(&b->t[i]);
        }
        breaker_step(b->br, b->tick_t_ms, samples, b->n_t);
        /* After the step: a line carries the forecast the rule saw (none once latched). */
        batch_write_trace(b, !breaker_phase_latched(before) && before != BREAKER_PROMOTED);
        if (log_enabled(LOG_LEVEL_DEBUG))
                batch_log_tick(b);
        tr = breaker_transitions(b->br, &n);
        for (size_t i = 0; i < n; i++)
                batch_log_transition(b, &tr[i]);
        if (sync_baselines(b))
                b->state_dirty = true;
        ph = breaker_phase(b->br);
        note_healthy(b, ph);
        if (ph != before && ph == BREAKER_TRIPPED)
                batch_announce_trip(b, breaker_trip(b->br));
        if (!breaker_phase_latched(ph) && b->st->phase != ph) {
                /* Also after a restart or reload, where the breaker starts armed afresh. */
                b->st->phase = ph;
                b->state_dirty = true;
        }
        batch_act(b, batch_now_ms(b));
        if (b->env->evaluated)
                b->env->evaluated(b->env->userdata);
}
