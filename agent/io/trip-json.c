/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "json-number.h"
#include "trip-json.h"
#include "util.h"

#define ID_CHARS    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-"
#define TIME_FORMAT "%Y-%m-%dT%H:%M:%SZ"

/* jansson.h provides json_decrefp() for GCC and clang. */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* The state file keeps its reals as it always wrote them; every output has integers. */
static json_t *number(double v, bool integers)
{
        return integers ? json_number_of(v) : json_real(v);
}

/* JSON has no NaN or infinity, and every metric needs its name. */
static bool renderable(const struct breaker_trip *t)
{
        if (t->n_conditions > _COND_MAX)
                return false;
        for (size_t i = 0; i < t->n_conditions; i++) {
                const struct breaker_condition *c = &t->conditions[i];

                if (!cond_metric_to_string(c->metric) || (c->has_value && !isfinite(c->value)) ||
                    !isfinite(c->threshold))
                        return false;
        }
        return true;
}

static json_t *conditions_json(const struct breaker_trip *t, bool integers)
{
        _cleanup_json_ json_t *a = json_array();

        for (size_t i = 0; a && i < t->n_conditions; i++) {
                const struct breaker_condition *c = &t->conditions[i];
                const char *metric = cond_metric_to_string(c->metric);

                if (json_array_append_new(
                            a, json_pack("{s:s, s:o, s:o}", "metric", metric, "value",
                                         c->has_value ? number(c->value, integers) : json_null(),
                                         "threshold", number(c->threshold, integers))) < 0)
                        return NULL;
        }
        return TAKE_PTR(a);
}

static json_t *reason_json(const struct breaker_trip *t, bool integers)
{
        /* "o" steals each reference even when packing fails, so nothing leaks. */
        _cleanup_json_ json_t *o =
                json_pack("{s:s, s:s, s:I, s:I, s:o}", "instance", t->instance, "rule", t->rule,
                          "consecutive", (json_int_t)t->consecutive, "limit", (json_int_t)t->limit,
                          "conditions", conditions_json(t, integers));

        /* Only a manual trip has words of its own. */
        if (o && t->text[0] && json_object_set_new(o, "text", json_string(t->text)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static json_t *trip_json(const struct breaker_trip *t, enum trip_json_form form)
{
        _cleanup_json_ json_t *o = NULL;

        switch (form) {
        case TRIP_JSON_STATE:
                return json_pack("{s:s, s:s, s:I, s:o}", "id", t->id, "time", t->time, "t_ms",
                                 (json_int_t)t->t_ms, "reason", reason_json(t, false));
        case TRIP_JSON_STATUS:
                o = reason_json(t, true);
                if (!o || json_object_set_new(o, "t_ms", json_integer(t->t_ms)) < 0 ||
                    json_object_set_new(o, "time", json_string(t->time)) < 0)
                        return NULL;
                return TAKE_PTR(o);
        case TRIP_JSON_REASON:
                return reason_json(t, true);
        case TRIP_JSON_REPLAY:
                o = json_pack("{s:I}", "t_ms", (json_int_t)t->t_ms);
                if (!o || json_object_update_new(o, reason_json(t, true)) < 0)
                        return NULL;
                return TAKE_PTR(o);
        default:
                return NULL;
        }
}

int trip_json_format(const struct breaker_trip *t, enum trip_json_form form, char **ret)
{
        _cleanup_json_ json_t *o = NULL;
        char *text;

        if ((unsigned)form >= _TRIP_JSON_FORM_MAX || !renderable(t))
                return -EINVAL;
        o = trip_json(t, form);
        if (!o)
                return -ENOMEM;
        text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

int trip_json_bad(char *why, size_t whysize, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(why, whysize, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

static int metric_from_string(const char *s)
{
        int m = metric_from_name(s);

        return m < 0 ? -EINVAL : m;
}

static int parse_condition(json_t *j, struct breaker_condition *c, char *why, size_t whysize)
{
        const char *metric;
        json_t *value;
        json_error_t je;
        int m;

        if (json_unpack_ex(j, &je, JSON_STRICT, "{s:s, s:o, s:F}", "metric", &metric, "value",
                           &value, "threshold", &c->threshold) < 0)
                return trip_json_bad(why, whysize, "trip condition: %s", je.text);
        m = metric_from_string(metric);
        if (m < 0)
                return trip_json_bad(why, whysize, "trip condition: unknown metric \"%.32s\"",
                                     metric);
        if (!json_is_null(value) && !json_is_number(value))
                return trip_json_bad(why, whysize, "trip condition: value is not a number");
        c->metric = (enum cond_metric)m;
        c->has_value = !json_is_null(value);
        c->value = c->has_value ? json_number_value(value) : 0;
        return 0;
}

static int copy_name(char *dst, size_t size, const char *src, const char *what, char *why,
                     size_t whysize)
{
        if (strlen(src) >= size)
                return trip_json_bad(why, whysize, "trip reason: %s too long", what);
        strcpy(dst, src);
        return 0;
}

/* The reason's members, from an object unpacked by the caller. */
static int parse_reason(const char *instance, const char *rule, json_int_t consecutive,
                        json_int_t limit, json_t *conds, struct breaker_trip *t, char *why,
                        size_t whysize)
{
        json_t *c;
        size_t i;
        int r;

        if (consecutive < 0 || consecutive > UINT_MAX || limit < 0 || limit > UINT_MAX)
                return trip_json_bad(why, whysize, "trip reason: streak out of range");
        if (!json_is_array(conds) || json_array_size(conds) > _COND_MAX)
                return trip_json_bad(why, whysize,
                                     "trip reason: conditions must be an array of at most %d",
                                     _COND_MAX);
        r = copy_name(t->instance, sizeof(t->instance), instance, "instance", why, whysize);
        r = r ?: copy_name(t->rule, sizeof(t->rule), rule, "rule", why, whysize);
        json_array_foreach(conds, i, c) r =
                r ?: parse_condition(c, &t->conditions[i], why, whysize);
        if (r < 0)
                return r;
        t->consecutive = (unsigned)consecutive;
        t->limit = (unsigned)limit;
        t->n_conditions = json_array_size(conds);
        return 0;
}

static bool time_valid(const char *t)
{
        struct tm tm = { 0 };
        const char *end = strptime(t, TIME_FORMAT, &tm);

        return end && *end == '\0';
}

/* The record's members; id NULL: the form has none. */
static int parse_record(const char *id, const char *t, json_int_t t_ms, struct breaker_trip *trip,
                        char *why, size_t whysize)
{
        if (t_ms < 0)
                return trip_json_bad(why, whysize, "trip: negative t_ms");
        if (id && (!id[0] || strspn(id, ID_CHARS) != strlen(id) || strlen(id) >= sizeof(trip->id)))
                return trip_json_bad(why, whysize, "invalid trip id \"%.64s\"", id);
        if (!time_valid(t) || strlen(t) >= sizeof(trip->time))
                return trip_json_bad(why, whysize, "invalid trip time \"%.64s\"", t);
        strcpy(trip->id, id ? id : "");
        strcpy(trip->time, t);
        trip->t_ms = t_ms;
        return 0;
}

/* Each form's members, all required, in one strict unpack. */
static int parse_form(json_t *o, enum trip_json_form form, struct breaker_trip *t, char *why,
                      size_t whysize)
{
        const char *id = NULL, *time = "", *instance, *rule, *text = "";
        json_int_t t_ms = 0, consecutive, limit;
        json_t *reason = o, *conds;
        json_error_t je;
        int r = 0;

        if (form == TRIP_JSON_STATE &&
            json_unpack_ex(o, &je, JSON_STRICT, "{s:s, s:s, s:I, s:o}", "id", &id, "time", &time,
                           "t_ms", &t_ms, "reason", &reason) < 0)
                return trip_json_bad(why, whysize, "trip: %s", je.text);
        if (form == TRIP_JSON_STATUS)
                r = json_unpack_ex(
                        reason, &je, JSON_STRICT, "{s:s, s:s, s:I, s:I, s:o, s?s, s:I, s:s}",
                        "instance", &instance, "rule", &rule, "consecutive", &consecutive, "limit",
                        &limit, "conditions", &conds, "text", &text, "t_ms", &t_ms, "time", &time);
        else if (form == TRIP_JSON_REPLAY)
                r = json_unpack_ex(reason, &je, JSON_STRICT, "{s:I, s:s, s:s, s:I, s:I, s:o, s?s}",
                                   "t_ms", &t_ms, "instance", &instance, "rule", &rule,
                                   "consecutive", &consecutive, "limit", &limit, "conditions",
                                   &conds, "text", &text);
        else
                r = json_unpack_ex(reason, &je, JSON_STRICT, "{s:s, s:s, s:I, s:I, s:o, s?s}",
                                   "instance", &instance, "rule", &rule, "consecutive",
                                   &consecutive, "limit", &limit, "conditions", &conds, "text",
                                   &text);
        if (r < 0)
                return trip_json_bad(why, whysize, "trip reason: %s", je.text);
        if (text[0] && !breaker_text_valid(text))
                return trip_json_bad(why, whysize,
                                     "trip reason: text is not 1..%d printable characters",
                                     BREAKER_TEXT_MAX);
        strcpy(t->text, text);
        r = parse_reason(instance, rule, consecutive, limit, conds, t, why, whysize);
        if (r >= 0 && (form == TRIP_JSON_STATE || form == TRIP_JSON_STATUS))
                r = parse_record(id, time, t_ms, t, why, whysize);
        else if (r >= 0 && form == TRIP_JSON_REPLAY && t_ms < 0)
                r = trip_json_bad(why, whysize, "trip: negative t_ms");
        else if (r >= 0)
                t->t_ms = t_ms;
        return r;
}

int trip_json_parse(const char *text, size_t len, enum trip_json_form form,
                    struct breaker_trip *ret, char *why, size_t whysize)
{
        _cleanup_json_ json_t *o = NULL;
        struct breaker_trip t = { 0 };
        json_error_t je;
        int r;

        if ((unsigned)form >= _TRIP_JSON_FORM_MAX)
                return -EINVAL;
        o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        if (!o)
                return trip_json_bad(why, whysize, "trip: not JSON: %s", je.text);
        r = parse_form(o, form, &t, why, whysize);
        if (r < 0)
                return r;
        *ret = t;
        return 0;
}
