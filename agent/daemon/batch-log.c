/* SPDX-License-Identifier: MIT */
/*
 * What a batch's evaluated tick says: its trace lines, and its log lines (a trip with its
 * reason, each phase change, and at debug level each instance's streaks).
 */
#include <stdio.h>

#include "batch-internal.h"
#include "log.h"
#include "metrics.h"
#include "rules.h"
#include "trace.h"

/* One line per target; judged: the breaker evaluated this tick (its forecast is this tick's). */
void batch_write_trace(struct batch *b, bool judged)
{
        for (size_t i = 0; b->env->trace && i < b->n_t; i++)
                if (trace_write(b->env->trace, b->p->name, target_name(&b->t[i]), &b->t[i].cur,
                                judged ? breaker_target_forecast(b->br, i) : NULL) < 0)
                        batch_log(LOG_LEVEL_WARNING, b, "batch %s: cannot write the trace line",
                                  b->p->name);
        if (b->env->trace)
                fflush(b->env->trace);
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
                                                c->value, metric_cmp_op(c->metric), c->threshold);
                else
                        len += (size_t)snprintf(buf + len, size - len, "%s%s no data",
                                                i ? ", " : "", cond_metric_to_string(c->metric));
        }
}

/* The trip's line in the log; batch_act() records it and starts the actions. */
void batch_announce_trip(struct batch *b, const struct breaker_trip *bt)
{
        char conds[512];

        format_conditions(bt, conds, sizeof(conds));
        b->trips_total++;
        log_full(LOG_LEVEL_ERR,
                 LOG_FIELDS(.batch = b->p->name, .target = bt->instance, .rule = bt->rule,
                            .phase = "tripped"),
                 "batch %s TRIPPED: instance %s, rule %s, %u/%u in a row: %s", b->p->name,
                 bt->instance, bt->rule, bt->consecutive, bt->limit, conds);
        if (b->p->n_actions == 0)
                batch_log(LOG_LEVEL_NOTICE, b,
                          "batch %s: no actions configured; the trip is only reported", b->p->name);
}

void batch_log_transition(struct batch *b, const struct breaker_transition *tr)
{
        const struct breaker_trip *wt = breaker_would_trip(b->br);
        char conds[512] = "";

        if (tr->dry_run) {
                if (wt)
                        format_conditions(wt, conds, sizeof(conds));
                log_full(LOG_LEVEL_WARNING,
                         LOG_FIELDS(.batch = b->p->name, .target = tr->instance, .rule = tr->rule),
                         "batch %s WOULD TRIP (dry run, nothing is done): instance %s, rule "
                         "%s: %s",
                         b->p->name, tr->instance, tr->rule, conds);
                return;
        }
        if (tr->to == BREAKER_TRIPPED)
                return; /* announce_trip() says it with the reason */
        log_full(LOG_LEVEL_NOTICE,
                 LOG_FIELDS(.batch = b->p->name, .target = tr->instance[0] ? tr->instance : NULL,
                            .rule = tr->rule[0] ? tr->rule : NULL,
                            .phase = breaker_phase_to_string(tr->to)),
                 "batch %s: %s -> %s%s%s%s%s", b->p->name, breaker_phase_to_string(tr->from),
                 breaker_phase_to_string(tr->to), tr->instance[0] ? ", instance " : "",
                 tr->instance, tr->rule[0] ? ", rule " : "", tr->rule);
}

/* A healthy tick is only worth a line at debug level: each instance's figures and streaks. */
void batch_log_tick(const struct batch *b)
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
                log_full(LOG_LEVEL_DEBUG,
                         LOG_FIELDS(.batch = b->p->name, .target = breaker_instance_name(b->br, k)),
                         "batch %s tick t_ms=%lld instance %s: %s", b->p->name,
                         (long long)b->tick_t_ms, breaker_instance_name(b->br, k), line);
        }
}
