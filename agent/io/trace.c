/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include <jansson.h>

#include "metrics.h"
#include "trace.h"
#include "util.h"

/* jansson's own json_decrefp() helper backs the cleanup attribute. */
#define _cleanup_json_ _cleanup_(json_decrefp)

/*
 * The trace line is written straight into the caller's buffer, in the documented object's key
 * order, with no JSON library and no allocation: a tick writes one line per target.
 */
struct out {
        char *buf;
        size_t size;
        size_t len;
        bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
        if (o->full || o->len + n >= o->size) {
                o->full = true;
                return;
        }
        memcpy(o->buf + o->len, s, n);
        o->len += n;
}

static void puts_(struct out *o, const char *s)
{
        put(o, s, strlen(s));
}

static void put_u64(struct out *o, uint64_t v)
{
        char d[24];
        size_t i = sizeof(d);

        do
                d[--i] = (char)('0' + v % 10);
        while ((v /= 10) != 0);
        put(o, d + i, sizeof(d) - i);
}

static void put_i64(struct out *o, int64_t v)
{
        if (v < 0)
                put(o, "-", 1);
        put_u64(o, v < 0 ? -(uint64_t)v : (uint64_t)v);
}

/* %.12g, as jansson's JSON_REAL_PRECISION(12), with the exponent without '+' or leading
 * zeros; a whole number reads as an integer (docs/trace.md: whole numbers are integers). */
static void put_real(struct out *o, double v)
{
        char d[40], *e;
        int n = snprintf(d, sizeof(d), "%.12g", v);

        if (n < 0 || (size_t)n >= sizeof(d))
                return (void)(o->full = true);
        e = strchr(d, 'e');
        if (e) {
                char *x = e + 1 + (e[1] == '-'), *src = x + (*x == '+');

                while (*src == '0' && src[1])
                        src++;
                memmove(x, src, strlen(src) + 1);
        }
        puts_(o, d);
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void put_str(struct out *o, const char *s)
{
        static const char hex[] = "0123456789abcdef";

        put(o, "\"", 1);
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

                if (c == '"' || c == '\\')
                        put(o, (char[]){ '\\', (char)c }, 2);
                else if (c < 0x20)
                        put(o, esc, sizeof(esc));
                else
                        put(o, s, 1);
        }
        put(o, "\"", 1);
}

static void put_key(struct out *o, bool *first, const char *key)
{
        put(o, *first ? "\"" : ",\"", *first ? 1 : 2);
        *first = false;
        puts_(o, key);
        put(o, "\":", 2);
}

static bool *input_has(struct sample *s, const struct metric_input_def *in)
{
        return (bool *)((char *)s + in->has_offset);
}

static void *input_value(struct sample *s, const struct metric_input_def *in)
{
        return (char *)s + in->value_offset;
}

/* A real that is a whole number is written as an integer, so byte counts round-trip. */
static void put_number(struct out *o, double v)
{
        if (v == floor(v) && fabs(v) < 9.0e15)
                put_i64(o, (int64_t)v);
        else
                put_real(o, v);
}

static void put_input(struct out *o, bool *first, const struct sample *cs,
                      const struct metric_input_def *in)
{
        struct sample *s = (struct sample *)cs; /* only read */
        uint64_t u;
        double v;

        if (!*input_has(s, in))
                return;
        switch (in->value) {
        case METRIC_VALUE_LIMIT:
        case METRIC_VALUE_U64:
                memcpy(&u, input_value(s, in), sizeof(u));
                put_key(o, first, in->field);
                if (in->value == METRIC_VALUE_LIMIT && s->memory.max_unlimited)
                        puts_(o, "null");
                else if (u > (uint64_t)INT64_MAX)
                        put_real(o, (double)u);
                else
                        put_u64(o, u);
                return;
        default:
                memcpy(&v, input_value(s, in), sizeof(v));
                if (!isfinite(v))
                        return;
                put_key(o, first, in->field);
                put_number(o, v);
        }
}

/* The "memory" or "runtime" object of s: every input of that section the registry names. */
static void put_section(struct out *o, const struct sample *s, const char *section)
{
        bool first = true;

        put(o, "{", 1);
        for (int i = 0; i < _METRIC_INPUT_MAX; i++)
                if (!strcmp(metric_input_get(i)->section, section))
                        put_input(o, &first, s, metric_input_get(i));
        put(o, "}", 1);
}

/* ,"key":"reason" when there is one; bytes JSON cannot carry as text become '?'. */
static void put_reason(struct out *o, const char *key, const char *reason)
{
        char text[SAMPLE_REASON_MAX];
        size_t n = strnlen(reason, sizeof(text) - 1);

        if (n == 0)
                return;
        for (size_t i = 0; i < n; i++)
                text[i] = reason[i] >= 0x20 && reason[i] < 0x7f ? reason[i] : '?';
        text[n] = '\0';
        put(o, ",\"", 2);
        puts_(o, key);
        put(o, "\":", 2);
        put_str(o, text);
}

static void put_fit(struct out *o, const char *key, const struct forecast_fit *fit)
{
        puts_(o, ",\"");
        puts_(o, key);
        puts_(o, "\":{\"n\":");
        put_u64(o, fit->n);
        puts_(o, ",\"t0_ms\":");
        put_i64(o, fit->t0_ms);
        puts_(o, ",\"intercept\":");
        put_number(o, fit->intercept_bytes);
        puts_(o, ",\"slope\":");
        put_number(o, fit->slope_bytes_per_s);
        put(o, "}", 1);
}

/* ,"forecast":{...}: what the rule saw this tick. Replay recomputes it from the samples. */
static void put_forecast(struct out *o, const struct forecast_view *fc)
{
        bool fitted = fc->state == FORECAST_RISING || fc->state == FORECAST_NOT_RISING;

        puts_(o, ",\"forecast\":{\"state\":");
        put_str(o, forecast_state_to_string(fc->state));
        puts_(o, ",\"n\":");
        put_u64(o, fc->n);
        if (fc->limit_bytes) {
                puts_(o, ",\"limit\":");
                put_u64(o, fc->limit_bytes);
        }
        if (fitted) {
                put_fit(o, "window", &fc->prediction.window);
                put_fit(o, "recent", &fc->prediction.recent);
        }
        if (fc->state == FORECAST_RISING) {
                puts_(o, ",\"time_to_limit_ms\":");
                put_i64(o, fc->prediction.time_to_limit_ms);
        }
        put(o, "}", 1);
}

int trace_format(char *buf, size_t size, const char *batch, const char *instance,
                 const struct sample *s, const struct forecast_view *fc)
{
        struct out o = { .buf = buf, .size = size };

        puts_(&o, "{\"t_ms\":");
        put_i64(&o, s->t_ms);
        puts_(&o, ",\"batch\":");
        put_str(&o, batch);
        puts_(&o, ",\"instance\":");
        put_str(&o, instance);
        puts_(&o, ",\"memory\":");
        put_section(&o, s, "memory");
        puts_(&o, ",\"runtime\":");
        put_section(&o, s, "runtime");
        if (fc)
                put_forecast(&o, fc);
        put_reason(&o, "memory_error", s->memory_error);
        put_reason(&o, "runtime_error", s->runtime_error);
        if (s->event)
                puts_(&o, ",\"event\":true");
        put(&o, "}", 1);
        if (o.full)
                return -ENOBUFS;
        buf[o.len] = '\0';
        return (int)o.len;
}

int trace_write(FILE *f, const char *batch, const char *instance, const struct sample *s,
                const struct forecast_view *fc)
{
        char buf[TRACE_LINE_MAX];
        int n = trace_format(buf, sizeof(buf), batch, instance, s, fc);

        if (n < 0)
                return n;
        buf[n] = '\n';
        if (fwrite(buf, 1, (size_t)n + 1, f) != (size_t)n + 1)
                return -EIO;
        return 0;
}

static int fail(char *err, size_t errsize, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errsize, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, errsize, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* Reads a non-negative number field; absent or null leaves *has false. */
static int get_u64(json_t *o, const char *key, bool *has, uint64_t *v, char *err, size_t errsize)
{
        json_t *j = json_object_get(o, key);
        double d;

        *has = false;
        if (!j || json_is_null(j))
                return 0;
        if (!json_is_number(j))
                return fail(err, errsize, "\"%s\" is not a number", key);
        d = json_number_value(j);
        if (!(d >= 0) || d >= 18446744073709551616.0)
                return fail(err, errsize, "\"%s\" is out of range (0..2^64)", key);
        *v = json_is_integer(j) ? (uint64_t)json_integer_value(j) : (uint64_t)d;
        *has = true;
        return 0;
}

static int get_real(json_t *o, const char *key, bool *has, double *v, char *err, size_t errsize)
{
        json_t *j = json_object_get(o, key);

        *has = false;
        if (!j || json_is_null(j))
                return 0;
        if (!json_is_number(j))
                return fail(err, errsize, "\"%s\" is not a number", key);
        *v = json_number_value(j);
        *has = true;
        return 0;
}

/* Reads one input of a section; an absent or null field leaves it no-data ("max": null is no
 * limit). */
static int input_from_json(json_t *o, const struct metric_input_def *in, struct sample *s,
                           char *err, size_t errsize)
{
        json_t *j = json_object_get(o, in->field);
        bool has = false;
        int r;

        if (in->value == METRIC_VALUE_LIMIT && j && json_is_null(j)) {
                s->memory.has_max = s->memory.max_unlimited = true;
                return 0;
        }
        if (in->value == METRIC_VALUE_REAL)
                r = get_real(o, in->field, &has, input_value(s, in), err, errsize);
        else
                r = get_u64(o, in->field, &has, input_value(s, in), err, errsize);
        if (r == 0 && !in->detail)
                *input_has(s, in) = has;
        return r;
}

static int section_from_json(json_t *o, const char *section, struct sample *s, char *err,
                             size_t errsize)
{
        int r = 0;

        if (!json_is_object(o))
                return fail(err, errsize, "\"%s\" is not an object", section);
        for (int i = 0; r == 0 && i < _METRIC_INPUT_MAX; i++)
                if (!strcmp(metric_input_get(i)->section, section))
                        r = input_from_json(o, metric_input_get(i), s, err, errsize);
        return r;
}

static int copy_name(json_t *o, const char *key, char *dst, char *err, size_t errsize)
{
        const char *s = json_string_value(json_object_get(o, key));

        if (!s)
                return fail(err, errsize, "\"%s\" is missing or not a string", key);
        if (strlen(s) == 0 || strlen(s) > POLICY_NAME_MAX)
                return fail(err, errsize, "\"%s\" must have 1 to %d characters", key,
                            POLICY_NAME_MAX);
        strcpy(dst, s);
        return 0;
}

int trace_parse(const char *line, size_t len, char ret_batch[POLICY_NAME_MAX + 1],
                char ret_instance[POLICY_NAME_MAX + 1], struct sample *ret, char *err,
                size_t errsize)
{
        _cleanup_json_ json_t *o = NULL;
        struct sample s = { 0 };
        json_error_t jerr;
        json_t *t, *j;
        int r;

        o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!o)
                return fail(err, errsize, "not JSON: %s (column %d)", jerr.text, jerr.column);
        if (!json_is_object(o))
                return fail(err, errsize, "not a JSON object");
        t = json_object_get(o, "t_ms");
        if (!json_is_integer(t) || json_integer_value(t) < 0)
                return fail(err, errsize, "\"t_ms\" is missing or not a non-negative integer");
        s.t_ms = json_integer_value(t);
        r = copy_name(o, "batch", ret_batch, err, errsize);
        if (r < 0)
                return r;
        r = copy_name(o, "instance", ret_instance, err, errsize);
        if (r < 0)
                return r;
        j = json_object_get(o, "memory");
        if (j && !json_is_null(j) && (r = section_from_json(j, "memory", &s, err, errsize)) < 0)
                return r;
        j = json_object_get(o, "runtime");
        if (j && !json_is_null(j) && (r = section_from_json(j, "runtime", &s, err, errsize)) < 0)
                return r;
        j = json_object_get(o, "event"); /* optional: judged like any tick */
        if (j && !json_is_boolean(j))
                return fail(err, errsize, "\"event\" is not true or false");
        s.event = json_is_true(j);
        *ret = s;
        return 0;
}
