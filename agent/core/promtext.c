/* SPDX-License-Identifier: MIT */
/*
 * The exposition parser's driver: a body line by line through the grammar of its format
 * (promtext-text.c, promtext-om.c), selectors and content types. What both grammars share
 * lives in promtext-sample.c.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "promtext-internal.h"

static int parse_body(struct promtext_parser *ps, enum promtext_format format)
{
        const char *p = ps->body;
        bool eof = false;
        int r;

        while (p < ps->end) {
                const char *le = memchr(p, '\n', (size_t)(ps->end - p));
                bool has_newline = le != NULL;

                if (!le)
                        le = ps->end;
                ps->line++;
                if (eof)
                        return promtext_fail(ps, "data after # EOF");
                if (format == PROMTEXT_FORMAT_OPENMETRICS)
                        r = promtext_om_line(ps, p, le, has_newline, &eof);
                else
                        r = promtext_text_line(ps, p, le, has_newline);
                if (r < 0)
                        return r;
                p = has_newline ? le + 1 : le;
        }
        if (format == PROMTEXT_FORMAT_OPENMETRICS && !eof) {
                ps->line = 0;
                return promtext_fail(ps, "missing # EOF at the end");
        }
        return 0;
}

int promtext_sum(const char *body, size_t len, enum promtext_format format,
                 const struct promtext_selector *selectors, size_t n,
                 struct promtext_result *results, struct promtext_error *ret_err)
{
        struct promtext_parser ps;

        if (n > PROMTEXT_SELECTORS_MAX || format < 0 || format >= _PROMTEXT_FORMAT_MAX ||
            (!body && len > 0))
                return -EINVAL;
        memset(&ps, 0, sizeof(ps));
        ps.body = body;
        ps.end = body + len;
        ps.selectors = selectors;
        ps.n_selectors = n;
        ps.results = results;
        ps.error = ret_err;
        for (size_t i = 0; i < n; i++) {
                results[i] = (struct promtext_result){ 0 };
                ps.selector_len[i] = strnlen(selectors[i].name, sizeof(selectors[i].name));
        }
        if (len > UINT32_MAX)
                return promtext_fail(&ps, "body larger than 4 GiB");
        return parse_body(&ps, format);
}

/* Copies [p, end) unescaped into buf (size bytes); -EINVAL if it does not fit. */
static int copy_value(const char *p, const char *end, char *buf, size_t size)
{
        size_t len;

        for (const char *q = p; q < end; q++)
                if (*q == '\\' && (++q == end || (*q != '\\' && *q != '"' && *q != 'n')))
                        return -EINVAL;
        if (!promtext_unescape((struct promtext_span){ p, (size_t)(end - p) }, buf, size, &len))
                return -EINVAL;
        return promtext_utf8_valid(buf, len) ? 0 : -EINVAL;
}

static int selector_matcher(const char **q, struct promtext_selector *sel)
{
        struct promtext_matcher *m = &sel->matchers[sel->n_matchers];
        const char *p = *q, *name = p, *value;

        if (sel->n_matchers == PROMTEXT_MATCHERS_MAX || !promtext_is_label_start(*p))
                return -EINVAL;
        while (promtext_is_label_char(*p))
                p++;
        if ((size_t)(p - name) > PROMTEXT_NAME_MAX || p[0] != '=' || p[1] != '"')
                return -EINVAL;
        memcpy(m->name, name, (size_t)(p - name));
        m->name[p - name] = '\0';
        for (size_t i = 0; i < sel->n_matchers; i++)
                if (strcmp(sel->matchers[i].name, m->name) == 0)
                        return -EINVAL;
        value = p += 2;
        for (; *p && *p != '"'; p++)
                if (*p == '\\' && p[1])
                        p++;
        if (*p != '"' || copy_value(value, p, m->value, sizeof(m->value)) < 0)
                return -EINVAL;
        sel->n_matchers++;
        *q = p + 1;
        return 0;
}

int promtext_selector_parse(const char *s, struct promtext_selector *ret)
{
        struct promtext_selector sel = { 0 };
        const char *p = s;

        if (!s || !promtext_is_name_start(*p))
                return -EINVAL;
        while (promtext_is_name_char(*p))
                p++;
        if ((size_t)(p - s) > PROMTEXT_NAME_MAX)
                return -EINVAL;
        memcpy(sel.name, s, (size_t)(p - s));
        if (*p == '{') {
                for (p++; *p != '}';) {
                        if (selector_matcher(&p, &sel) < 0)
                                return -EINVAL;
                        if (*p == ',')
                                p++;
                        else if (*p != '}')
                                return -EINVAL;
                }
                p++;
        }
        if (*p != '\0')
                return -EINVAL;
        *ret = sel;
        return 0;
}

enum promtext_format promtext_format_from_content_type(const char *content_type)
{
        static const char om[] = "application/openmetrics-text";

        if (!content_type)
                return PROMTEXT_FORMAT_TEXT;
        content_type += strspn(content_type, " \t");
        if (strncasecmp(content_type, om, sizeof(om) - 1) == 0 &&
            strchr("; \t", content_type[sizeof(om) - 1]))
                return PROMTEXT_FORMAT_OPENMETRICS;
        return PROMTEXT_FORMAT_TEXT;
}
