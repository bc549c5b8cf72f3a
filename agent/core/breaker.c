/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "breaker-internal.h"
#include "event-tick.h"
#include "util.h"

/* A rule takes a rate, or a target has runtime metrics (whose GC rate status shows). */
static bool needs_window(const struct policy *p)
{
        for (size_t i = 0; i < p->n_rules; i++)
                if (p->rules[i].has[COND_MEMORY_GROWTH] || p->rules[i].has[COND_GC_PER_MINUTE])
                        return true;
        for (size_t i = 0; i < p->n_targets; i++)
                if (p->targets[i].metrics_url)
                        return true;
        return false;
}

/*
 * Points per window: none when no rule takes a rate (its figures are then no-data, and
 * 1000 targets save ~2 MiB); otherwise a minute of regular ticks, plus a storm of event
 * ticks (one per TICK_DEBOUNCE_MS) over half an interval, so that the sample half an
 * interval old that a rate needs survives the storm; at most RULES_WINDOW_MAX.
 */
static size_t window_cap_for(const struct policy *p, size_t window_cap)
{
        size_t cap = window_cap;

        if (cap == 0 && !needs_window(p))
                return 0;
        if (cap == 0)
                cap = p->interval_ms > 0 ? RULES_WINDOW_MS / p->interval_ms +
                                                   p->interval_ms / (2 * TICK_DEBOUNCE_MS) + 2
                                         : RULES_WINDOW_MAX;
        if (cap < 2)
                cap = 2;
        return cap < RULES_WINDOW_MAX ? cap : RULES_WINDOW_MAX;
}

int breaker_new(const struct policy *p, size_t window_cap, struct breaker **ret)
{
        struct breaker *b;
        size_t cap = window_cap_for(p, window_cap), n_pairs;
        int64_t min_span = p->interval_ms / 2;

        if (p->n_targets == 0 || p->n_rules == 0)
                return -EINVAL;
        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->p = p;
        b->n_inst = p->scope == POLICY_SCOPE_BATCH ? 1 : p->n_targets;
        n_pairs = b->n_inst * p->n_rules;
        b->targets = calloc(p->n_targets, sizeof(*b->targets));
        b->storage = cap ? calloc((p->n_targets + 1) * cap, sizeof(*b->storage)) : NULL;
        b->pairs = calloc(n_pairs, sizeof(*b->pairs));
        b->tv = calloc(n_pairs + 1, sizeof(*b->tv));
        if (policy_uses_metric(p, COND_TIME_TO_LIMIT))
                b->forecasts = calloc(p->n_targets + 1, sizeof(*b->forecasts));
        if (!b->targets || (cap && !b->storage) || !b->pairs || !b->tv ||
            (!b->forecasts && policy_uses_metric(p, COND_TIME_TO_LIMIT))) {
                breaker_free(b);
                return -ENOMEM;
        }
        for (size_t i = 0; i < p->n_targets; i++) {
                rules_window_init(&b->targets[i].window, cap ? b->storage + i * cap : NULL, cap,
                                  min_span);
                b->targets[i].fc = b->forecasts ? &b->forecasts[i] : NULL;
        }
        b->batch_fc = b->forecasts ? &b->forecasts[p->n_targets] : NULL;
        rules_window_init(&b->batch_window, cap ? b->storage + p->n_targets * cap : NULL, cap,
                          min_span);
        *ret = b;
        return 0;
}

struct breaker *breaker_free(struct breaker *b)
{
        if (!b)
                return NULL;
        free(b->targets);
        free(b->storage);
        free(b->pairs);
        free(b->tv);
        free(b->forecasts);
        free(b);
        return NULL;
}

static unsigned rule_limit(const struct policy *p, const struct policy_rule *r)
{
        unsigned n = r->consecutive ? r->consecutive : p->consecutive;

        return n ? n : 1;
}

static void target_update(struct breaker *b, size_t i, int64_t t_ms, const struct sample *s)
{
        struct target_state *ts = &b->targets[i];
        struct rules_point pt;

        ts->input = (struct rules_input){ 0 };
        if (s) {
                if (!ts->has_oom_baseline && s->memory.has_oom_kill) {
                        ts->has_oom_baseline = true;
                        ts->oom_baseline = s->memory.oom_kill;
                }
                rules_input_from_sample(s, b->p->targets[i].memory_limit_bytes,
                                        ts->has_oom_baseline, ts->oom_baseline, &ts->input);
                rules_point_from_sample(s, &pt);
                pt.t_ms = t_ms;
                rules_window_push(&ts->window, &pt);
        }
        if (s && s->runtime.has_gc_count) {
                double g = s->runtime.gc_count;

                if (ts->has_last_gc)
                        b->batch_gc += g >= ts->last_gc ? g - ts->last_gc : g;
                ts->has_last_gc = true;
                ts->last_gc = g;
        }
        if (ts->fc)
                forecast_tick(ts->fc, t_ms, ts->input.has_ws, ts->input.ws_bytes,
                              ts->input.has_limit, ts->input.limit_bytes,
                              policy_forecast_window_ms(b->p, i), &ts->fv);
        rules_figures_compute(&ts->input, &ts->window, ts->fc ? &ts->fv : NULL, t_ms, &ts->figures);
}

static void input_add(struct rules_input *sum, const struct rules_input *in)
{
        sum->has_ws &= in->has_ws;
        sum->ws_bytes += in->ws_bytes;
        sum->has_limit &= in->has_limit;
        sum->limit_bytes += in->limit_bytes;
        sum->has_heap &= in->has_heap;
        sum->heap_used_bytes += in->heap_used_bytes;
        sum->heap_max_bytes += in->heap_max_bytes;
        sum->has_oom_kills &= in->has_oom_kills;
        sum->oom_kills += in->oom_kills;
        sum->has_psi_some &= in->has_psi_some;
        sum->has_psi_full &= in->has_psi_full;
        if (in->psi_some_avg10_pct > sum->psi_some_avg10_pct)
                sum->psi_some_avg10_pct = in->psi_some_avg10_pct;
        if (in->psi_full_avg10_pct > sum->psi_full_avg10_pct)
                sum->psi_full_avg10_pct = in->psi_full_avg10_pct;
}

static void batch_update(struct breaker *b, int64_t t_ms, const struct sample *const *samples)
{
        struct rules_input sum = {
                .has_ws = true,
                .has_limit = true,
                .has_heap = true,
                .has_oom_kills = true,
                .has_psi_some = true,
                .has_psi_full = true,
        };
        struct rules_point pt = { .t_ms = t_ms, .has_gc = true, .gc_count = b->batch_gc };

        for (size_t i = 0; i < b->p->n_targets; i++) {
                input_add(&sum, &b->targets[i].input);
                pt.has_gc &= samples[i] && samples[i]->runtime.has_gc_count;
        }
        pt.has_ws = sum.has_ws;
        pt.ws_bytes = sum.ws_bytes;
        rules_window_push(&b->batch_window, &pt);
        if (b->batch_fc)
                forecast_tick(b->batch_fc, t_ms, sum.has_ws, sum.ws_bytes, sum.has_limit,
                              sum.limit_bytes, policy_forecast_window_ms(b->p, b->p->n_targets),
                              &b->batch_fv);
        rules_figures_compute(&sum, &b->batch_window, b->batch_fc ? &b->batch_fv : NULL, t_ms,
                              &b->batch_figures);
}

static void trip_fill(const struct breaker *b, long pair, int64_t t_ms, bool dry_run,
                      struct breaker_trip *ret)
{
        size_t inst = (size_t)pair / b->p->n_rules, rule = (size_t)pair % b->p->n_rules;
        const struct pair_state *ps = &b->pairs[pair];
        struct breaker_trip t = { .t_ms = t_ms, .dry_run = dry_run };

        snprintf(t.instance, sizeof(t.instance), "%s", breaker_instance_name(b, inst));
        snprintf(t.rule, sizeof(t.rule), "%s", b->p->rules[rule].name);
        t.consecutive = ps->streak;
        t.limit = rule_limit(b->p, &b->p->rules[rule]);
        t.n_conditions = ps->last.n_conds;
        for (size_t i = 0; i < ps->last.n_conds; i++)
                t.conditions[i] = (struct breaker_condition){
                        .metric = ps->last.conds[i].metric,
                        .has_value = ps->last.conds[i].has_value,
                        .value = ps->last.conds[i].value,
                        .threshold = ps->last.conds[i].threshold,
                };
        *ret = t;
}

static struct breaker_transition *transition_add(struct breaker *b, int64_t t_ms,
                                                 enum breaker_phase from, enum breaker_phase to,
                                                 long pair)
{
        struct breaker_transition *tr = &b->tv[b->n_tv++];

        *tr = (struct breaker_transition){ .t_ms = t_ms, .from = from, .to = to };
        if (pair >= 0) {
                size_t inst = (size_t)pair / b->p->n_rules, rule = (size_t)pair % b->p->n_rules;

                snprintf(tr->instance, sizeof(tr->instance), "%s", breaker_instance_name(b, inst));
                snprintf(tr->rule, sizeof(tr->rule), "%s", b->p->rules[rule].name);
        }
        return tr;
}

/* Remembers the first (instance, rule) of a tick that caused a kind of change. */
static void note(long *slot, long idx)
{
        if (*slot < 0)
                *slot = idx;
}

/* Applies one evaluation to a pair's streak; records dry-run trips as transitions. */
static void pair_step(struct breaker *b, long idx, const struct rules_figures *f, int64_t t_ms,
                      struct tick_causes *c)
{
        const struct policy_rule *r = &b->p->rules[(size_t)idx % b->p->n_rules];
        struct pair_state *ps = &b->pairs[idx];
        unsigned max_errors = b->p->max_errors;
        bool was_stuck = max_errors > 0 && ps->no_data >= max_errors;

        rules_evaluate(r, f, &ps->last);
        ps->evaluated = true;
        if (ps->last.outcome == RULES_NO_DATA) {
                /* A forecast warming up is expected, not a sampling error: not toward max_errors.
                 */
                if (!ps->last.warming_up && ps->no_data < UINT_MAX)
                        ps->no_data++;
        } else {
                if (ps->last.outcome == RULES_BREACH) {
                        ps->streak++;
                } else {
                        if (ps->streak > 0)
                                note(&c->cleared, idx);
                        ps->streak = 0;
                        ps->would_tripped = false;
                }
                if (was_stuck)
                        note(&c->cleared, idx);
                ps->no_data = 0;
        }
        if (max_errors > 0 && ps->no_data >= max_errors)
                note(&c->no_data_limit, idx);
        if (ps->streak > 0)
                note(&c->breaching, idx);
        if (ps->last.outcome != RULES_BREACH || ps->streak < rule_limit(b->p, r))
                return;
        if (!b->p->dry_run && !r->dry_run) {
                note(&c->trip, idx);
        } else if (!ps->would_tripped) {
                ps->would_tripped = true;
                if (!b->has_would_trip) /* the first is where a real trip would have latched */
                        trip_fill(b, idx, t_ms, true, &b->would_trip);
                b->has_would_trip = true;
                transition_add(b, t_ms, b->phase, BREAKER_TRIPPED, idx)->dry_run = true;
        }
}

/* Settles the phase after a tick; the phase change goes before any dry-run trips. */
static void phase_settle(struct breaker *b, int64_t t_ms, const struct tick_causes *c)
{
        enum breaker_phase to = BREAKER_ARMED;
        long cause = c->cleared;
        size_t n_dry = b->n_tv;

        if (c->trip >= 0) {
                to = BREAKER_TRIPPED;
                cause = c->trip;
                b->has_trip = true;
                trip_fill(b, c->trip, t_ms, false, &b->trip);
        } else if (c->no_data_limit >= 0) {
                to = BREAKER_INCONCLUSIVE;
                cause = c->no_data_limit;
        } else if (c->breaching >= 0) {
                to = BREAKER_BREACHING;
                cause = c->breaching;
        }
        if (to == b->phase)
                return;
        for (size_t i = 0; i < n_dry; i++)
                b->tv[i].from = to;
        memmove(b->tv + 1, b->tv, n_dry * sizeof(*b->tv));
        b->n_tv = 0;
        transition_add(b, t_ms, b->phase, to, cause);
        b->n_tv = n_dry + 1;
        b->phase = to;
}

static bool phase_evaluates(enum breaker_phase p)
{
        return p == BREAKER_ARMED || p == BREAKER_BREACHING || p == BREAKER_INCONCLUSIVE;
}

int breaker_step(struct breaker *b, int64_t t_ms, const struct sample *const *samples, size_t n)
{
        struct tick_causes c = { -1, -1, -1, -1 };
        const struct policy *p = b->p;

        if (n != p->n_targets)
                return -EINVAL;
        b->n_tv = 0;
        if (!phase_evaluates(b->phase))
                return 0;
        for (size_t i = 0; i < p->n_targets; i++)
                target_update(b, i, t_ms, samples[i]);
        if (p->scope == POLICY_SCOPE_BATCH)
                batch_update(b, t_ms, samples);
        for (size_t inst = 0; inst < b->n_inst; inst++) {
                const struct rules_figures *f = p->scope == POLICY_SCOPE_BATCH
                                                        ? &b->batch_figures
                                                        : &b->targets[inst].figures;

                for (size_t r = 0; r < p->n_rules; r++)
                        pair_step(b, (long)(inst * p->n_rules + r), f, t_ms, &c);
        }
        phase_settle(b, t_ms, &c);
        return (int)b->n_tv;
}

void breaker_reset(struct breaker *b)
{
        for (size_t i = 0; i < b->p->n_targets; i++) {
                struct target_state *ts = &b->targets[i];

                rules_window_clear(&ts->window);
                ts->input = (struct rules_input){ 0 };
                ts->figures = (struct rules_figures){ 0 };
                ts->has_oom_baseline = ts->has_last_gc = false;
                ts->fv = (struct forecast_view){ 0 };
        }
        for (size_t i = 0; b->forecasts && i <= b->p->n_targets; i++)
                forecast_reset(&b->forecasts[i]);
        b->batch_fv = (struct forecast_view){ 0 };
        rules_window_clear(&b->batch_window);
        b->batch_figures = (struct rules_figures){ 0 };
        b->batch_gc = 0;
        memset(b->pairs, 0, b->n_inst * b->p->n_rules * sizeof(*b->pairs));
        b->phase = BREAKER_ARMED;
        b->has_trip = b->has_would_trip = false;
        b->n_tv = 0;
}

bool breaker_text_valid(const char *text)
{
        size_t n = 0;

        for (; text[n]; n++)
                if (text[n] < 0x20 || text[n] > 0x7e || n >= BREAKER_TEXT_MAX)
                        return false;
        return n > 0;
}

int breaker_trip_manual(struct breaker *b, int64_t t_ms, const char *text)
{
        if (!text || !breaker_text_valid(text))
                return -EINVAL;
        if (breaker_phase_latched(b->phase))
                return -EALREADY;
        if (b->phase == BREAKER_PROMOTED)
                return -EBUSY;
        b->trip = (struct breaker_trip){ .t_ms = t_ms,
                                         .instance = BREAKER_BATCH_INSTANCE,
                                         .rule = BREAKER_MANUAL_RULE };
        snprintf(b->trip.text, sizeof(b->trip.text), "%s", text);
        b->has_trip = true;
        b->phase = BREAKER_TRIPPED;
        return 0;
}

int breaker_promote(struct breaker *b)
{
        if (breaker_phase_latched(b->phase))
                return -EBUSY;
        b->phase = BREAKER_PROMOTED;
        return 0;
}

int breaker_set_phase(struct breaker *b, enum breaker_phase to)
{
        bool ok = (b->phase == BREAKER_TRIPPED &&
                   (to == BREAKER_ROLLED_BACK || to == BREAKER_FAILED)) ||
                  (b->phase == BREAKER_FAILED && to == BREAKER_ROLLED_BACK);

        if (!ok)
                return -EINVAL;
        b->phase = to;
        return 0;
}

int breaker_restore(struct breaker *b, enum breaker_phase phase, const struct breaker_trip *trip)
{
        bool needs_trip = breaker_phase_latched(phase);

        if ((unsigned)phase >= _BREAKER_PHASE_MAX || (needs_trip && !trip))
                return -EINVAL;
        breaker_reset(b);
        b->phase = phase;
        if (needs_trip) {
                b->trip = *trip;
                b->trip.id[sizeof(b->trip.id) - 1] = '\0';
                b->trip.time[sizeof(b->trip.time) - 1] = '\0';
                b->trip.instance[sizeof(b->trip.instance) - 1] = '\0';
                b->trip.rule[sizeof(b->trip.rule) - 1] = '\0';
                b->trip.text[sizeof(b->trip.text) - 1] = '\0';
                if (b->trip.n_conditions > _COND_MAX)
                        b->trip.n_conditions = _COND_MAX;
                b->has_trip = true;
        }
        return 0;
}
