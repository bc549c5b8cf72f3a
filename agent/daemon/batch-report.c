/* SPDX-License-Identifier: MIT */
/* What a batch shows the outside: its status object and its Prometheus samples. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "batch-internal.h"
#include "json-number.h"
#include "report.h"
#include "rules.h"

/* A target's last figures and why any are missing. */
static void add_figures(const struct batch *b, size_t i, json_t *o)
{
        const struct rules_figures *f = breaker_target_figures(b->br, i);
        const struct target_last *s = &b->t[i].last;

        const struct forecast_view *fv = breaker_target_forecast(b->br, i);

        for (int m = 0; f && m < _COND_MAX; m++)
                if (f->has[m] && m != COND_TIME_TO_LIMIT) /* below: null has a meaning there */
                        json_object_set_new(o, metric_get(m)->status_key,
                                            json_number_of(f->value[m]));
        if (fv) {
                json_object_set_new(
                        o, metric_get(COND_TIME_TO_LIMIT)->status_key,
                        fv->state == FORECAST_RISING
                                ? json_integer((json_int_t)fv->prediction.time_to_limit_ms)
                                : json_null());
                json_object_set_new(o, "forecast",
                                    json_string(forecast_state_to_string(fv->state)));
        }
        if (s->has_max && !s->max_unlimited)
                json_object_set_new(o, "limit", json_integer((json_int_t)s->max_bytes));
        else if (b->p->targets[i].memory_limit_bytes)
                json_object_set_new(o, "limit",
                                    json_integer((json_int_t)b->p->targets[i].memory_limit_bytes));
        if (s->memory_error)
                json_object_set_new(o, "memory_error", json_string(s->memory_error));
        if (s->runtime_error)
                json_object_set_new(o, "runtime_error", json_string(s->runtime_error));
        /* "error" is for a missing input; a series the preset simply lacks is only detail. */
        if (s->memory_error && !s->has_current)
                json_object_set_new(o, "error", json_string(s->memory_error));
        else if (s->runtime_error && !s->has_runtime)
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

/* The persisted part (report.h), as an object to add the live figures to. */
static json_t *state_json(const struct batch *b)
{
        char *text = NULL;
        json_t *o;

        if (report_state_format(b->st, &text) < 0)
                return NULL;
        o = json_loads(text, 0, NULL);
        free(text);
        return o;
}

static json_t *status_json(const struct batch *b)
{
        json_t *o = state_json(b), *inst = json_array(), *targets = json_array();
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
        json_object_set_new(o, "healthy_ms", json_integer((json_int_t)batch_healthy_ms(b)));
        json_object_set_new(o, "events", json_string(batch_events_status(b)));
        if (b->events_note[0])
                json_object_set_new(o, "events_error", json_string(b->events_note));
        for (size_t k = 0; k < breaker_n_instances(b->br); k++) {
                json_t *x = json_pack("{s:s, s:o}", "instance", breaker_instance_name(b->br, k),
                                      "streaks", streaks_json(b, k));

                if (x && !batch_scope)
                        add_figures(b, k, x);
                json_array_append_new(inst, x);
        }
        for (size_t i = 0; i < b->n_t; i++) {
                const struct policy_target *pt = &b->p->targets[i];
                json_t *x =
                        json_pack("{s:s, s:s, s:b}", "instance", target_name(&b->t[i]),
                                  pt->promql ? "promql" : "cgroup",
                                  pt->promql ? pt->promql : b->t[i].path, "gone", b->t[i].was_gone);

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

int batch_status_format(const struct batch *b, char **ret)
{
        json_t *o = status_json(b);
        char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

        json_decref(o);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}
