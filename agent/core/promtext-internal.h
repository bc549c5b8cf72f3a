/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Internals shared by promtext.c and promtext-lex.c: number parsing, UTF-8 checks and
 * character classes. Not part of the agent's API.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "promtext.h"

/* Longest number token accepted (a sample value, timestamp or `le`/`quantile` value). */
#define PROMTEXT_NUMBER_MAX 1024

/* Parses a base-10 int64 with an optional sign (Go's strconv.ParseInt). 0 or -EINVAL. */
int promtext_number_int64(const char *s, size_t len, int64_t *ret);

/* True if [s, s+len) is valid UTF-8 (no overlongs, surrogates or code points > U+10FFFF). */
bool promtext_utf8_valid(const char *s, size_t len);

/* Number of code points in valid UTF-8 [s, s+len). */
size_t promtext_utf8_runes(const char *s, size_t len);

static inline bool promtext_is_blank(char c)
{
        return c == ' ' || c == '\t';
}

/* Character classes of names, one table lookup per byte (the parser's hottest loops). */
enum {
        PROMTEXT_CLASS_LABEL_START = 1 << 0, /* [a-zA-Z_] */
        PROMTEXT_CLASS_LABEL_CHAR = 1 << 1,  /* [a-zA-Z0-9_] */
        PROMTEXT_CLASS_NAME_START = 1 << 2,  /* [a-zA-Z_:] */
        PROMTEXT_CLASS_NAME_CHAR = 1 << 3,   /* [a-zA-Z0-9_:] */
};
extern const uint8_t promtext_class[256];

static inline bool promtext_is_label_start(char c)
{
        return promtext_class[(unsigned char)c] & PROMTEXT_CLASS_LABEL_START;
}

static inline bool promtext_is_label_char(char c)
{
        return promtext_class[(unsigned char)c] & PROMTEXT_CLASS_LABEL_CHAR;
}

static inline bool promtext_is_name_start(char c)
{
        return promtext_class[(unsigned char)c] & PROMTEXT_CLASS_NAME_START;
}

static inline bool promtext_is_name_char(char c)
{
        return promtext_class[(unsigned char)c] & PROMTEXT_CLASS_NAME_CHAR;
}

#define PROMTEXT_LABELS_MAX      128  /* labels on one sample */
#define PROMTEXT_FAMILY_SLOTS    8192 /* open-addressing table of text-format metric families */
#define PROMTEXT_FAMILIES_MAX    6144 /* keeps the table at most 3/4 full */
#define PROMTEXT_EXEMPLAR_RUNES  128  /* OpenMetrics: exemplar label names and values */
#define PROMTEXT_RECENT_FAMILIES 4    /* a histogram's _bucket, _sum and _count, and one more */

struct promtext_span {
        const char *p;
        size_t len;
};

struct promtext_label {
        struct promtext_span name;
        struct promtext_span value; /* raw, still escaped */
};

enum promtext_labels_mode {
        PROMTEXT_LABELS_TEXT,     /* 0.0.4: blanks allowed between tokens, strict escapes */
        PROMTEXT_LABELS_OM,       /* OpenMetrics: no blanks, any escaped character */
        PROMTEXT_LABELS_EXEMPLAR, /* OpenMetrics exemplar: as OM, not matched, length-capped */
        _PROMTEXT_LABELS_MODE_MAX,
};

/* A text-format metric family, named by its offset into the body (no copies). */
struct promtext_family {
        uint32_t offset;
        uint32_t hash;
        uint16_t len;
        uint8_t type; /* enum promtext_type */
        uint8_t has_help;
};

enum promtext_type {
        PROMTEXT_TYPE_NONE, /* no TYPE line and no sample yet */
        PROMTEXT_TYPE_COUNTER,
        PROMTEXT_TYPE_GAUGE,
        PROMTEXT_TYPE_SUMMARY,
        PROMTEXT_TYPE_UNTYPED,
        PROMTEXT_TYPE_HISTOGRAM,
        PROMTEXT_TYPE_GAUGE_HISTOGRAM,
        _PROMTEXT_TYPE_MAX,
};

/* An OpenMetrics family's type; the text format's are enum promtext_type. */
enum promtext_om_type {
        PROMTEXT_OM_UNKNOWN,
        PROMTEXT_OM_COUNTER,
        PROMTEXT_OM_GAUGE,
        PROMTEXT_OM_HISTOGRAM,
        PROMTEXT_OM_GAUGEHISTOGRAM,
        PROMTEXT_OM_SUMMARY,
        PROMTEXT_OM_STATESET,
        PROMTEXT_OM_INFO,
        _PROMTEXT_OM_TYPE_MAX,
};

#define PROMTEXT_OM_GROUPS_MAX 256 /* label groups of one family checked for being split */

/* OpenMetrics: what the semantic checks remember of the family and group being read. */
struct promtext_om_state {
        struct promtext_span family; /* name of the current family; len 0: none yet */
        uint8_t type;                /* enum promtext_om_type */
        bool has_type, has_help, has_unit, unit_set, has_samples;
        /* the current label group (labels but le/quantile) of a histogram or summary */
        bool in_group;
        uint64_t group;
        size_t n_groups;
        uint64_t groups[PROMTEXT_OM_GROUPS_MAX];
        size_t n_buckets;
        double last_le, last_bucket, inf_bucket, count;
        bool has_inf, has_count, has_sum, negative_le, negative_sum;
        /* the previous sample's series, for timestamp order */
        bool has_last;
        uint64_t last_series;
        bool last_has_ts;
        double last_ts;
};

/* What the OpenMetrics checks need of one parsed sample. */
struct promtext_om_sample {
        struct promtext_span name;
        double value;
        bool has_ts, has_exemplar;
        double ts;
};

/* One pass over one body. Lives on the caller's stack (about 100 KiB): no allocation. */
struct promtext_parser {
        const char *body, *end;
        size_t line;
        const struct promtext_selector *selectors;
        size_t n_selectors;
        size_t selector_len[PROMTEXT_SELECTORS_MAX]; /* strlen of each selector's name */
        struct promtext_result *results;
        struct promtext_error *error;

        /* the sample being parsed */
        struct promtext_label labels[PROMTEXT_LABELS_MAX];
        size_t n_labels;
        uint64_t candidates;                     /* selectors naming this sample */
        uint8_t matched[PROMTEXT_SELECTORS_MAX]; /* per candidate: matchers satisfied, a bitmask */

        struct promtext_om_state om; /* OpenMetrics only */

        /* text format; OpenMetrics keeps its family names in families[] too */
        size_t n_families;
        struct promtext_family_cache {
                struct promtext_span name;
                struct promtext_family *family;
        } recent[PROMTEXT_RECENT_FAMILIES]; /* name -> family never changes once resolved */
        size_t recent_next;
        struct promtext_family families[PROMTEXT_FAMILY_SLOTS];
};

/* Records the reason (and the current line) and returns -EBADMSG. */
int promtext_fail(struct promtext_parser *ps, const char *reason);

/* Starts a sample named [name, name+len): picks the selectors that name it. */
void promtext_sample_begin(struct promtext_parser *ps, const char *name, size_t len);

/*
 * Parses a label set from *q (at the '{') up to the line's end le, leaving *q after the '}'.
 * Checks names, escapes, UTF-8 and duplicates, and feeds the selectors (except for
 * exemplars). Returns 0 or -EBADMSG.
 */
int promtext_parse_labels(struct promtext_parser *ps, const char **q, const char *le,
                          enum promtext_labels_mode mode);

/* Parses the sample's value and adds it to every selector it satisfies. 0 or -EBADMSG. */
int promtext_sample_value(struct promtext_parser *ps, const char *s, size_t len);

/* Parse one line [p, le) (le excludes the '\n'); has_newline says whether one follows. */
int promtext_text_line(struct promtext_parser *ps, const char *p, const char *le, bool has_newline);
int promtext_om_line(struct promtext_parser *ps, const char *p, const char *le, bool has_newline,
                     bool *ret_eof);

#define PROMTEXT_FNV_OFFSET 2166136261u

/* FNV-1a, resumable: the hash of a name continues the hash of its prefix. */
uint32_t promtext_hash_more(uint32_t h, const char *s, size_t len);

/* The family slot named [s, s+len) with hash h: the existing one, or the empty slot where it
 * belongs (the table is never full: at most 3/4 of its slots are used). */
struct promtext_family *promtext_family_slot(struct promtext_parser *ps, const char *s, size_t len,
                                             uint32_t h);

/*
 * OpenMetrics 1.0 semantics beyond the syntax (promtext-om-check.c). Each returns 0 or
 * -EBADMSG with the reason: a metadata line (kind 'H', 'T' or 'U'; text is the type or unit),
 * a parsed sample (labels in ps->labels), and the end of the body.
 */
int promtext_om_meta(struct promtext_parser *ps, char kind, struct promtext_span name,
                     struct promtext_span text);
int promtext_om_sample(struct promtext_parser *ps, const struct promtext_om_sample *s);
int promtext_om_end(struct promtext_parser *ps);

/* Unescapes a label value (\\, \", \n; others kept) into buf; false if it does not fit. */
bool promtext_unescape(struct promtext_span raw, char *buf, size_t size, size_t *ret_len);
