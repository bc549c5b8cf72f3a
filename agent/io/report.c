/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include <jansson.h>

#include "report.h"
#include "trip-json.h"
#include "util.h"

/* jansson.h provides json_decrefp() for GCC and clang. */
#define _cleanup_json_ _cleanup_(json_decrefp)

static json_t *actions_json(const struct state *s)
{
        _cleanup_json_ json_t *a = json_array();

        for (size_t i = 0; a && i < s->n_actions; i++) {
                const struct state_action *x = &s->actions[i];
                const char *status = state_action_status_to_string(x->status);
                json_t *o =
                        status ? json_pack("{s:s, s:s, s:I, s:s, s:s}", "action", x->name, "status",
                                           status, "attempts", (json_int_t)x->attempts, "result",
                                           x->result, "key", x->key)
                               : NULL;

                /* Like the state file, only a gate says so: the default needs no word. */
                if (o && x->stop_on_failure)
                        json_object_set_new(o, "on_failure", json_string("stop"));
                if (json_array_append_new(a, o) < 0)
                        return NULL;
        }
        return TAKE_PTR(a);
}

/* The trip as status shows it, or JSON null when s holds none. */
static int trip_json(const struct state *s, json_t **ret)
{
        _cleanup_free_ char *text = NULL;
        int r;

        if (!s->has_trip) {
                *ret = json_null();
                return 0;
        }
        r = trip_json_format(&s->trip, TRIP_JSON_STATUS, &text);
        if (r < 0)
                return r;
        *ret = json_loads(text, 0, NULL);
        return *ret ? 0 : -ENOMEM;
}

int report_state_format(const struct state *s, char **ret)
{
        _cleanup_json_ json_t *o = NULL;
        const char *phase = breaker_phase_to_string(s->phase);
        json_t *trip;
        char *text;
        int r;

        if (!phase)
                return -EINVAL;
        r = trip_json(s, &trip);
        if (r < 0)
                return r;
        /* "o" steals each reference even when packing fails, so nothing leaks. */
        o = json_pack("{s:s, s:s, s:o, s:o, s:o}", "batch", s->batch, "phase", phase, "trip_id",
                      s->has_trip ? json_string(s->trip.id) : json_null(), "trip", trip, "actions",
                      actions_json(s));
        if (!o)
                return -ENOMEM;
        /* What the next trip's keys use (after the actions, so older readers see no change). */
        if (s->release.set &&
            (json_object_set_new(o, "release", json_string(s->release.id)) < 0 ||
             json_object_set_new(o, "generation", json_integer(s->release.generation)) < 0))
                return -ENOMEM;
        text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}
