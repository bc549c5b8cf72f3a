/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <math.h>
#include <string.h>

#include "rules.h"

const char *rules_outcome_to_string(enum rules_outcome o)
{
        static const char *const names[_RULES_OUTCOME_MAX] = {
                [RULES_PASS] = "pass",
                [RULES_BREACH] = "breach",
                [RULES_NO_DATA] = "no-data",
        };

        if ((unsigned)o >= _RULES_OUTCOME_MAX)
                return NULL;
        return names[o];
}

void rules_window_init(struct rules_window *w, struct rules_point *storage, size_t cap,
                       int64_t min_span_ms)
{
        assert(cap == 0 ? !storage : storage && cap >= 2);
        *w = (struct rules_window){ .v = storage, .cap = cap, .min_span_ms = min_span_ms };
}

void rules_window_clear(struct rules_window *w)
{
        w->start = 0;
        w->n = 0;
}

const struct rules_point *rules_window_at(const struct rules_window *w, size_t i)
{
        assert(i < w->n);
        return &w->v[(w->start + i) % w->cap];
}

static void window_drop_oldest(struct rules_window *w)
{
        w->start = (w->start + 1) % w->cap;
        w->n--;
}

void rules_window_push(struct rules_window *w, const struct rules_point *p)
{
        if (w->cap == 0)
                return;
        if (w->n > 0 && p->t_ms < rules_window_at(w, w->n - 1)->t_ms)
                return;
        while (w->n > 0 && rules_window_at(w, 0)->t_ms <= p->t_ms - RULES_WINDOW_MS)
                window_drop_oldest(w);
        if (w->n == w->cap)
                window_drop_oldest(w);
        w->v[(w->start + w->n) % w->cap] = *p;
        w->n++;
}

static bool limit_of(const struct mem_sample *m, uint64_t fallback, uint64_t *ret)
{
        if (!m->has_max)
                return false;
        if (!m->max_unlimited) {
                *ret = m->max_bytes;
                return m->max_bytes > 0;
        }
        *ret = fallback;
        return fallback > 0;
}

void rules_input_from_sample(const struct sample *s, uint64_t fallback_limit_bytes,
                             bool has_oom_baseline, uint64_t oom_baseline, struct rules_input *ret)
{
        const struct mem_sample *m = &s->memory;
        const struct runtime_sample *rt = &s->runtime;
        struct rules_input in = { 0 };

        in.has_ws = sample_working_set(m, &in.ws_bytes);
        in.has_limit = limit_of(m, fallback_limit_bytes, &in.limit_bytes);
        in.has_heap = rt->has_heap_used && rt->has_heap_max;
        in.heap_used_bytes = rt->heap_used_bytes;
        in.heap_max_bytes = rt->heap_max_bytes;
        in.has_oom_kills = m->has_oom_kill && has_oom_baseline;
        if (in.has_oom_kills)
                in.oom_kills =
                        m->oom_kill >= oom_baseline ? m->oom_kill - oom_baseline : m->oom_kill;
        in.has_psi_some = m->has_psi_some;
        in.psi_some_avg10_pct = m->psi_some_avg10_pct;
        in.has_psi_full = m->has_psi_full;
        in.psi_full_avg10_pct = m->psi_full_avg10_pct;
        *ret = in;
}

void rules_point_from_sample(const struct sample *s, struct rules_point *ret)
{
        struct rules_point p = { .t_ms = s->t_ms };

        p.has_ws = sample_working_set(&s->memory, &p.ws_bytes);
        p.has_gc = s->runtime.has_gc_count;
        p.gc_count = s->runtime.gc_count;
        *ret = p;
}

/* GC cycles per minute over the window's points that have a GC count. */
static bool gc_per_minute(const struct rules_window *w, int64_t t_ms, double *ret)
{
        const struct rules_point *first = NULL, *prev = NULL;
        double sum = 0;

        for (size_t i = 0; i < w->n; i++) {
                const struct rules_point *p = rules_window_at(w, i);

                if (!p->has_gc || p->t_ms <= t_ms - RULES_WINDOW_MS || p->t_ms > t_ms)
                        continue;
                if (!first)
                        first = p;
                else /* a decrease is a counter reset: the new value is the increment */
                        sum += p->gc_count >= prev->gc_count ? p->gc_count - prev->gc_count
                                                             : p->gc_count;
                prev = p;
        }
        if (!first || prev == first || prev->t_ms != t_ms || t_ms - first->t_ms < w->min_span_ms)
                return false;
        *ret = sum * RULES_WINDOW_MS / (double)(prev->t_ms - first->t_ms);
        return true;
}

/* Working-set growth in bytes per minute (negative when it shrinks). */
static bool growth_per_minute(const struct rules_window *w, int64_t t_ms, double *ret)
{
        const struct rules_point *first = NULL, *last = NULL;

        for (size_t i = 0; i < w->n; i++) {
                const struct rules_point *p = rules_window_at(w, i);

                if (!p->has_ws || p->t_ms <= t_ms - RULES_WINDOW_MS || p->t_ms > t_ms)
                        continue;
                if (!first)
                        first = p;
                last = p;
        }
        if (!first || last == first || last->t_ms != t_ms || t_ms - first->t_ms < w->min_span_ms)
                return false;
        *ret = ((double)last->ws_bytes - (double)first->ws_bytes) * RULES_WINDOW_MS /
               (double)(last->t_ms - first->t_ms);
        return true;
}

static void set(struct rules_figures *f, enum cond_metric m, bool has, double v)
{
        f->has[m] = has;
        f->value[m] = has ? v : 0;
}

void rules_figures_compute(const struct rules_input *in, const struct rules_window *w,
                           const struct forecast_view *fc, int64_t t_ms, struct rules_figures *ret)
{
        struct rules_figures f = { 0 };
        double growth = 0, gc = 0;
        bool has_growth = growth_per_minute(w, t_ms, &growth);
        bool has_gc = gc_per_minute(w, t_ms, &gc);

        set(&f, COND_MEMORY_BYTES, in->has_ws, (double)in->ws_bytes);
        set(&f, COND_MEMORY_RATIO, in->has_ws && in->has_limit,
            in->has_limit ? (double)in->ws_bytes / (double)in->limit_bytes : 0);
        set(&f, COND_MEMORY_GROWTH, has_growth, growth);
        set(&f, COND_GC_PER_MINUTE, has_gc, gc);
        set(&f, COND_HEAP_RATIO, in->has_heap && in->heap_max_bytes > 0,
            in->heap_max_bytes > 0 ? in->heap_used_bytes / in->heap_max_bytes : 0);
        set(&f, COND_OOM_KILLS, in->has_oom_kills, (double)in->oom_kills);
        set(&f, COND_PSI_SOME, in->has_psi_some, in->psi_some_avg10_pct);
        set(&f, COND_PSI_FULL, in->has_psi_full, in->psi_full_avg10_pct);
        if (fc && fc->state == FORECAST_RISING)
                set(&f, COND_TIME_TO_LIMIT, true, (double)fc->prediction.time_to_limit_ms);
        else if (fc && fc->state == FORECAST_NOT_RISING)
                set(&f, COND_TIME_TO_LIMIT, true, INFINITY);
        f.warming_up[COND_TIME_TO_LIMIT] = fc && fc->state == FORECAST_WARMING_UP;
        *ret = f;
}

void rules_evaluate(const struct policy_rule *r, const struct rules_figures *f,
                    struct rules_result *ret)
{
        struct rules_result res = { .outcome = RULES_BREACH };
        bool any_false = false, any_missing = false, any_warming = false;

        for (int m = 0; m < _COND_MAX; m++) {
                struct rules_cond *c;

                if (!r->has[m])
                        continue;
                c = &res.conds[res.n_conds++];
                c->metric = (enum cond_metric)m;
                c->threshold = r->threshold[m];
                c->has_value = f->has[m];
                c->value = f->value[m];
                if (!c->has_value) {
                        any_warming |= f->warming_up[m];
                        any_missing |= !f->warming_up[m];
                        continue;
                }
                c->holds = metric_breaches(c->metric, c->value, c->threshold);
                any_false |= !c->holds;
        }
        if (any_false || res.n_conds == 0)
                res.outcome = RULES_PASS;
        else if (any_missing || any_warming)
                res.outcome = RULES_NO_DATA;
        res.warming_up = res.outcome == RULES_NO_DATA && !any_missing;
        *ret = res;
}
