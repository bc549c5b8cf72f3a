/* SPDX-License-Identifier: MIT */
#include "report.h"

json_t *report_reason_json(const struct state_trip_reason *r)
{
        json_t *conds = json_array(), *o;

        for (size_t i = 0; conds && i < r->n_conditions; i++)
                json_array_append_new(conds, json_pack("{s:s, s:f, s:f}", "metric",
                                                       r->conditions[i].metric, "value",
                                                       r->conditions[i].value, "threshold",
                                                       r->conditions[i].threshold));
        o = json_pack("{s:s, s:s, s:I, s:I, s:o}", "instance", r->instance, "rule", r->rule,
                      "consecutive", (json_int_t)r->consecutive, "limit", (json_int_t)r->limit,
                      "conditions", conds);
        return o;
}

static json_t *actions_json(const struct state *s)
{
        json_t *a = json_array();

        for (size_t i = 0; a && i < s->n_actions; i++) {
                const struct state_action *x = &s->actions[i];

                json_array_append_new(
                        a, json_pack("{s:s, s:s, s:I, s:s, s:s}", "action", x->name, "status",
                                     state_action_status_to_string(x->status), "attempts",
                                     (json_int_t)x->attempts, "result", x->result, "key", x->key));
        }
        return a;
}

json_t *report_state_json(const struct state *s)
{
        json_t *o, *trip = json_null();

        if (s->has_trip) {
                trip = report_reason_json(&s->reason);
                if (trip) {
                        json_object_set_new(trip, "t_ms", json_integer(s->trip_t_ms));
                        json_object_set_new(trip, "time", json_string(s->trip_time));
                }
        }
        o = json_pack("{s:s, s:s, s:o, s:o, s:o}", "batch", s->batch, "phase",
                      state_phase_to_string(s->phase), "trip_id",
                      s->has_trip ? json_string(s->trip_id) : json_null(), "trip",
                      trip ? trip : json_null(), "actions", actions_json(s));
        return o;
}
