/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actions.h"
#include "batch.h"
#include "log.h"
#include "report.h"
#include "rules.h"
#include "scrape.h"
#include "trace.h"
#include "util.h"

struct batch_target {
        struct batch *b;
        size_t index;
        char path[CGROUP_PATH_MAX];
        struct cgroup_hierarchy *own_hierarchy; /* from the target's cgroup_root */
        struct cgroup_target *cg;
        struct scrape *sc;
        struct sample cur;  /* the tick being collected */
        struct sample last; /* the last evaluated tick, for status */
        bool scrape_failing;
        bool was_gone;
        uint64_t errors[2]; /* sample_errors_total: [0] cgroup, [1] metrics */
};

struct batch {
        struct policy *p;
        struct policy *pending; /* a changed policy that waits for the latch to be reset */
        struct stat file;
        struct batch_env *env;
        struct breaker *br;
        struct state *st;
        struct actions *act;
        struct batch_target *t;
        size_t n_t;
        int64_t next_tick_ms;
        int64_t tick_t_ms;
        size_t outstanding; /* scrapes of the tick still out */
        bool collecting;
        uint64_t trips_total;
        uint64_t (*attempts)[2]; /* per action: [0] ok, [1] error */
        bool state_dirty;        /* the state changed and is not on disk yet */
};

static const char *target_name(const struct batch_target *t)
{
        return t->b->p->targets[t->index].name;
}

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

enum breaker_phase batch_phase(const struct batch *b)
{
        return breaker_phase(b->br);
}

static int save_state(struct batch *b)
{
        int r = state_save(b->env->state_dir, b->st);

        if (r < 0)
                log_error("batch %s: cannot save its state in %s: %s", b->p->name,
                          b->env->state_dir, strerror(-r));
        return r;
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
                        log_warning("batch %s, instance %s: scrape of %s failed: %s (logged "
                                    "once until it recovers)",
                                    b->p->name, target_name(t), b->p->targets[t->index].metrics_url,
                                    reason);
        } else if (t->scrape_failing) {
                log_notice("batch %s, instance %s: scrape of %s works again", b->p->name,
                           target_name(t), b->p->targets[t->index].metrics_url);
        }
        t->scrape_failing = failed;
        if (b->outstanding > 0 && --b->outstanding == 0 && b->collecting)
                evaluate(b);
}

static int target_open(struct batch *b, size_t i)
{
        const struct policy_target *pt = &b->p->targets[i];
        struct batch_target *t = &b->t[i];
        struct cgroup_hierarchy *h = b->env->hierarchy;
        char err[CGROUP_ERROR_MAX] = "";
        int r;

        t->b = b;
        t->index = i;
        r = cgroup_target_path(pt->cgroup, pt->unit, t->path);
        if (r < 0) {
                log_error("batch %s, target %s: bad cgroup path", b->p->name, pt->name);
                return r;
        }
        if (pt->cgroup_root) {
                r = cgroup_hierarchy_open(pt->cgroup_root, err, &t->own_hierarchy);
                if (r < 0) {
                        log_error("batch %s, target %s: cgroup_root: %s", b->p->name, pt->name,
                                  err);
                        return r;
                }
                h = t->own_hierarchy;
        }
        if (!h) {
                log_error("batch %s, target %s: no memory cgroup hierarchy (see --cgroup-root)",
                          b->p->name, pt->name);
                return -ENOMEDIUM;
        }
        r = cgroup_target_new(h, t->path, &t->cg);
        if (r >= 0 && pt->metrics_url)
                r = scrape_new(b->env->http, pt, scrape_done, t, &t->sc);
        if (r < 0)
                log_error("batch %s, target %s: cannot set up sampling: %s", b->p->name, pt->name,
                          strerror(-r));
        return r;
}

static void targets_free(struct batch *b)
{
        for (size_t i = 0; b->t && i < b->n_t; i++) {
                scrape_free(b->t[i].sc);
                cgroup_target_free(b->t[i].cg);
                cgroup_hierarchy_free(b->t[i].own_hierarchy);
        }
        free(b->t);
        b->t = NULL;
        b->n_t = 0;
}

static int targets_new(struct batch *b)
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
                        log_warning("batch %s, instance %s: cgroup %s is gone: %s (no data "
                                    "until it is back)",
                                    b->p->name, target_name(t), t->path, t->cur.memory_error);
                else
                        log_notice("batch %s, instance %s: cgroup %s is back", b->p->name,
                                   target_name(t), t->path);
        }
}

void batch_tick(struct batch *b, int64_t now_ms)
{
        int64_t interval = (int64_t)b->p->interval_ms;

        /* Scrapes still out from the previous tick are cancelled: they are no-data. */
        for (size_t i = 0; b->collecting && i < b->n_t; i++)
                if (b->t[i].sc)
                        scrape_cancel(b->t[i].sc);
        if (b->collecting)
                evaluate(b);
        b->tick_t_ms = now_ms - b->env->start_ms;
        b->collecting = true;
        b->outstanding = 0;
        for (size_t i = 0; i < b->n_t; i++) {
                struct batch_target *t = &b->t[i];

                memset(&t->cur, 0, sizeof(t->cur));
                t->cur.t_ms = b->tick_t_ms;
                sample_memory(b, t);
                if (t->sc && scrape_start(t->sc) >= 0)
                        b->outstanding++;
                else if (t->sc)
                        snprintf(t->cur.runtime_error, sizeof(t->cur.runtime_error),
                                 "cannot start the scrape");
        }
        /* The next deadline follows the first one, not the clock, so ticks never drift. */
        do
                b->next_tick_ms += interval;
        while (b->next_tick_ms <= now_ms);
        if (b->outstanding == 0)
                evaluate(b);
}

static void write_trace(struct batch *b)
{
        for (size_t i = 0; b->env->trace && i < b->n_t; i++)
                if (trace_write(b->env->trace, b->p->name, target_name(&b->t[i]), &b->t[i].cur) < 0)
                        log_warning("batch %s: cannot write the trace line", b->p->name);
        if (b->env->trace)
                fflush(b->env->trace);
}

static void reason_from_trip(const struct breaker_trip *bt, struct state_trip_reason *r)
{
        memset(r, 0, sizeof(*r));
        snprintf(r->instance, sizeof(r->instance), "%s", bt->instance);
        snprintf(r->rule, sizeof(r->rule), "%s", bt->rule);
        r->consecutive = bt->consecutive;
        r->limit = bt->limit;
        for (size_t i = 0; i < bt->n_conditions; i++) {
                struct state_condition *c = &r->conditions[r->n_conditions];

                if (!bt->conditions[i].has_value)
                        continue;
                snprintf(c->metric, sizeof(c->metric), "%s",
                         cond_metric_to_string(bt->conditions[i].metric));
                c->value = bt->conditions[i].value;
                c->threshold = bt->conditions[i].threshold;
                r->n_conditions++;
        }
}

/* "memory_ratio 0.95 > 0.92, gc_per_minute 22 > 15" */
static void format_conditions(const struct breaker_trip *bt, char *buf, size_t size)
{
        size_t len = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < bt->n_conditions && len < size; i++) {
                const struct breaker_condition *c = &bt->conditions[i];

                if (c->has_value)
                        len += (size_t)snprintf(buf + len, size - len, "%s%s %g %s %g",
                                                i ? ", " : "", cond_metric_to_string(c->metric),
                                                c->value, c->metric == COND_OOM_KILLS ? ">=" : ">",
                                                c->threshold);
                else
                        len += (size_t)snprintf(buf + len, size - len, "%s%s no data",
                                                i ? ", " : "", cond_metric_to_string(c->metric));
        }
}

static void on_action_event(void *userdata, const struct actions_event *ev);

/* Records the trip in the state file first, then starts the actions. */
static void start_trip(struct batch *b, const struct breaker_trip *bt)
{
        uint64_t evaluated_ns = mono_ns(); /* the tick that tripped is evaluated */
        const char *names[POLICY_ACTIONS_MAX];
        struct state_trip_reason reason;
        char conds[512];
        int r;

        format_conditions(bt, conds, sizeof(conds));
        b->trips_total++;
        log_error("batch %s TRIPPED: instance %s, rule %s, %u/%u in a row: %s", b->p->name,
                  bt->instance, bt->rule, bt->consecutive, bt->limit, conds);
        reason_from_trip(bt, &reason);
        for (size_t i = 0; i < b->p->n_actions; i++)
                names[i] = b->p->actions[i].name;
        r = state_begin_trip(b->st, &reason, bt->t_ms, time(NULL), names, b->p->n_actions);
        if (r < 0) {
                log_error("batch %s: cannot record the trip: %s", b->p->name, strerror(-r));
                return;
        }
        /* For scripts/bench-reaction.sh: compared with the receiver's arrival time. */
        log_debug("batch %s: trip %s evaluated at mono_ns=%llu", b->p->name, b->st->trip_id,
                  (unsigned long long)evaluated_ns);
        if (b->p->n_actions == 0)
                log_notice("batch %s: no actions configured; the trip is only reported",
                           b->p->name);
}

static enum state_phase to_state_phase(enum breaker_phase p)
{
        return (enum state_phase)state_phase_from_string(breaker_phase_to_string(p));
}

static void log_transition(struct batch *b, const struct breaker_transition *tr)
{
        const struct breaker_trip *wt = breaker_would_trip(b->br);
        char conds[512] = "";

        if (tr->dry_run) {
                if (wt)
                        format_conditions(wt, conds, sizeof(conds));
                log_warning("batch %s WOULD TRIP (dry run, nothing is done): instance %s, rule "
                            "%s: %s",
                            b->p->name, tr->instance, tr->rule, conds);
                return;
        }
        if (tr->to == BREAKER_TRIPPED)
                return; /* start_trip() says it with the reason */
        log_notice("batch %s: %s -> %s%s%s%s%s", b->p->name, breaker_phase_to_string(tr->from),
                   breaker_phase_to_string(tr->to), tr->instance[0] ? ", instance " : "",
                   tr->instance, tr->rule[0] ? ", rule " : "", tr->rule);
}

/* Keeps the OOM baselines the breaker took in the state file, so restarts never re-count. */
static bool sync_baselines(struct batch *b)
{
        bool changed = false;

        for (size_t i = 0; i < b->n_t; i++) {
                uint64_t now, old;

                if (!breaker_oom_baseline(b->br, i, &now))
                        continue;
                if (state_baseline_get(b->st, target_name(&b->t[i]), &old) == 0 && old == now)
                        continue;
                if (state_baseline_set(b->st, target_name(&b->t[i]), now) >= 0)
                        changed = true;
        }
        return changed;
}

/*
 * A fresh trip starts its first action at once: the state write that records the attempt
 * (before anything is sent) records the trip too, so the first request leaves after one
 * fsync'd write instead of two. Returns true when that write happened.
 */
static bool start_first_attempt(struct batch *b)
{
        if (!b->st->has_trip || b->st->phase != STATE_PHASE_TRIPPED || b->st->n_actions == 0)
                return false;
        if (!b->act && actions_new(b->p, b->st, b->env->state_dir, b->env->http, b->env->host,
                                   on_action_event, b, &b->act) < 0)
                return false;
        actions_run(b->act, mono_ms());
        return b->st->actions[0].attempts > 0;
}

/* A healthy tick is only worth a line at debug level: each instance's figures and streaks. */
static void log_tick(const struct batch *b)
{
        for (size_t k = 0; k < breaker_n_instances(b->br); k++) {
                char line[1024];
                size_t len = 0;

                for (size_t r = 0; r < b->p->n_rules && len < sizeof(line); r++) {
                        const struct rules_result *res = breaker_last_result(b->br, k, r);

                        len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s %s %u/%u",
                                                r ? ", " : "", b->p->rules[r].name,
                                                res ? rules_outcome_to_string(res->outcome)
                                                    : "none",
                                                breaker_streak(b->br, k, r),
                                                policy_rule_consecutive(b->p, &b->p->rules[r]));
                }
                log_debug("batch %s tick t_ms=%lld instance %s: %s", b->p->name,
                          (long long)b->tick_t_ms, breaker_instance_name(b->br, k), line);
        }
}

static void evaluate(struct batch *b)
{
        const struct sample *samples[POLICY_TARGETS_MAX];
        const struct breaker_transition *tr;
        enum breaker_phase before = breaker_phase(b->br);
        size_t n;
        bool dirty;

        b->collecting = false;
        write_trace(b);
        for (size_t i = 0; i < b->n_t; i++) {
                samples[i] = &b->t[i].cur;
                b->t[i].last = b->t[i].cur;
        }
        breaker_step(b->br, b->tick_t_ms, samples, b->n_t);
        if (log_enabled(LOG_LEVEL_DEBUG))
                log_tick(b);
        tr = breaker_transitions(b->br, &n);
        for (size_t i = 0; i < n; i++)
                log_transition(b, &tr[i]);
        dirty = sync_baselines(b);
        if (breaker_phase(b->br) != before) {
                if (breaker_phase(b->br) == BREAKER_TRIPPED)
                        start_trip(b, breaker_trip(b->br));
                else
                        b->st->phase = to_state_phase(breaker_phase(b->br));
                dirty = true;
        }
        if (dirty)
                b->state_dirty = true;
        if (b->state_dirty && breaker_phase(b->br) == BREAKER_TRIPPED && !b->act)
                b->state_dirty = !start_first_attempt(b);
        if (b->state_dirty)
                b->state_dirty = save_state(b) < 0;
        if (b->state_dirty && breaker_phase(b->br) == BREAKER_TRIPPED)
                log_error("batch %s: the actions wait until the trip is saved", b->p->name);
        if (b->env->evaluated)
                b->env->evaluated(b->env->userdata);
}

static void on_action_event(void *userdata, const struct actions_event *ev)
{
        struct batch *b = userdata;
        size_t ai = 0;

        while (ai < b->p->n_actions && strcmp(b->p->actions[ai].name, ev->action))
                ai++;
        switch (ev->kind) {
        case ACTIONS_EVENT_ATTEMPT:
                log_notice("batch %s: action %s: attempt %u of %u (Idempotency-Key %s)", b->p->name,
                           ev->action, ev->attempt, ev->max_attempts, ev->key);
                return;
        case ACTIONS_EVENT_DONE:
                log_notice("batch %s: action %s done after %u attempt(s): %s", b->p->name,
                           ev->action, ev->attempt, ev->result);
                break;
        case ACTIONS_EVENT_RETRY:
                log_warning("batch %s: action %s attempt %u failed: %s; retrying in %lld ms",
                            b->p->name, ev->action, ev->attempt, ev->result,
                            (long long)ev->retry_in_ms);
                break;
        case ACTIONS_EVENT_FAILED:
                log_error("batch %s: action %s failed after %u attempt(s): %s", b->p->name,
                          ev->action, ev->attempt, ev->result);
                break;
        default:
                log_error("batch %s: action %s: %s", b->p->name, ev->action, ev->result);
                return;
        }
        if (ai < b->p->n_actions)
                b->attempts[ai][ev->kind == ACTIONS_EVENT_DONE ? 0 : 1]++;
        if (b->st->phase == STATE_PHASE_ROLLED_BACK &&
            breaker_phase(b->br) != BREAKER_ROLLED_BACK) {
                breaker_set_phase(b->br, BREAKER_ROLLED_BACK);
                log_notice("batch %s: rolled_back: every action is done", b->p->name);
        } else if (b->st->phase == STATE_PHASE_FAILED && breaker_phase(b->br) != BREAKER_FAILED) {
                breaker_set_phase(b->br, BREAKER_FAILED);
                log_error("batch %s: failed: action %s did not succeed", b->p->name, ev->action);
        }
        if (b->env->evaluated)
                b->env->evaluated(b->env->userdata);
}

void batch_run_actions(struct batch *b, int64_t now_ms)
{
        if (b->state_dirty)
                b->state_dirty = save_state(b) < 0;
        if (b->state_dirty || !b->st->has_trip || b->st->phase != STATE_PHASE_TRIPPED)
                return;
        if (!b->act && actions_new(b->p, b->st, b->env->state_dir, b->env->http, b->env->host,
                                   on_action_event, b, &b->act) < 0) {
                log_error("batch %s: out of memory starting the actions", b->p->name);
                return;
        }
        actions_run(b->act, now_ms);
}

int64_t batch_actions_due_ms(const struct batch *b)
{
        if (b->state_dirty)
                return b->next_tick_ms; /* retried at each tick */
        if (!b->st->has_trip || b->st->phase != STATE_PHASE_TRIPPED)
                return INT64_MAX;
        return b->act ? actions_next_due_ms(b->act) : 0;
}

size_t batch_pollfds(struct batch *b, struct pollfd *fds, size_t max)
{
        return b->act ? actions_pollfds(b->act, fds, max) : 0;
}

void batch_dispatch(struct batch *b, const struct pollfd *fds, size_t n, int64_t now_ms)
{
        if (b->act)
                actions_dispatch(b->act, fds, n, now_ms);
}

static void trip_from_state(const struct state *s, struct breaker_trip *bt)
{
        memset(bt, 0, sizeof(*bt));
        bt->t_ms = s->trip_t_ms;
        snprintf(bt->instance, sizeof(bt->instance), "%s", s->reason.instance);
        snprintf(bt->rule, sizeof(bt->rule), "%s", s->reason.rule);
        bt->consecutive = s->reason.consecutive;
        bt->limit = s->reason.limit;
        for (size_t i = 0; i < s->reason.n_conditions && i < _COND_MAX; i++) {
                struct breaker_condition *c = &bt->conditions[bt->n_conditions];

                for (int m = 0; m < _COND_MAX; m++)
                        if (!strcmp(cond_metric_to_string(m), s->reason.conditions[i].metric)) {
                                c->metric = m;
                                c->has_value = true;
                                c->value = s->reason.conditions[i].value;
                                c->threshold = s->reason.conditions[i].threshold;
                                bt->n_conditions++;
                                break;
                        }
        }
}

/* Loads the state file: a latched trip and a promotion survive; baselines come back. */
static int restore_state(struct batch *b)
{
        struct state_load_error err = { 0 };
        struct breaker_trip bt;
        enum breaker_phase phase;
        int r;

        r = state_load(b->env->state_dir, b->p->name, &b->st, &err);
        if (r == -EBADMSG)
                log_error("batch %s: corrupt state file (%s), moved aside to %s; starting armed",
                          b->p->name, err.reason, err.moved_to[0] ? err.moved_to : "(nowhere)");
        if (r == -ENOENT || r == -EBADMSG) {
                r = state_new(b->p->name, &b->st);
                if (r >= 0)
                        b->state_dirty = true;
                return r;
        }
        if (r < 0) {
                log_error("batch %s: cannot read its state file in %s: %s", b->p->name,
                          b->env->state_dir, strerror(-r));
                return r;
        }
        if (breaker_phase_from_string(state_phase_to_string(b->st->phase), &phase) < 0)
                return -EINVAL;
        if (b->st->has_trip || phase == BREAKER_PROMOTED) {
                trip_from_state(b->st, &bt);
                r = breaker_restore(b->br, phase, b->st->has_trip ? &bt : NULL);
                if (r < 0)
                        return r;
                log_notice("batch %s: restored %s from its state file%s", b->p->name,
                           breaker_phase_to_string(phase),
                           b->st->has_trip ? " (the trip stays latched until reset)" : "");
        }
        for (size_t i = 0; i < b->n_t; i++) {
                uint64_t base;

                if (state_baseline_get(b->st, target_name(&b->t[i]), &base) == 0)
                        breaker_set_oom_baseline(b->br, i, base);
        }
        return 0;
}

int batch_new(struct policy *p, const struct stat *st, struct batch_env *env, int64_t now_ms,
              struct batch **ret)
{
        struct batch *b = calloc(1, sizeof(*b));
        int r;

        if (!b) {
                policy_free(p);
                return -ENOMEM;
        }
        b->p = p;
        b->file = *st;
        b->env = env;
        b->next_tick_ms = now_ms;
        b->attempts = calloc(p->n_actions ? p->n_actions : 1, sizeof(*b->attempts));
        r = b->attempts ? 0 : -ENOMEM;
        if (r >= 0)
                r = targets_new(b);
        if (r >= 0)
                r = breaker_new(p, RULES_WINDOW_MAX, &b->br);
        if (r >= 0)
                r = restore_state(b);
        if (r < 0) {
                batch_free(b);
                return r;
        }
        *ret = b;
        return 0;
}

struct batch *batch_free(struct batch *b)
{
        if (!b)
                return NULL;
        actions_free(b->act);
        targets_free(b);
        breaker_free(b->br);
        state_free(b->st);
        policy_free(b->pending);
        policy_free(b->p);
        free(b->attempts);
        free(b);
        return NULL;
}

/* Swaps in policy p with fresh targets and a fresh breaker; on failure b is unchanged. */
static int rebuild(struct batch *b, struct policy *p)
{
        struct batch tmp = { .p = p, .env = b->env };
        uint64_t(*attempts)[2] = calloc(p->n_actions ? p->n_actions : 1, sizeof(*attempts));
        int r = attempts ? targets_new(&tmp) : -ENOMEM;

        if (r >= 0)
                r = breaker_new(p, RULES_WINDOW_MAX, &tmp.br);
        if (r < 0) {
                for (size_t i = 0; tmp.t && i < tmp.n_t; i++)
                        tmp.t[i].b = &tmp;
                targets_free(&tmp);
                free(attempts);
                return r;
        }
        targets_free(b);
        breaker_free(b->br);
        free(b->attempts);
        policy_free(b->p);
        b->p = p;
        b->t = tmp.t;
        b->n_t = tmp.n_t;
        for (size_t i = 0; i < b->n_t; i++)
                b->t[i].b = b;
        b->br = tmp.br;
        b->attempts = attempts;
        b->collecting = false;
        b->outstanding = 0;
        for (size_t i = 0; i < b->n_t; i++) {
                uint64_t base;

                if (state_baseline_get(b->st, target_name(&b->t[i]), &base) == 0)
                        breaker_set_oom_baseline(b->br, i, base);
        }
        return 0;
}

static bool latched(const struct batch *b)
{
        enum breaker_phase ph = breaker_phase(b->br);

        return ph == BREAKER_TRIPPED || ph == BREAKER_ROLLED_BACK || ph == BREAKER_FAILED;
}

int batch_update_policy(struct batch *b, struct policy *p, const struct stat *st, int64_t now_ms)
{
        bool promoted = breaker_phase(b->br) == BREAKER_PROMOTED;
        int r;

        (void)now_ms;
        b->file = *st;
        if (latched(b)) {
                policy_free(b->pending);
                b->pending = p;
                log_notice("batch %s: policy changed; the batch is latched (%s), so the new "
                           "version applies at reset",
                           b->p->name, breaker_phase_to_string(breaker_phase(b->br)));
                return 0;
        }
        r = rebuild(b, p);
        if (r < 0) {
                log_error("batch %s: cannot apply the changed policy (%s); keeping the old one",
                          b->p->name, strerror(-r));
                policy_free(p);
                return r;
        }
        if (promoted)
                breaker_restore(b->br, BREAKER_PROMOTED, NULL);
        log_notice("batch %s: policy reloaded (%zu targets, %zu rules, every %llu ms)%s",
                   b->p->name, b->p->n_targets, b->p->n_rules,
                   (unsigned long long)b->p->interval_ms, promoted ? ", still promoted" : "");
        return 0;
}

int batch_reset(struct batch *b, int64_t now_ms)
{
        int r;

        b->act = actions_free(b->act);
        state_clear_trip(b->st);
        if (b->pending) {
                r = rebuild(b, b->pending);
                if (r < 0)
                        policy_free(b->pending);
                b->pending = NULL;
        }
        breaker_reset(b->br);
        b->next_tick_ms = now_ms;
        b->state_dirty = save_state(b) < 0;
        log_notice("batch %s: reset: armed again (OOM kills are counted afresh)", b->p->name);
        return b->state_dirty ? -EIO : 0;
}

int batch_promote(struct batch *b)
{
        int r = breaker_promote(b->br);

        if (r < 0)
                return r;
        b->st->phase = STATE_PHASE_PROMOTED;
        b->state_dirty = save_state(b) < 0;
        log_notice("batch %s: promoted: no longer watched", b->p->name);
        return b->state_dirty ? -EIO : 0;
}

static const char *const figure_keys[_COND_MAX] = {
        [COND_MEMORY_RATIO] = "memory_ratio",   [COND_MEMORY_BYTES] = "working_set",
        [COND_MEMORY_GROWTH] = "memory_growth", [COND_GC_PER_MINUTE] = "gc_per_minute",
        [COND_HEAP_RATIO] = "heap_ratio",       [COND_OOM_KILLS] = "oom_kills",
        [COND_PSI_SOME] = "psi_some_avg10",     [COND_PSI_FULL] = "psi_full_avg10",
};

/* A target's last figures and why any are missing. */
static void add_figures(const struct batch *b, size_t i, json_t *o)
{
        const struct rules_figures *f = breaker_target_figures(b->br, i);
        const struct sample *s = &b->t[i].last;

        for (int m = 0; f && m < _COND_MAX; m++)
                if (f->has[m])
                        json_object_set_new(o, figure_keys[m], json_real(f->value[m]));
        if (s->memory.has_max && !s->memory.max_unlimited)
                json_object_set_new(o, "limit", json_integer((json_int_t)s->memory.max_bytes));
        else if (b->p->targets[i].memory_limit_bytes)
                json_object_set_new(o, "limit",
                                    json_integer((json_int_t)b->p->targets[i].memory_limit_bytes));
        if (s->memory_error[0])
                json_object_set_new(o, "memory_error", json_string(s->memory_error));
        if (s->runtime_error[0])
                json_object_set_new(o, "runtime_error", json_string(s->runtime_error));
        /* "error" is for a missing input; a series the preset simply lacks is only detail. */
        if (s->memory_error[0] && !s->memory.has_current)
                json_object_set_new(o, "error", json_string(s->memory_error));
        else if (s->runtime_error[0] && !s->runtime.has_gc_count && !s->runtime.has_heap_used &&
                 !s->runtime.has_heap_max)
                json_object_set_new(o, "error", json_string(s->runtime_error));
}

static json_t *streaks_json(const struct batch *b, size_t inst)
{
        json_t *a = json_array();

        for (size_t r = 0; a && r < b->p->n_rules; r++) {
                const struct rules_result *res = breaker_last_result(b->br, inst, r);

                json_array_append_new(
                        a, json_pack("{s:s, s:I, s:I, s:I, s:s}", "rule", b->p->rules[r].name,
                                     "streak", (json_int_t)breaker_streak(b->br, inst, r), "limit",
                                     (json_int_t)policy_rule_consecutive(b->p, &b->p->rules[r]),
                                     "no_data", (json_int_t)breaker_no_data(b->br, inst, r), "last",
                                     res ? rules_outcome_to_string(res->outcome) : "none"));
        }
        return a;
}

json_t *batch_status_json(const struct batch *b)
{
        json_t *o = report_state_json(b->st), *inst = json_array(), *targets = json_array();
        bool batch_scope = b->p->scope == POLICY_SCOPE_BATCH;

        if (!o || !inst || !targets) {
                json_decref(o);
                json_decref(inst);
                json_decref(targets);
                return NULL;
        }
        json_object_set_new(o, "phase", json_string(breaker_phase_to_string(batch_phase(b))));
        json_object_set_new(o, "scope", json_string(policy_scope_to_string(b->p->scope)));
        json_object_set_new(o, "interval_ms", json_integer((json_int_t)b->p->interval_ms));
        json_object_set_new(o, "dry_run", json_boolean(b->p->dry_run));
        for (size_t k = 0; k < breaker_n_instances(b->br); k++) {
                json_t *x = json_pack("{s:s, s:o}", "instance", breaker_instance_name(b->br, k),
                                      "streaks", streaks_json(b, k));

                if (x && !batch_scope)
                        add_figures(b, k, x);
                json_array_append_new(inst, x);
        }
        for (size_t i = 0; i < b->n_t; i++) {
                json_t *x = json_pack("{s:s, s:s, s:b}", "instance", target_name(&b->t[i]),
                                      "cgroup", b->t[i].path, "gone", b->t[i].was_gone);

                if (x)
                        add_figures(b, i, x);
                json_array_append_new(targets, x);
        }
        json_object_set_new(o, "instances", inst);
        json_object_set_new(o, "targets", targets);
        if (breaker_would_trip(b->br))
                json_object_set_new(o, "would_trip", json_true());
        return o;
}

static void target_gauge(const struct batch *b, const char *family, enum cond_metric m, FILE *f)
{
        for (size_t i = 0; i < b->n_t; i++) {
                const struct rules_figures *fig = breaker_target_figures(b->br, i);

                if (fig && fig->has[m])
                        fprintf(f, "%s{batch=\"%s\",instance=\"%s\"} %.17g\n", family, b->p->name,
                                target_name(&b->t[i]), fig->value[m]);
        }
}

void batch_metrics(const struct batch *b, const char *family, FILE *f)
{
        const char *n = b->p->name;

        if (!strcmp(family, "oombreaker_batch_state")) {
                for (int ph = 0; ph < _BREAKER_PHASE_MAX; ph++)
                        fprintf(f, "%s{batch=\"%s\",state=\"%s\"} %d\n", family, n,
                                breaker_phase_to_string(ph), ph == (int)batch_phase(b));
        } else if (!strcmp(family, "oombreaker_breach_streak")) {
                for (size_t k = 0; k < breaker_n_instances(b->br); k++)
                        for (size_t r = 0; r < b->p->n_rules; r++)
                                fprintf(f, "%s{batch=\"%s\",instance=\"%s\",rule=\"%s\"} %u\n",
                                        family, n, breaker_instance_name(b->br, k),
                                        b->p->rules[r].name, breaker_streak(b->br, k, r));
        } else if (!strcmp(family, "oombreaker_trips_total")) {
                fprintf(f, "%s{batch=\"%s\"} %llu\n", family, n,
                        (unsigned long long)b->trips_total);
        } else if (!strcmp(family, "oombreaker_action_attempts_total")) {
                for (size_t a = 0; a < b->p->n_actions; a++)
                        for (int ok = 0; ok < 2; ok++)
                                fprintf(f, "%s{batch=\"%s\",action=\"%s\",result=\"%s\"} %llu\n",
                                        family, n, b->p->actions[a].name, ok ? "error" : "ok",
                                        (unsigned long long)b->attempts[a][ok]);
        } else if (!strcmp(family, "oombreaker_memory_working_set_bytes")) {
                target_gauge(b, family, COND_MEMORY_BYTES, f);
        } else if (!strcmp(family, "oombreaker_memory_ratio")) {
                target_gauge(b, family, COND_MEMORY_RATIO, f);
        } else if (!strcmp(family, "oombreaker_gc_per_minute")) {
                target_gauge(b, family, COND_GC_PER_MINUTE, f);
        } else if (!strcmp(family, "oombreaker_sample_errors_total")) {
                for (size_t i = 0; i < b->n_t; i++)
                        for (int src = 0; src < 2; src++)
                                fprintf(f, "%s{batch=\"%s\",instance=\"%s\",source=\"%s\"} %llu\n",
                                        family, n, target_name(&b->t[i]),
                                        src ? "metrics" : "cgroup",
                                        (unsigned long long)b->t[i].errors[src]);
        }
}
