/* SPDX-License-Identifier: MIT */
/*
 * What both exposition formats share, below their line grammars: failing a parse, label
 * sets and selector matching, sample values and unescaping. A leaf: the driver
 * (promtext.c) and the grammars (promtext-text.c, promtext-om*.c) call it; it calls only
 * the lexer.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "promtext-internal.h"

int promtext_fail(struct promtext_parser *ps, const char *reason)
{
        ps->error->line = ps->line;
        strncpy(ps->error->reason, reason, sizeof(ps->error->reason) - 1);
        ps->error->reason[sizeof(ps->error->reason) - 1] = '\0';
        return -EBADMSG;
}

static inline bool span_is(struct promtext_span s, const char *lit)
{
        return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

void promtext_sample_begin(struct promtext_parser *ps, const char *name, size_t len)
{
        ps->n_labels = 0;
        ps->candidates = 0;
        for (size_t i = 0; i < ps->n_selectors; i++) {
                if (ps->selector_len[i] == len && memcmp(ps->selectors[i].name, name, len) == 0) {
                        ps->candidates |= UINT64_C(1) << i;
                        ps->matched[i] = 0;
                }
        }
}

/* Compares a raw (escaped) label value with an unescaped string. */
static bool value_equals(struct promtext_span raw, const char *want)
{
        const char *p = raw.p, *end = raw.p + raw.len;

        for (; p < end; p++, want++) {
                char c = *p;

                if (c == '\\' && p + 1 < end && (p[1] == '\\' || p[1] == '"' || p[1] == 'n')) {
                        p++;
                        c = *p == 'n' ? '\n' : *p;
                }
                if (*want != c)
                        return false;
        }
        return *want == '\0';
}

static void match_label(struct promtext_parser *ps, const struct promtext_label *l)
{
        for (uint64_t c = ps->candidates; c; c &= c - 1) {
                size_t i = (size_t)__builtin_ctzll(c);
                const struct promtext_selector *sel = &ps->selectors[i];

                for (size_t j = 0; j < sel->n_matchers; j++)
                        if (span_is(l->name, sel->matchers[j].name) &&
                            value_equals(l->value, sel->matchers[j].value))
                                ps->matched[i] |= (uint8_t)(1u << j);
        }
}

/* Scans a quoted value from *q (after the opening quote) to the closing quote. */
/* Scans a quoted value from *q (after the opening quote) to the closing quote, in one pass
 * that also notes whether any byte is non-ASCII (only then is UTF-8 checked). */
static int scan_value(struct promtext_parser *ps, const char **q, const char *le,
                      enum promtext_labels_mode mode, struct promtext_span *ret)
{
        const char *p = *q;
        unsigned high = 0;

        for (; p < le && *p != '"'; p++) {
                high |= (unsigned char)*p;
                if (*p != '\\')
                        continue;
                if (++p == le)
                        break;
                if (mode == PROMTEXT_LABELS_TEXT && *p != '\\' && *p != '"' && *p != 'n')
                        return promtext_fail(ps, "invalid escape sequence in label value");
                high |= (unsigned char)*p;
        }
        if (p == le)
                return promtext_fail(ps, "unterminated label value");
        if ((high & 0x80) && !promtext_utf8_valid(*q, (size_t)(p - *q)))
                return promtext_fail(ps, "label value is not valid UTF-8");
        *ret = (struct promtext_span){ *q, (size_t)(p - *q) };
        *q = p + 1;
        return 0;
}

static const char *skip_blanks(const char *p, const char *le, enum promtext_labels_mode mode)
{
        if (mode == PROMTEXT_LABELS_TEXT)
                while (p < le && promtext_is_blank(*p))
                        p++;
        return p;
}

/* One `name="value"`; *q is at the name. */
static int parse_label(struct promtext_parser *ps, const char **q, const char *le,
                       enum promtext_labels_mode mode, struct promtext_label *l)
{
        const char *p = *q;

        if (p == le || !promtext_is_label_start(*p))
                return promtext_fail(ps, "invalid label name");
        while (p < le && promtext_is_label_char(*p))
                p++;
        l->name = (struct promtext_span){ *q, (size_t)(p - *q) };
        if (l->name.len == 8 && memcmp(l->name.p, "__name__", 8) == 0)
                return promtext_fail(ps, "label name __name__ is reserved");
        p = skip_blanks(p, le, mode);
        if (p == le || *p != '=')
                return promtext_fail(ps, "expected '=' after label name");
        for (size_t i = 0; i < ps->n_labels; i++)
                if (ps->labels[i].name.len == l->name.len &&
                    ps->labels[i].name.p[0] == l->name.p[0] &&
                    memcmp(ps->labels[i].name.p, l->name.p, l->name.len) == 0)
                        return promtext_fail(ps, "duplicate label name");
        p = skip_blanks(p + 1, le, mode);
        if (p == le || *p != '"')
                return promtext_fail(ps, "expected '\"' at start of label value");
        p++;
        *q = p;
        return scan_value(ps, q, le, mode, &l->value);
}

static size_t label_runes(const struct promtext_label *l)
{
        size_t n = promtext_utf8_runes(l->name.p, l->name.len);
        char buf[PROMTEXT_EXEMPLAR_RUNES * 4 + 1];
        size_t len;

        if (!promtext_unescape(l->value, buf, sizeof(buf), &len))
                return SIZE_MAX / 2; /* certainly too long */
        return n + promtext_utf8_runes(buf, len);
}

int promtext_parse_labels(struct promtext_parser *ps, const char **q, const char *le,
                          enum promtext_labels_mode mode)
{
        const char *p = *q + 1;
        size_t runes = 0;
        int r;

        for (;;) {
                p = skip_blanks(p, le, mode);
                if (p < le && *p == '}')
                        break;
                if (ps->n_labels == PROMTEXT_LABELS_MAX)
                        return promtext_fail(ps, "too many labels");
                r = parse_label(ps, &p, le, mode, &ps->labels[ps->n_labels]);
                if (r < 0)
                        return r;
                if (mode == PROMTEXT_LABELS_EXEMPLAR)
                        runes += label_runes(&ps->labels[ps->n_labels]);
                else
                        match_label(ps, &ps->labels[ps->n_labels]);
                ps->n_labels++;
                p = skip_blanks(p, le, mode);
                if (p < le && *p == '}')
                        break;
                if (p == le || *p != ',')
                        return promtext_fail(ps, "expected ',' or '}' after label value");
                p++;
                /* `{a="1",}`: the text format allows the trailing comma, OpenMetrics does not. */
                if (mode != PROMTEXT_LABELS_TEXT && p < le && *p == '}')
                        return promtext_fail(ps, "trailing comma in a label set");
        }
        if (runes > PROMTEXT_EXEMPLAR_RUNES)
                return promtext_fail(ps, "exemplar labels longer than 128 characters");
        *q = p + 1;
        return 0;
}

int promtext_sample_value(struct promtext_parser *ps, const char *s, size_t len)
{
        uint64_t selected = 0;
        double v = 0;

        for (uint64_t c = ps->candidates; c; c &= c - 1) {
                size_t i = (size_t)__builtin_ctzll(c);

                if (ps->matched[i] == (1u << ps->selectors[i].n_matchers) - 1)
                        selected |= UINT64_C(1) << i;
        }
        if (promtext_number_float(s, len, selected ? &v : NULL) < 0)
                return promtext_fail(ps, "invalid sample value");
        for (; selected; selected &= selected - 1) {
                size_t i = (size_t)__builtin_ctzll(selected);

                if (ps->selectors[i].skip_negative && v < 0)
                        continue;
                ps->results[i].n_samples++;
                ps->results[i].sum += v;
        }
        return 0;
}

bool promtext_unescape(struct promtext_span raw, char *buf, size_t size, size_t *ret_len)
{
        size_t n = 0;

        for (const char *p = raw.p, *end = raw.p + raw.len; p < end; p++) {
                char c = *p;

                if (c == '\\' && p + 1 < end && (p[1] == '\\' || p[1] == '"' || p[1] == 'n')) {
                        p++;
                        c = *p == 'n' ? '\n' : *p;
                }
                if (n + 1 >= size)
                        return false;
                buf[n++] = c;
        }
        buf[n] = '\0';
        *ret_len = n;
        return true;
}
