/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include <jansson.h>

#include "json-number.h"
#include "metrics.h"
#include "trace.h"
#include "util.h"

/* jansson's own json_decrefp() helper backs the cleanup attribute. */
#define _cleanup_json_ _cleanup_(json_decrefp)

static int set_u64(json_t *o, const char *key, bool has, uint64_t v)
{
        if (!has)
                return 0;
        if (v > (uint64_t)INT64_MAX)
                return json_object_set_new(o, key, json_real((double)v));
        return json_object_set_new(o, key, json_integer((json_int_t)v));
}

static int set_real(json_t *o, const char *key, bool has, double v)
{
        if (!has || !isfinite(v))
                return 0;
        return json_object_set_new(o, key, json_number_of(v));
}

static bool *input_has(struct sample *s, const struct metric_input_def *in)
{
        return (bool *)((char *)s + in->has_offset);
}

static void *input_value(struct sample *s, const struct metric_input_def *in)
{
        return (char *)s + in->value_offset;
}

static int input_to_json(json_t *o, const struct sample *cs, const struct metric_input_def *in)
{
        struct sample *s = (struct sample *)cs; /* only read */

        if (!*input_has(s, in))
                return 0;
        switch (in->value) {
        case METRIC_VALUE_LIMIT:
                if (s->memory.max_unlimited)
                        return json_object_set_new(o, in->field, json_null());
                /* fall through */
        case METRIC_VALUE_U64:
                return set_u64(o, in->field, true, *(uint64_t *)input_value(s, in));
        default:
                return set_real(o, in->field, true, *(double *)input_value(s, in));
        }
}

/* The "memory" or "runtime" object of s: every input of that section the registry names. */
static json_t *section_to_json(const struct sample *s, const char *section)
{
        json_t *o = json_object();
        int r = 0;

        for (int i = 0; o && i < _METRIC_INPUT_MAX; i++)
                if (!strcmp(metric_input_get(i)->section, section))
                        r |= input_to_json(o, s, metric_input_get(i));
        if (r) {
                json_decref(o);
                return NULL;
        }
        return o;
}

/* Sets key to reason when there is one; bytes JSON cannot carry as text become '?'. */
static int set_reason(json_t *o, const char *key, const char *reason)
{
        char text[SAMPLE_REASON_MAX];
        size_t n = strnlen(reason, sizeof(text) - 1);

        if (n == 0)
                return 0;
        for (size_t i = 0; i < n; i++)
                text[i] = reason[i] >= 0x20 && reason[i] < 0x7f ? reason[i] : '?';
        text[n] = '\0';
        return json_object_set_new(o, key, json_string(text));
}

static json_t *sample_to_json(const char *batch, const char *instance, const struct sample *s)
{
        _cleanup_json_ json_t *o = json_object();
        json_t *mem, *rt;

        if (!o)
                return NULL;
        mem = section_to_json(s, "memory");
        rt = section_to_json(s, "runtime");
        if (json_object_set_new(o, "t_ms", json_integer(s->t_ms)) < 0 ||
            json_object_set_new(o, "batch", json_string(batch)) < 0 ||
            json_object_set_new(o, "instance", json_string(instance)) < 0 ||
            json_object_set_new(o, "memory", mem) < 0 ||
            json_object_set_new(o, "runtime", rt) < 0 ||
            set_reason(o, "memory_error", s->memory_error) < 0 ||
            set_reason(o, "runtime_error", s->runtime_error) < 0)
                return NULL;
        return TAKE_PTR(o);
}

int trace_format(char *buf, size_t size, const char *batch, const char *instance,
                 const struct sample *s)
{
        _cleanup_json_ json_t *o = sample_to_json(batch, instance, s);
        size_t n;

        if (!o)
                return -ENOMEM;
        n = json_dumpb(o, buf, size, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
        if (n == 0)
                return -ENOMEM;
        if (n >= size)
                return -ENOBUFS;
        buf[n] = '\0';
        return (int)n;
}

int trace_write(FILE *f, const char *batch, const char *instance, const struct sample *s)
{
        char buf[TRACE_LINE_MAX];
        int n = trace_format(buf, sizeof(buf), batch, instance, s);

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
        *ret = s;
        return 0;
}
