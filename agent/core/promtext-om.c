/* SPDX-License-Identifier: MIT */
/*
 * OpenMetrics 1.0 text, as strict as Prometheus's OpenMetrics parser: single spaces, no blank
 * lines, comments only HELP, TYPE, UNIT and the final `# EOF`, timestamps in (possibly
 * fractional) seconds, exemplars after ` # `, and nothing after `# EOF`.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "promtext-internal.h"

static const char *scan_name(const char *p, const char *le)
{
        if (p < le && promtext_is_name_start(*p))
                for (p++; p < le && promtext_is_name_char(*p); p++)
                        ;
        return p;
}

static const char *scan_token(const char *p, const char *le)
{
        while (p < le && *p != ' ')
                p++;
        return p;
}

static bool starts_with(const char *p, const char *le, const char *lit)
{
        size_t n = strlen(lit);

        return (size_t)(le - p) >= n && memcmp(p, lit, n) == 0;
}

static int check_type(struct promtext_parser *ps, const char *p, const char *le)
{
        static const char *const types[] = { "counter", "gauge",    "histogram", "gaugehistogram",
                                             "summary", "stateset", "info",      "unknown" };

        for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
                if (strlen(types[i]) == (size_t)(le - p) &&
                    memcmp(types[i], p, (size_t)(le - p)) == 0)
                        return 0;
        return promtext_fail(ps, "unknown metric type");
}

static int check_unit(struct promtext_parser *ps, const char *name, size_t name_len,
                      const char *unit, size_t unit_len)
{
        if (unit_len == 0)
                return 0;
        if (name_len < unit_len + 1 || name[name_len - unit_len - 1] != '_' ||
            memcmp(name + name_len - unit_len, unit, unit_len) != 0)
                return promtext_fail(ps, "unit is not a suffix of the metric name");
        return 0;
}

/* `# HELP name text`, `# TYPE name type`, `# UNIT name unit`, or `# EOF`. */
static int parse_comment(struct promtext_parser *ps, const char *p, const char *le, bool *ret_eof)
{
        const char *kw = p + 2, *name, *text;
        int r;

        if (le - p == 5 && memcmp(p, "# EOF", 5) == 0) {
                *ret_eof = true;
                return promtext_om_end(ps);
        }
        if (!starts_with(p, le, "# HELP ") && !starts_with(p, le, "# TYPE ") &&
            !starts_with(p, le, "# UNIT "))
                return promtext_fail(ps, "invalid comment (only HELP, TYPE, UNIT and EOF)");
        name = kw + 5;
        text = scan_name(name, le);
        if (text == name)
                return promtext_fail(ps, "invalid metric name in comment");
        if (text == le || *text != ' ')
                return promtext_fail(ps, "expected a space and text after the metric name");
        text++;
        switch (kw[0]) {
        case 'T':
                r = check_type(ps, text, le);
                break;
        case 'U':
                r = check_unit(ps, name, (size_t)(text - 1 - name), text, (size_t)(le - text));
                break;
        default:
                r = promtext_utf8_valid(text, (size_t)(le - text))
                            ? 0
                            : promtext_fail(ps, "HELP text is not valid UTF-8");
        }
        if (r < 0)
                return r;
        return promtext_om_meta(ps, kw[0],
                                (struct promtext_span){ name, (size_t)(text - 1 - name) },
                                (struct promtext_span){ text, (size_t)(le - text) });
}

/* A timestamp in seconds: any float but NaN and the infinities. */
static int parse_timestamp(struct promtext_parser *ps, const char *p, const char *end)
{
        double ts;

        if (promtext_number_float(p, (size_t)(end - p), &ts) < 0 || isnan(ts) || isinf(ts))
                return promtext_fail(ps, "invalid timestamp");
        return 0;
}

/* ` # {labels} value [timestamp]`; p is at the '{'. */
static int parse_exemplar(struct promtext_parser *ps, const char *p, const char *le)
{
        const char *v;
        int r;

        ps->n_labels = 0;
        r = promtext_parse_labels(ps, &p, le, PROMTEXT_LABELS_EXEMPLAR);
        if (r < 0)
                return r;
        if (p == le || *p != ' ')
                return promtext_fail(ps, "expected a space before the exemplar value");
        v = ++p;
        p = scan_token(p, le);
        if (promtext_number_float(v, (size_t)(p - v), NULL) < 0)
                return promtext_fail(ps, "invalid exemplar value");
        if (p == le)
                return 0;
        v = ++p;
        p = scan_token(p, le);
        if (p != le)
                return promtext_fail(ps, "unexpected text after the exemplar timestamp");
        return parse_timestamp(ps, v, p);
}

/* After the value: nothing, a timestamp, an exemplar, or a timestamp and an exemplar. */
static int parse_tail(struct promtext_parser *ps, const char *p, const char *le)
{
        const char *ts;
        int r;

        if (p == le)
                return 0;
        if (starts_with(p, le, " # {"))
                return parse_exemplar(ps, p + 3, le);
        ts = ++p;
        p = scan_token(p, le);
        r = parse_timestamp(ps, ts, p);
        if (r < 0 || p == le)
                return r;
        if (starts_with(p, le, " # {"))
                return parse_exemplar(ps, p + 3, le);
        return promtext_fail(ps, "unexpected text after the timestamp");
}

/*
 * Hands the sample to the semantic checks: name (with its labels in ps->labels), the value
 * token [v, end), and a light look at the tail from end (its syntax is checked afterwards).
 */
static int check_sample(struct promtext_parser *ps, struct promtext_span name, const char *v,
                        const char *end, const char *le)
{
        struct promtext_om_sample s = { .name = name };
        const char *ts;

        name.len = (size_t)(scan_name(name.p, le) - name.p);
        s.name = name;
        promtext_number_float(v, (size_t)(end - v), &s.value);
        if (end < le && !starts_with(end, le, " # {")) {
                ts = end + 1;
                end = scan_token(ts, le);
                s.has_ts = promtext_number_float(ts, (size_t)(end - ts), &s.ts) == 0;
        }
        s.has_exemplar = starts_with(end, le, " # {");
        return promtext_om_sample(ps, &s);
}

static int parse_sample(struct promtext_parser *ps, const char *p, const char *le)
{
        const char *name = p, *v;
        int r;

        p = scan_name(p, le);
        if (p == name)
                return promtext_fail(ps, "invalid metric name");
        promtext_sample_begin(ps, name, (size_t)(p - name));
        if (p < le && *p == '{') {
                r = promtext_parse_labels(ps, &p, le, PROMTEXT_LABELS_OM);
                if (r < 0)
                        return r;
        }
        if (p == le || *p != ' ')
                return promtext_fail(ps, "expected a single space before the value");
        v = ++p;
        p = scan_token(p, le);
        r = promtext_sample_value(ps, v, (size_t)(p - v));
        if (r < 0)
                return r;
        /* Judged before the tail is parsed: an exemplar's labels replace the sample's. */
        r = check_sample(ps, (struct promtext_span){ name, (size_t)(v - 1 - name) }, v, p, le);
        if (r < 0)
                return r;
        return parse_tail(ps, p, le);
}

int promtext_om_line(struct promtext_parser *ps, const char *p, const char *le, bool has_newline,
                     bool *ret_eof)
{
        bool is_eof = le - p == 5 && memcmp(p, "# EOF", 5) == 0;

        if (p == le)
                return promtext_fail(ps, "blank line");
        if (!has_newline && !is_eof)
                return promtext_fail(ps, "missing # EOF at the end");
        if (*p == '#')
                return parse_comment(ps, p, le, ret_eof);
        return parse_sample(ps, p, le);
}
