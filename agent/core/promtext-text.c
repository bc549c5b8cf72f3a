/* SPDX-License-Identifier: MIT */
/*
 * The text exposition format 0.0.4, as strict as client_golang's expfmt.TextParser (what
 * `promtool check metrics` uses): blanks and tabs between tokens, comments other than HELP and
 * TYPE ignored, one HELP and one TYPE per family, TYPE before the family's samples, integer
 * millisecond timestamps, and every line ending in a newline.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "promtext-internal.h"

static const char *skip_blanks(const char *p, const char *le)
{
        while (p < le && promtext_is_blank(*p))
                p++;
        return p;
}

static const char *scan_name(const char *p, const char *le)
{
        if (p < le && promtext_is_name_start(*p))
                for (p++; p < le && promtext_is_name_char(*p); p++)
                        ;
        return p;
}

uint32_t promtext_hash_more(uint32_t h, const char *s, size_t len)
{
        for (size_t i = 0; i < len; i++)
                h = (h ^ (unsigned char)s[i]) * 16777619u;
        return h;
}

struct promtext_family *promtext_family_slot(struct promtext_parser *ps, const char *s, size_t len,
                                             uint32_t h)
{
        for (size_t i = h % PROMTEXT_FAMILY_SLOTS;; i = (i + 1) % PROMTEXT_FAMILY_SLOTS) {
                struct promtext_family *f = &ps->families[i];

                if (f->len == 0 ||
                    (f->hash == h && f->len == len && memcmp(ps->body + f->offset, s, len) == 0))
                        return f;
        }
}

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
        size_t n = strlen(suffix);

        return len > n && memcmp(s + len - n, suffix, n) == 0;
}

static size_t base_len(const char *s, size_t len)
{
        if (has_suffix(s, len, "_count"))
                return len - 6;
        if (has_suffix(s, len, "_sum"))
                return len - 4;
        if (has_suffix(s, len, "_bucket"))
                return len - 7;
        return len;
}

/* The family a name belongs to, as expfmt decides it: x_count/x_sum go to a summary or
 * histogram x, x_bucket to a histogram x; anything else starts a family of its own. */
static int family_resolve(struct promtext_parser *ps, const char *s, size_t len,
                          struct promtext_family **ret)
{
        size_t base = base_len(s, len);
        uint32_t h_base, h;
        struct promtext_family *slot, *f;

        if (len > UINT16_MAX)
                return promtext_fail(ps, "metric name longer than 65535 bytes");
        h_base = promtext_hash_more(PROMTEXT_FNV_OFFSET, s, base);
        h = promtext_hash_more(h_base, s + base, len - base);
        slot = promtext_family_slot(ps, s, len, h);
        if (slot->len) {
                *ret = slot;
                return 0;
        }
        if (base < len) {
                f = promtext_family_slot(ps, s, base, h_base);
                if (f->type == PROMTEXT_TYPE_HISTOGRAM ||
                    (f->type == PROMTEXT_TYPE_SUMMARY && len - base != 7)) {
                        *ret = f;
                        return 0;
                }
        }
        if (ps->n_families == PROMTEXT_FAMILIES_MAX)
                return promtext_fail(ps, "more than 6144 metric families");
        *slot = (struct promtext_family){ .offset = (uint32_t)(s - ps->body),
                                          .hash = h,
                                          .len = (uint16_t)len };
        ps->n_families++;
        *ret = slot;
        return 0;
}

static int parse_type(struct promtext_parser *ps, struct promtext_family *f, const char *p,
                      size_t len)
{
        static const char *const names[_PROMTEXT_TYPE_MAX] = {
                [PROMTEXT_TYPE_COUNTER] = "counter",
                [PROMTEXT_TYPE_GAUGE] = "gauge",
                [PROMTEXT_TYPE_SUMMARY] = "summary",
                [PROMTEXT_TYPE_UNTYPED] = "untyped",
                [PROMTEXT_TYPE_HISTOGRAM] = "histogram",
                [PROMTEXT_TYPE_GAUGE_HISTOGRAM] = "gauge_histogram",
        };

        if (f->type != PROMTEXT_TYPE_NONE)
                return promtext_fail(ps, "second TYPE line for a metric, or TYPE after samples");
        for (int t = PROMTEXT_TYPE_COUNTER; t < _PROMTEXT_TYPE_MAX; t++)
                if (strlen(names[t]) == len && strncasecmp(names[t], p, len) == 0) {
                        f->type = (uint8_t)t;
                        return 0;
                }
        return promtext_fail(ps, "unknown metric type");
}

static int parse_help(struct promtext_parser *ps, struct promtext_family *f, const char *p,
                      const char *le)
{
        if (f->has_help)
                return promtext_fail(ps, "second HELP line for a metric");
        for (; p < le; p++)
                if (*p == '\\' && (++p == le || (*p != '\\' && *p != 'n')))
                        return promtext_fail(ps, "invalid escape sequence in HELP");
        f->has_help = 1;
        return 0;
}

/* `# HELP name text` and `# TYPE name type`; any other comment is ignored. */
static int parse_comment(struct promtext_parser *ps, const char *p, const char *le)
{
        struct promtext_family *f;
        const char *kw, *name;
        size_t kw_len;
        int r;

        kw = p = skip_blanks(p + 1, le);
        while (p < le && !promtext_is_blank(*p))
                p++;
        kw_len = (size_t)(p - kw);
        if (p == le || kw_len != 4 || (memcmp(kw, "HELP", 4) != 0 && memcmp(kw, "TYPE", 4) != 0))
                return 0;
        name = p = skip_blanks(p, le);
        p = scan_name(p, le);
        if (p == le)
                return 0;
        if (!promtext_is_blank(*p))
                return promtext_fail(ps, "invalid metric name in comment");
        r = family_resolve(ps, name, (size_t)(p - name), &f);
        if (r < 0)
                return r;
        p = skip_blanks(p, le);
        if (p == le)
                return 0;
        if (kw[0] == 'H')
                return parse_help(ps, f, p, le);
        return parse_type(ps, f, p, (size_t)(le - p));
}

/* Label names the family's type gives a meaning to must hold numbers. */
static int check_special_labels(struct promtext_parser *ps, const struct promtext_family *f)
{
        const char *want = f->type == PROMTEXT_TYPE_SUMMARY     ? "quantile"
                           : f->type == PROMTEXT_TYPE_HISTOGRAM ? "le"
                                                                : NULL;
        char buf[PROMTEXT_NUMBER_MAX + 1];
        size_t len, want_len;

        if (!want)
                return 0;
        want_len = strlen(want);
        for (size_t i = 0; i < ps->n_labels; i++) {
                const struct promtext_label *l = &ps->labels[i];

                if (l->name.len != want_len || memcmp(l->name.p, want, want_len) != 0)
                        continue;
                if (!promtext_unescape(l->value, buf, sizeof(buf), &len) ||
                    promtext_number_float(buf, len, NULL) < 0)
                        return promtext_fail(ps, f->type == PROMTEXT_TYPE_SUMMARY
                                                         ? "invalid quantile label value"
                                                         : "invalid le label value");
        }
        return 0;
}

static int sample_family(struct promtext_parser *ps, const char *name, size_t len,
                         struct promtext_family **ret)
{
        struct promtext_family_cache *c;
        int r;

        for (size_t i = 0; i < PROMTEXT_RECENT_FAMILIES; i++) {
                c = &ps->recent[i];
                if (c->family && c->name.len == len && c->name.p[len - 1] == name[len - 1] &&
                    memcmp(c->name.p, name, len) == 0) {
                        *ret = c->family;
                        return 0;
                }
        }
        r = family_resolve(ps, name, len, ret);
        if (r < 0)
                return r;
        if ((*ret)->type == PROMTEXT_TYPE_NONE)
                (*ret)->type = PROMTEXT_TYPE_UNTYPED;
        c = &ps->recent[ps->recent_next++ % PROMTEXT_RECENT_FAMILIES];
        *c = (struct promtext_family_cache){ { name, len }, *ret };
        return 0;
}

/* The value, then an optional integer timestamp in milliseconds. */
static int parse_value_and_timestamp(struct promtext_parser *ps, const char *p, const char *le)
{
        const char *v = p;
        int64_t ts;
        int r;

        while (p < le && !promtext_is_blank(*p))
                p++;
        r = promtext_sample_value(ps, v, (size_t)(p - v));
        if (r < 0 || p == le)
                return r;
        v = p = skip_blanks(p, le);
        while (p < le && !promtext_is_blank(*p))
                p++;
        if (promtext_number_int64(v, (size_t)(p - v), &ts) < 0)
                return promtext_fail(ps, "invalid timestamp (integer milliseconds expected)");
        if (p != le)
                return promtext_fail(ps, "unexpected text after the timestamp");
        return 0;
}

static int parse_sample(struct promtext_parser *ps, const char *p, const char *le)
{
        const char *name = p;
        struct promtext_family *f;
        int r;

        p = scan_name(p, le);
        if (p == name)
                return promtext_fail(ps, "invalid metric name");
        r = sample_family(ps, name, (size_t)(p - name), &f);
        if (r < 0)
                return r;
        promtext_sample_begin(ps, name, (size_t)(p - name));
        p = skip_blanks(p, le);
        if (p < le && *p == '{') {
                r = promtext_parse_labels(ps, &p, le, PROMTEXT_LABELS_TEXT);
                if (r < 0)
                        return r;
                r = check_special_labels(ps, f);
                if (r < 0)
                        return r;
                p = skip_blanks(p, le);
        }
        return parse_value_and_timestamp(ps, p, le);
}

int promtext_text_line(struct promtext_parser *ps, const char *p, const char *le, bool has_newline)
{
        p = skip_blanks(p, le);
        if (p == le)
                return 0;
        if (!has_newline)
                return promtext_fail(ps, "unexpected end of input (no newline at the end)");
        if (*p == '#')
                return parse_comment(ps, p, le);
        return parse_sample(ps, p, le);
}
