/* SPDX-License-Identifier: MIT */
/*
 * OpenMetrics 1.0 beyond its syntax: families are contiguous and named without clashes,
 * metadata comes once and before the samples, each type's samples have their suffixes, labels
 * and values (counters and buckets never negative or NaN, info 1, stateset 0 or 1), histogram
 * buckets ascend to a +Inf that equals _count, label groups are not split, a series' timestamps
 * never go back, and exemplars appear only where the type allows them.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "promtext-internal.h"

#define SUFFIXES_MAX 4

static const char *const type_names[_PROMTEXT_OM_TYPE_MAX] = {
        [PROMTEXT_OM_UNKNOWN] = "unknown",
        [PROMTEXT_OM_COUNTER] = "counter",
        [PROMTEXT_OM_GAUGE] = "gauge",
        [PROMTEXT_OM_HISTOGRAM] = "histogram",
        [PROMTEXT_OM_GAUGEHISTOGRAM] = "gaugehistogram",
        [PROMTEXT_OM_SUMMARY] = "summary",
        [PROMTEXT_OM_STATESET] = "stateset",
        [PROMTEXT_OM_INFO] = "info",
};

/* The sample names of each type: the family name plus one of these. */
static const char *const suffixes[_PROMTEXT_OM_TYPE_MAX][SUFFIXES_MAX] = {
        [PROMTEXT_OM_UNKNOWN] = { "" },
        [PROMTEXT_OM_COUNTER] = { "_total", "_created" },
        [PROMTEXT_OM_GAUGE] = { "" },
        [PROMTEXT_OM_HISTOGRAM] = { "_bucket", "_count", "_sum", "_created" },
        [PROMTEXT_OM_GAUGEHISTOGRAM] = { "_bucket", "_gcount", "_gsum" },
        [PROMTEXT_OM_SUMMARY] = { "", "_count", "_sum", "_created" },
        [PROMTEXT_OM_STATESET] = { "" },
        [PROMTEXT_OM_INFO] = { "_info" },
};

static bool span_is(struct promtext_span s, const char *lit)
{
        return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

static bool span_eq(struct promtext_span a, struct promtext_span b)
{
        return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

/* The family table slot for a name, existing (len != 0) or where it would go. */
static struct promtext_family *slot(struct promtext_parser *ps, const char *s, size_t len)
{
        return promtext_family_slot(ps, s, len, promtext_hash_more(PROMTEXT_FNV_OFFSET, s, len));
}

/* Whether base+suffix names a family seen so far, and that family (or NULL). */
static const struct promtext_family *seen_with(struct promtext_parser *ps,
                                               struct promtext_span base, const char *suffix)
{
        char buf[PROMTEXT_NAME_MAX * 2];
        size_t n = strlen(suffix);
        const struct promtext_family *f;

        if (base.len + n > sizeof(buf))
                return NULL; /* longer names are not checked for clashes */
        memcpy(buf, base.p, base.len);
        memcpy(buf + base.len, suffix, n);
        f = slot(ps, buf, base.len + n);
        return f->len ? f : NULL;
}

/* The family's sample names must not be another family's name, nor its name another's. */
static int check_clash(struct promtext_parser *ps, struct promtext_span name, uint8_t type)
{
        for (size_t i = 0; i < SUFFIXES_MAX && suffixes[type][i]; i++)
                if (suffixes[type][i][0] && seen_with(ps, name, suffixes[type][i]))
                        return promtext_fail(ps, "metric family name clashes with another");
        for (int t = 0; t < _PROMTEXT_OM_TYPE_MAX; t++)
                for (size_t i = 0; i < SUFFIXES_MAX && suffixes[t][i]; i++) {
                        size_t n = strlen(suffixes[t][i]);
                        struct promtext_span base = { name.p, name.len - n };
                        const struct promtext_family *f;

                        if (n == 0 || name.len <= n || memcmp(name.p + base.len, suffixes[t][i], n))
                                continue;
                        f = seen_with(ps, base, "");
                        if (f && f->type == t)
                                return promtext_fail(ps, "metric family name clashes with another");
                }
        return 0;
}

static int group_end(struct promtext_parser *ps);

/* Ends the current family and starts one named name (typed later, or unknown). */
static int family_open(struct promtext_parser *ps, struct promtext_span name)
{
        struct promtext_om_state *om = &ps->om;
        struct promtext_family *f;
        int r;

        r = group_end(ps);
        if (r < 0)
                return r;
        f = slot(ps, name.p, name.len);
        if (f->len)
                return promtext_fail(ps, "metric family split, or its metadata repeated");
        if (name.len > UINT16_MAX || ps->n_families == PROMTEXT_FAMILIES_MAX)
                return promtext_fail(ps, "too many or too long metric family names");
        r = check_clash(ps, name, PROMTEXT_OM_UNKNOWN);
        if (r < 0)
                return r;
        *f = (struct promtext_family){ .offset = (uint32_t)(name.p - ps->body),
                                       .hash = promtext_hash_more(PROMTEXT_FNV_OFFSET, name.p,
                                                                  name.len),
                                       .len = (uint16_t)name.len,
                                       .type = PROMTEXT_OM_UNKNOWN };
        ps->n_families++;
        memset(om, 0, sizeof(*om));
        om->family = name;
        return 0;
}

static int set_type(struct promtext_parser *ps, struct promtext_span text)
{
        struct promtext_om_state *om = &ps->om;

        for (int t = 0; t < _PROMTEXT_OM_TYPE_MAX; t++)
                if (span_is(text, type_names[t])) {
                        om->type = (uint8_t)t;
                        slot(ps, om->family.p, om->family.len)->type = (uint8_t)t;
                        return check_clash(ps, om->family, om->type);
                }
        return promtext_fail(ps, "unknown metric type");
}

int promtext_om_meta(struct promtext_parser *ps, char kind, struct promtext_span name,
                     struct promtext_span text)
{
        struct promtext_om_state *om = &ps->om;
        bool *have = kind == 'T' ? &om->has_type : kind == 'H' ? &om->has_help : &om->has_unit;
        int r;

        if (!span_eq(name, om->family) && (r = family_open(ps, name)) < 0)
                return r;
        /*
         * A second metadata block of the same name after samples starts a family anew, as
         * client_golang writes go_memstats_alloc_bytes (a gauge, then a counter) and Python's
         * parser accepts; a first HELP, TYPE or UNIT after the samples is misplaced.
         */
        if (om->has_samples && *have) {
                if ((r = group_end(ps)) < 0)
                        return r;
                memset(om, 0, sizeof(*om));
                om->family = name;
        }
        if (om->has_samples)
                return promtext_fail(ps, "HELP, TYPE or UNIT after the family's samples");
        if (*have)
                return promtext_fail(ps, "repeated HELP, TYPE or UNIT");
        *have = true;
        if (kind == 'T' && (r = set_type(ps, text)) < 0)
                return r;
        if (kind == 'U')
                om->unit_set = text.len > 0;
        if (om->unit_set && (om->type == PROMTEXT_OM_INFO || om->type == PROMTEXT_OM_STATESET))
                return promtext_fail(ps, "UNIT on an info or stateset metric");
        return 0;
}

/* The value of label name among the sample's labels, unescaped into buf; false if absent. */
static bool label_value(const struct promtext_parser *ps, const char *name, char *buf, size_t size,
                        size_t *ret_len)
{
        for (size_t i = 0; i < ps->n_labels; i++)
                if (span_is(ps->labels[i].name, name))
                        return promtext_unescape(ps->labels[i].value, buf, size, ret_len);
        return false;
}

static bool has_label(const struct promtext_parser *ps, struct promtext_span name)
{
        for (size_t i = 0; i < ps->n_labels; i++)
                if (span_eq(ps->labels[i].name, name))
                        return true;
        return false;
}

/* A number label (le, quantile): a float whose infinities and NaN are spelled canonically. */
static bool number_label(const struct promtext_parser *ps, const char *name, double *ret)
{
        char buf[PROMTEXT_NUMBER_MAX + 1];
        size_t len;

        if (!label_value(ps, name, buf, sizeof(buf), &len) ||
            promtext_number_float(buf, len, ret) < 0)
                return false;
        return isfinite(*ret) || strcmp(buf, "+Inf") == 0 || strcmp(buf, "-Inf") == 0 ||
               strcmp(buf, "NaN") == 0;
}

/* Order-independent hash of the labels, leaving out skip (le or quantile) if not NULL. */
static uint64_t labels_hash(const struct promtext_parser *ps, const char *skip)
{
        uint64_t h = 0;

        for (size_t i = 0; i < ps->n_labels; i++) {
                const struct promtext_label *l = &ps->labels[i];
                uint64_t a = promtext_hash_more(PROMTEXT_FNV_OFFSET, l->name.p, l->name.len);
                uint64_t b = promtext_hash_more(PROMTEXT_FNV_OFFSET, l->value.p, l->value.len);

                if (!skip || !span_is(l->name, skip))
                        h += (a << 32 | b) * 0x9e3779b97f4a7c15u;
        }
        return h;
}

/* Checks the histogram group that just ended. */
static int group_end(struct promtext_parser *ps)
{
        struct promtext_om_state *om = &ps->om;
        bool gauge = om->type == PROMTEXT_OM_GAUGEHISTOGRAM;

        if (!om->in_group || (om->type != PROMTEXT_OM_HISTOGRAM && !gauge))
                return 0;
        om->in_group = false;
        if (!om->has_inf)
                return promtext_fail(ps, "histogram without a +Inf bucket");
        if (om->has_count && om->count != om->inf_bucket)
                return promtext_fail(ps, "histogram _count differs from its +Inf bucket");
        if (om->has_count != om->has_sum)
                return promtext_fail(ps, "histogram with only one of _count and _sum");
        if (!gauge && om->negative_le && om->has_sum)
                return promtext_fail(ps, "histogram with negative buckets has a _sum");
        if (om->negative_sum && !om->negative_le)
                return promtext_fail(ps, "negative histogram sum without negative buckets");
        return 0;
}

/* Follows the label groups of a histogram or summary: each must be contiguous. */
static int group_track(struct promtext_parser *ps, const char *skip)
{
        struct promtext_om_state *om = &ps->om;
        uint64_t g = labels_hash(ps, skip);
        int r;

        if (om->in_group && om->group == g)
                return 0;
        r = group_end(ps);
        if (r < 0)
                return r;
        for (size_t i = 0; i < om->n_groups; i++)
                if (om->groups[i] == g)
                        return promtext_fail(ps, "label group of a histogram or summary is split");
        if (om->n_groups < PROMTEXT_OM_GROUPS_MAX)
                om->groups[om->n_groups++] = g;
        om->in_group = true;
        om->group = g;
        om->n_buckets = 0;
        om->last_le = om->last_bucket = om->inf_bucket = om->count = 0;
        om->has_inf = om->has_count = om->has_sum = om->negative_le = om->negative_sum = false;
        return 0;
}

static bool is_count(double v)
{
        return v >= 0 && v == floor(v); /* false for NaN */
}

static int check_bucket(struct promtext_parser *ps, double v)
{
        struct promtext_om_state *om = &ps->om;
        double le;

        if (!number_label(ps, "le", &le) || isnan(le))
                return promtext_fail(ps, "histogram bucket without a valid le label");
        if (!is_count(v))
                return promtext_fail(ps, "histogram bucket count negative, fractional or NaN");
        if (om->n_buckets > 0 && (le <= om->last_le || v < om->last_bucket))
                return promtext_fail(ps, "histogram buckets out of order");
        om->n_buckets++;
        om->last_le = le;
        om->last_bucket = v;
        om->negative_le |= le < 0;
        if (isinf(le) && le > 0) {
                om->has_inf = true;
                om->inf_bucket = v;
        }
        return 0;
}

static int check_histogram(struct promtext_parser *ps, const char *suffix, double v)
{
        struct promtext_om_state *om = &ps->om;
        int r = group_track(ps, "le");

        if (r < 0)
                return r;
        if (strcmp(suffix, "_bucket") == 0)
                return check_bucket(ps, v);
        if (strcmp(suffix, "_count") == 0 || strcmp(suffix, "_gcount") == 0) {
                if (!is_count(v))
                        return promtext_fail(ps, "histogram count negative, fractional or NaN");
                om->has_count = true;
                om->count = v;
        } else if (strcmp(suffix, "_sum") == 0 || strcmp(suffix, "_gsum") == 0) {
                if (isnan(v))
                        return promtext_fail(ps, "histogram sum is NaN");
                om->has_sum = true;
                om->negative_sum |= v < 0;
        }
        return 0;
}

static int check_summary(struct promtext_parser *ps, const char *suffix, double v)
{
        double q;
        int r = group_track(ps, "quantile");

        if (r < 0)
                return r;
        if (suffix[0] == '\0') {
                if (!number_label(ps, "quantile", &q) || !(q >= 0 && q <= 1))
                        return promtext_fail(ps, "summary quantile missing or not in [0, 1]");
                if (v < 0)
                        return promtext_fail(ps, "summary quantile value is negative");
        } else if (strcmp(suffix, "_count") == 0 && !is_count(v)) {
                return promtext_fail(ps, "summary count negative, fractional or NaN");
        } else if (strcmp(suffix, "_sum") == 0 && (isnan(v) || v < 0)) {
                return promtext_fail(ps, "summary sum negative or NaN");
        }
        return 0;
}

static int check_value(struct promtext_parser *ps, const char *suffix, double v)
{
        struct promtext_om_state *om = &ps->om;

        switch (om->type) {
        case PROMTEXT_OM_COUNTER:
                if (strcmp(suffix, "_total") == 0 && (isnan(v) || v < 0))
                        return promtext_fail(ps, "counter value negative or NaN");
                return 0;
        case PROMTEXT_OM_INFO:
                return v == 1 ? 0 : promtext_fail(ps, "info value other than 1");
        case PROMTEXT_OM_STATESET:
                if (!has_label(ps, om->family))
                        return promtext_fail(ps, "stateset sample without a label of its name");
                return v == 0 || v == 1 ? 0 : promtext_fail(ps, "stateset value other than 0 or 1");
        case PROMTEXT_OM_HISTOGRAM:
        case PROMTEXT_OM_GAUGEHISTOGRAM:
                return check_histogram(ps, suffix, v);
        case PROMTEXT_OM_SUMMARY:
                return check_summary(ps, suffix, v);
        default:
                return 0;
        }
}

/* The suffix of name within the current family's sample names, or NULL if not one of them. */
static const char *family_suffix(const struct promtext_om_state *om, struct promtext_span name)
{
        if (om->family.len == 0 || name.len < om->family.len ||
            memcmp(name.p, om->family.p, om->family.len) != 0)
                return NULL;
        for (size_t i = 0; i < SUFFIXES_MAX && suffixes[om->type][i]; i++)
                if (strlen(suffixes[om->type][i]) == name.len - om->family.len &&
                    memcmp(name.p + om->family.len, suffixes[om->type][i],
                           name.len - om->family.len) == 0)
                        return suffixes[om->type][i];
        return NULL;
}

/* A series seen again right after itself must have a timestamp that does not go back. */
static int check_series(struct promtext_parser *ps, const struct promtext_om_sample *s)
{
        struct promtext_om_state *om = &ps->om;
        uint64_t id = labels_hash(ps, NULL) ^
                      promtext_hash_more(PROMTEXT_FNV_OFFSET, s->name.p, s->name.len);

        if (om->has_last && om->last_series == id) {
                if (!s->has_ts || !om->last_has_ts)
                        return promtext_fail(ps, "series repeated without timestamps");
                if (s->ts < om->last_ts)
                        return promtext_fail(ps, "timestamps of a series go backwards");
        }
        om->has_last = true;
        om->last_series = id;
        om->last_has_ts = s->has_ts;
        om->last_ts = s->ts;
        return 0;
}

int promtext_om_sample(struct promtext_parser *ps, const struct promtext_om_sample *s)
{
        struct promtext_om_state *om = &ps->om;
        const char *suffix = family_suffix(om, s->name);
        bool exemplar_ok;
        int r;

        if (!suffix) {
                r = family_open(ps, s->name);
                if (r < 0)
                        return r;
                suffix = "";
        }
        om->has_samples = true;
        exemplar_ok =
                (om->type == PROMTEXT_OM_COUNTER && strcmp(suffix, "_total") == 0) ||
                ((om->type == PROMTEXT_OM_HISTOGRAM || om->type == PROMTEXT_OM_GAUGEHISTOGRAM) &&
                 strcmp(suffix, "_bucket") == 0);
        if (s->has_exemplar && !exemplar_ok)
                return promtext_fail(ps, "exemplar on a sample that may not carry one");
        r = check_series(ps, s);
        if (r < 0)
                return r;
        return check_value(ps, suffix, s->value);
}

int promtext_om_end(struct promtext_parser *ps)
{
        return group_end(ps);
}
