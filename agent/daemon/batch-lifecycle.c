/* SPDX-License-Identifier: MIT */
/*
 * A batch's life outside its ticks: built from a policy and its state file, updated on
 * reload, reset and promoted by the pipeline, freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "batch-internal.h"
#include "event-tick.h"
#include "log.h"
#include "rules.h"
#include "units.h"

/* Loads the state file: a latched trip and a promotion survive; baselines come back. */
static int restore_state(struct batch *b)
{
        struct state_load_error err = { 0 };
        enum breaker_phase phase;
        int r;

        r = state_load(b->env->state_dir, b->p->name, &b->st, &err);
        if (r == 1) {
                log_error("batch %s: corrupt state file (%s), moved aside to %s; loaded the "
                          "copy its last save kept (.prev)",
                          b->p->name, err.reason, err.moved_to[0] ? err.moved_to : "(nowhere)");
                b->state_dirty = true; /* the main file is written again at once */
        }
        if (r == -EBADMSG)
                batch_log(LOG_LEVEL_ERR, b,
                          "batch %s: corrupt state file (%s), moved aside to %s; starting armed",
                          b->p->name, err.reason, err.moved_to[0] ? err.moved_to : "(nowhere)");
        if (r == -ENOENT || r == -EBADMSG) {
                r = state_new(b->p->name, &b->st);
                if (r >= 0)
                        b->state_dirty = true;
                return r;
        }
        if (r < 0) {
                batch_log(LOG_LEVEL_ERR, b, "batch %s: cannot read its state file in %s: %s",
                          b->p->name, b->env->state_dir, strerror(-r));
                return r;
        }
        phase = b->st->phase;
        if (b->st->has_trip || phase == BREAKER_PROMOTED) {
                r = breaker_restore(b->br, phase, b->st->has_trip ? &b->st->trip : NULL);
                if (r < 0)
                        return r;
                batch_log(LOG_LEVEL_NOTICE, b, "batch %s: restored %s from its state file%s",
                          b->p->name, breaker_phase_to_string(phase),
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
        b->armed_since_t_ms = -1;
        b->last_event_tick_ms = TICK_NEVER;
        b->attempts = calloc(p->n_actions ? p->n_actions : 1, sizeof(*b->attempts));
        r = b->attempts ? 0 : -ENOMEM;
        if (r >= 0)
                r = batch_targets_new(b);
        if (r >= 0)
                r = breaker_new(p, 0, &b->br);
        if (r >= 0)
                r = restore_state(b);
        if (r >= 0)
                batch_events_open(b);
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
        batch_targets_free(b);
        breaker_free(b->br);
        state_free(b->st);
        policy_free(b->pending);
        policy_free(b->p);
        free(b->attempts);
        free(b);
        return NULL;
}

/* Prometheus counters must not drop on a reload: carry them over by action and target name. */
static void carry_counters(const struct batch *old, struct batch *new, uint64_t (*attempts)[2])
{
        for (size_t i = 0; i < new->p->n_actions; i++)
                for (size_t j = 0; j < old->p->n_actions; j++)
                        if (!strcmp(new->p->actions[i].name, old->p->actions[j].name))
                                memcpy(attempts[i], old->attempts[j], sizeof(attempts[i]));
        for (size_t i = 0; i < new->n_t; i++)
                for (size_t j = 0; j < old->n_t; j++)
                        if (!strcmp(target_name(&new->t[i]), target_name(&old->t[j])))
                                memcpy(new->t[i].errors, old->t[j].errors,
                                       sizeof(new->t[i].errors));
}

/* Swaps in policy p with fresh targets and a fresh breaker; on failure b is unchanged. */
static int rebuild(struct batch *b, struct policy *p)
{
        struct batch tmp = { .p = p, .env = b->env };
        uint64_t(*attempts)[2] = calloc(p->n_actions ? p->n_actions : 1, sizeof(*attempts));
        int r = attempts ? batch_targets_new(&tmp) : -ENOMEM;

        if (r >= 0)
                r = breaker_new(p, 0, &tmp.br);
        if (r < 0) {
                for (size_t i = 0; tmp.t && i < tmp.n_t; i++)
                        tmp.t[i].b = &tmp;
                batch_targets_free(&tmp);
                free(attempts);
                return r;
        }
        carry_counters(b, &tmp, attempts);
        batch_targets_free(b);
        breaker_free(b->br);
        free(b->attempts);
        policy_free(b->p);
        b->p = p;
        b->t = tmp.t;
        b->n_t = tmp.n_t;
        for (size_t i = 0; i < b->n_t; i++)
                b->t[i].b = b;
        batch_events_open(b);
        b->br = tmp.br;
        b->armed_since_t_ms = -1; /* a new policy bakes afresh */
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

int batch_update_policy(struct batch *b, struct policy *p, const struct stat *st, int64_t now_ms)
{
        bool promoted = breaker_phase(b->br) == BREAKER_PROMOTED;
        char every[32];
        int r;

        b->file = *st;
        if (breaker_phase_latched(breaker_phase(b->br))) {
                policy_free(b->pending);
                b->pending = p;
                batch_log(LOG_LEVEL_NOTICE, b,
                          "batch %s: policy changed; the batch is latched (%s), so the new "
                          "version applies at reset",
                          b->p->name, breaker_phase_to_string(breaker_phase(b->br)));
                return 0;
        }
        r = rebuild(b, p);
        if (r < 0) {
                batch_log(LOG_LEVEL_ERR, b,
                          "batch %s: cannot apply the changed policy (%s); keeping the old one",
                          b->p->name, strerror(-r));
                policy_free(p);
                return r;
        }
        if (promoted)
                breaker_restore(b->br, BREAKER_PROMOTED, NULL);
        /* A shorter interval applies now, not after the old, longer one runs out. */
        if (b->next_tick_ms > now_ms + (int64_t)b->p->interval_ms)
                b->next_tick_ms = now_ms;
        units_format_duration(b->p->interval_ms, every, sizeof(every));
        batch_log(LOG_LEVEL_NOTICE, b,
                  "batch %s: policy reloaded (%zu targets, %zu rules, every %s)%s", b->p->name,
                  b->p->n_targets, b->p->n_rules, every, promoted ? ", still promoted" : "");
        return 0;
}

int batch_reset(struct batch *b, int64_t now_ms, const char *release)
{
        struct policy *next = b->pending ? b->pending : b->p;
        int r;

        /* The generation counts for the policy the batch runs next, so that nodes that hold
         * the same policy stay in step whether it arrived before or after their trip. */
        r = state_release_reset(b->st, next->release, release);
        if (r < 0)
                return r;
        b->act = actions_free(b->act);
        state_clear_trip(b->st); /* and the baselines */
        for (size_t i = 0; i < b->n_t; i++)
                b->t[i].baseline_saved = false;
        if (b->pending) {
                r = rebuild(b, b->pending);
                if (r < 0)
                        policy_free(b->pending);
                b->pending = NULL;
        }
        breaker_reset(b->br);
        b->next_tick_ms = now_ms;
        b->state_dirty = batch_save_state(b) < 0;
        log_full(LOG_LEVEL_NOTICE, LOG_FIELDS(.batch = b->p->name, .phase = "armed"),
                 "batch %s: reset: armed again (OOM kills are counted afresh); keys now use "
                 "release %s, generation %u",
                 b->p->name, b->st->release.id, b->st->release.generation);
        return b->state_dirty ? -EIO : 0;
}

int batch_promote(struct batch *b)
{
        int r = breaker_promote(b->br);

        if (r < 0)
                return r;
        b->st->phase = BREAKER_PROMOTED;
        b->state_dirty = batch_save_state(b) < 0;
        log_full(LOG_LEVEL_NOTICE, LOG_FIELDS(.batch = b->p->name, .phase = "promoted"),
                 "batch %s: promoted: no longer watched", b->p->name);
        return b->state_dirty ? -EIO : 0;
}

int batch_trip(struct batch *b, const char *text, int64_t now_ms)
{
        int64_t t_ms = now_ms > b->env->start_ms ? now_ms - b->env->start_ms : 0;
        int r = breaker_trip_manual(b->br, t_ms, text);

        if (r < 0)
                return r;
        b->trips_total++;
        log_error("batch %s TRIPPED by hand: %s", b->p->name, text);
        /* Recorded and saved (with the first attempt) before the caller hears of it. */
        batch_act(b, now_ms);
        return b->st->has_trip && !b->state_dirty ? 0 : -EIO;
}
