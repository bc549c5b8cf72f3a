/* SPDX-License-Identifier: MIT */
/*
 * The batch as the one writer of its state file: it records the trip, records each action
 * outcome the runner hands back, and saves; nothing is sent before it is on disk.
 */
#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "batch-internal.h"
#include "clock.h"
#include "log.h"
#include "units.h"

int64_t batch_now_ms(const struct batch *b)
{
        return b->env->now_ms ? b->env->now_ms() : mono_ms();
}

int batch_save_state(struct batch *b)
{
        int r = state_save(b->env->state_dir, b->st);

        if (r < 0)
                batch_log(LOG_LEVEL_ERR, b, "batch %s: cannot save its state in %s: %s", b->p->name,
                          b->env->state_dir, strerror(-r));
        return r;
}

/*
 * Saves what is unsaved, logging a failure for action (NULL: the batch); a failure is tried
 * again at the next tick or a second later. Returns 0 or -errno.
 */
static int persist(struct batch *b, int64_t now_ms, const char *action)
{
        int r = action ? state_save(b->env->state_dir, b->st) : batch_save_state(b);

        b->state_dirty = r < 0;
        if (r >= 0)
                return 0;
        b->save_due_ms = now_ms + BATCH_SAVE_RETRY_MS;
        if (action)
                log_full(LOG_LEVEL_ERR, LOG_FIELDS(.batch = b->p->name, .action = action),
                         "batch %s: action %s: cannot save the state file in %s: %s", b->p->name,
                         action, b->env->state_dir, strerror(-r));
        return r;
}

/* Puts a latched trip into the state (in memory). Fails only for want of memory or entropy. */
static void record_trip(struct batch *b)
{
        int r = state_begin_trip(b->st, breaker_trip(b->br), time(NULL), b->p->actions,
                                 b->p->n_actions, b->p->release);

        if (r < 0) {
                if (!b->record_failing)
                        batch_log(LOG_LEVEL_ERR, b,
                                  "batch %s: cannot record the trip: %s; trying again every "
                                  "tick, and no action is sent before it is recorded",
                                  b->p->name, strerror(-r));
                b->record_failing = true;
                return;
        }
        b->record_failing = false;
        b->state_dirty = true;
        /* For scripts/bench-reaction.sh: compared with the receiver's arrival time. */
        batch_log(LOG_LEVEL_DEBUG, b, "batch %s: trip %s evaluated at mono_ns=%llu", b->p->name,
                  b->st->trip.id, (unsigned long long)mono_ns());
}

static bool actions_wanted(struct batch *b)
{
        if (!b->st->has_trip || b->st->phase != BREAKER_TRIPPED)
                return false;
        if (b->p->dry_run) {
                if (!b->dry_run_noted)
                        batch_log(LOG_LEVEL_WARNING, b,
                                  "batch %s: dry run: the pending actions of trip %s are not "
                                  "sent",
                                  b->p->name, b->st->trip.id);
                b->dry_run_noted = true;
                return false;
        }
        return true;
}

/* Records an attempt before it is sent: a crash after sending resumes under the same key. */
static void record_attempt(struct batch *b, const struct actions_outcome *o, int64_t now_ms)
{
        struct state_action *x = &b->st->actions[o->action];
        bool was_dirty = b->state_dirty;
        char warning[512];

        state_action_begin_attempt(x);
        if (persist(b, now_ms, x->name) < 0) {
                state_action_undo_attempt(x); /* not recorded, so not sent */
                b->state_dirty = was_dirty;
                actions_defer(b->act, now_ms + BATCH_SAVE_RETRY_MS);
                return;
        }
        log_full(LOG_LEVEL_NOTICE, LOG_FIELDS(.batch = b->p->name, .action = x->name),
                 "batch %s: action %s: attempt %u of %u (Idempotency-Key %s)", b->p->name, x->name,
                 o->attempt, o->max_attempts, x->key);
        if (actions_send(b->act, now_ms, warning, sizeof(warning)) > 0)
                log_full(LOG_LEVEL_WARNING, LOG_FIELDS(.batch = b->p->name, .action = x->name),
                         "batch %s: action %s: %s", b->p->name, x->name, warning);
}

static void log_outcome(const struct batch *b, const struct actions_outcome *o, const char *name)
{
        char in[32];

        units_format_duration(o->retry_in_ms > 0 ? (uint64_t)o->retry_in_ms : 0, in, sizeof(in));
        if (o->kind == ACTIONS_EVENT_DONE)
                log_full(LOG_LEVEL_NOTICE, LOG_FIELDS(.batch = b->p->name, .action = name),
                         "batch %s: action %s done after %u attempt(s): %s", b->p->name, name,
                         o->attempt, o->result);
        else if (o->kind == ACTIONS_EVENT_RETRY)
                log_full(LOG_LEVEL_WARNING, LOG_FIELDS(.batch = b->p->name, .action = name),
                         "batch %s: action %s attempt %u failed: %s; retrying in %s", b->p->name,
                         name, o->attempt, o->result, in);
        else
                log_full(LOG_LEVEL_ERR, LOG_FIELDS(.batch = b->p->name, .action = name),
                         "batch %s: action %s failed after %u attempt(s): %s%s", b->p->name, name,
                         o->attempt, o->result,
                         b->st->actions[o->action].stop_on_failure
                                 ? "; on_failure = stop: no later action runs"
                                 : "");
}

/* The breaker follows the state once the chain has ended: rolled_back, or failed. */
static void follow_phase(struct batch *b)
{
        enum breaker_phase ph = b->st->phase;
        char failed[256] = "";
        size_t n = 0;

        if (ph == breaker_phase(b->br) || (ph != BREAKER_ROLLED_BACK && ph != BREAKER_FAILED))
                return;
        breaker_set_phase(b->br, ph);
        if (ph == BREAKER_ROLLED_BACK) {
                log_full(LOG_LEVEL_NOTICE, LOG_FIELDS(.batch = b->p->name, .phase = "rolled_back"),
                         "batch %s: rolled_back: every action is done", b->p->name);
                return;
        }
        for (size_t i = 0; i < b->st->n_actions && n < sizeof(failed); i++)
                if (b->st->actions[i].status == STATE_ACTION_FAILED)
                        n += (size_t)snprintf(failed + n, sizeof(failed) - n, "%s%s", n ? ", " : "",
                                              b->st->actions[i].name);
        log_full(LOG_LEVEL_ERR, LOG_FIELDS(.batch = b->p->name, .phase = "failed"),
                 "batch %s: failed: action(s) %s did not succeed", b->p->name, failed);
}

static void record_finish(struct batch *b, const struct actions_outcome *o, int64_t now_ms)
{
        static const enum state_action_status status[_ACTIONS_EVENT_MAX] = {
                [ACTIONS_EVENT_DONE] = STATE_ACTION_DONE,
                [ACTIONS_EVENT_RETRY] = STATE_ACTION_PENDING,
                [ACTIONS_EVENT_FAILED] = STATE_ACTION_FAILED,
        };
        struct state_action *x = &b->st->actions[o->action];
        size_t ai = 0;

        state_action_finish(b->st, x, status[o->kind], o->result);
        log_outcome(b, o, x->name);
        while (ai < b->p->n_actions && strcmp(b->p->actions[ai].name, x->name))
                ai++;
        if (ai < b->p->n_actions)
                b->attempts[ai][o->kind == ACTIONS_EVENT_DONE ? 0 : 1]++;
        /* A failed save keeps the outcome in memory; the next save carries it. */
        persist(b, now_ms, x->name);
        follow_phase(b);
        if (b->env->evaluated)
                b->env->evaluated(b->env->userdata);
}

static int start_actions(struct batch *b)
{
        uint64_t seed;

        if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
                seed = mono_ns();
        if (actions_new(b->p, b->st, b->env->http, b->env->host, seed, &b->act) < 0) {
                batch_log(LOG_LEVEL_ERR, b, "batch %s: out of memory starting the actions",
                          b->p->name);
                return -ENOMEM;
        }
        return 0;
}

void batch_run_actions(struct batch *b, int64_t now_ms)
{
        struct actions_outcome o;

        if (actions_wanted(b) && (b->act || start_actions(b) >= 0))
                while (actions_next(b->act, now_ms, &o) > 0) {
                        if (o.kind == ACTIONS_EVENT_ATTEMPT)
                                record_attempt(b, &o, now_ms);
                        else
                                record_finish(b, &o, now_ms);
                }
        if (b->state_dirty && now_ms >= b->save_due_ms)
                persist(b, now_ms, NULL);
}

void batch_act(struct batch *b, int64_t now_ms)
{
        if (breaker_phase_latched(breaker_phase(b->br)) && !b->st->has_trip)
                record_trip(b);
        /* Every tick tries an unsaved state again. The save that records the first attempt
         * records the trip too: one fsync, not two, before the first request. */
        b->save_due_ms = now_ms;
        batch_run_actions(b, now_ms);
        if (b->state_dirty && b->st->has_trip && b->st->phase == BREAKER_TRIPPED)
                batch_log(LOG_LEVEL_ERR, b, "batch %s: the actions wait until the trip is saved",
                          b->p->name);
}

int64_t batch_actions_due_ms(const struct batch *b)
{
        int64_t due = b->state_dirty ? b->save_due_ms : INT64_MAX, a = INT64_MAX;

        if (b->st->has_trip && b->st->phase == BREAKER_TRIPPED && !b->p->dry_run)
                a = b->act ? actions_next_due_ms(b->act, batch_now_ms(b)) : 0;
        return a < due ? a : due;
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
