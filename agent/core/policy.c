/* SPDX-License-Identifier: MIT */
/*
 * Policy text to model. An INI splitter (inih, run by io/policy-load.c) does the KEY = VALUE
 * splitting and comments; our reader in front of it numbers the lines, rejects overlong,
 * indented and malformed lines, and handles the section headers itself (inih truncates them
 * at 50 characters and does not report them). Pure: text in, model or diagnostics out.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy-keys.h"
#include "util.h"

static bool is_blank(char c)
{
        return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool name_is_valid(const char *s, size_t n)
{
        if (n == 0 || n > POLICY_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-",
                            s[i]) ||
                    s[i] == '\0')
                        return false;
        return true;
}

static struct parsed_section *find_section(struct policy_parser *ps, enum section_kind kind,
                                           const char *name)
{
        for (size_t i = 0; i < ps->n_sections; i++) {
                struct parsed_section *s = &ps->sections[i];

                if (s->kind == kind && strcmp(policy_keys_object_name(ps->p, s), name) == 0)
                        return s;
        }
        return NULL;
}

/* Splits "kind NAME" (already without brackets) and checks both; returns the kind or NONE. */
static enum section_kind header_kind(struct policy_parser *ps, char *inner, char **ret_name)
{
        char *name = inner + strcspn(inner, " \t");
        enum section_kind kind = SECTION_NONE;

        if (*name)
                *name++ = '\0';
        name += strspn(name, " \t");
        for (int k = SECTION_BATCH; k < _SECTION_KIND_MAX; k++)
                if (strcmp(inner, policy_keys_section_name(k)) == 0)
                        kind = k;
        if (kind == SECTION_NONE) {
                parser_diag(ps, ps->lineno, false,
                            "unknown section [%.64s] (use [batch], [target NAME], [rule NAME] "
                            "or [action NAME])",
                            inner);
        } else if (kind == SECTION_BATCH && *name) {
                parser_diag(ps, ps->lineno, false, "[batch] takes no name (use [batch])");
                kind = SECTION_NONE;
        } else if (kind != SECTION_BATCH && !name_is_valid(name, strlen(name))) {
                parser_diag(ps, ps->lineno, false,
                            "[%s %.64s]: the name must be 1-%d characters of A-Z a-z 0-9 . _ - "
                            "(use [%s NAME])",
                            inner, name, POLICY_NAME_MAX, inner);
                kind = SECTION_NONE;
        }
        *ret_name = name;
        return kind;
}

static void section_begin(struct policy_parser *ps, char *line)
{
        char *close = strchr(line, ']'), *rest, *inner, *name;
        struct parsed_section *s;
        enum section_kind kind;

        ps->cur = NULL;
        ps->any_header = true;
        if (!close) {
                parser_diag(ps, ps->lineno, false, "section header without ']' (use [KIND NAME])");
                return;
        }
        rest = close + 1 + strspn(close + 1, " \t");
        if (*rest && *rest != ';' && *rest != '#') {
                parser_diag(ps, ps->lineno, false, "unexpected text after the section header");
                return;
        }
        *close = '\0';
        inner = line + 1 + strspn(line + 1, " \t");
        while (close > inner && is_blank(close[-1]))
                *--close = '\0';
        kind = header_kind(ps, inner, &name);
        if (kind == SECTION_NONE)
                return;
        s = find_section(ps, kind, name);
        if (s) {
                parser_diag(ps, ps->lineno, false, "duplicate section [%s%s%s] (first at line %d)",
                            policy_keys_section_name(kind), *name ? " " : "", name, s->line);
                return;
        }
        s = policy_keys_new_object(ps, kind, name);
        if (s)
                ps->cur = s;
}

/* Finds a KEY=VALUE delimiter the way inih does: before any " ;" inline comment. */
static bool has_delimiter(const char *p)
{
        for (const char *q = p; *q; q++) {
                if (*q == '=' || *q == ':')
                        return true;
                if (*q == ';' && q > p && is_blank(q[-1]))
                        return false;
        }
        return false;
}

/* Decides whether inih may see a line; the lines it may not are reported here. */
static bool line_is_for_inih(struct policy_parser *ps, char *line)
{
        char *p = line + strspn(line, " \t\r\v\f");

        if (*p == '\0' || *p == ';' || *p == '#')
                return true;
        if (p != line) {
                parser_diag(ps, ps->lineno, false,
                            "indented line (continuation lines are not supported: remove the "
                            "leading whitespace)");
                return false;
        }
        if (*p == '[') {
                section_begin(ps, p);
                return false;
        }
        if (!has_delimiter(p)) {
                parser_diag(ps, ps->lineno, false,
                            "expected KEY = VALUE, a [section] header or a ; comment");
                return false;
        }
        return true;
}

char *policy_parser_read_line(char *str, int num, void *parser)
{
        struct policy_parser *ps = parser;
        size_t max = POLICY_LINE_MAX, n;
        const char *line, *nl;

        if (ps->pos >= ps->len || num < 2)
                return NULL;
        line = ps->text + ps->pos;
        nl = memchr(line, '\n', ps->len - ps->pos);
        n = nl ? (size_t)(nl - line) : ps->len - ps->pos;
        ps->pos += n + (nl ? 1 : 0);
        ps->lineno++;
        if (ps->lineno == 1 && n >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
                line += 3;
                n -= 3;
        }
        if (n > 0 && line[n - 1] == '\r')
                n--;
        if ((size_t)num - 2 < max)
                max = (size_t)num - 2;
        str[0] = '\0';
        if (n > max)
                parser_diag(ps, ps->lineno, false, "line is longer than %zu characters", max);
        else if (memchr(line, '\0', n))
                parser_diag(ps, ps->lineno, false, "line contains a NUL byte");
        else {
                memcpy(str, line, n);
                str[n] = '\0';
                if (!line_is_for_inih(ps, str))
                        str[0] = '\0';
        }
        return str;
}

int policy_parser_set_key(void *parser, const char *section, const char *name, const char *value)
{
        struct policy_parser *ps = parser;

        (void)section; /* inih truncates it; the reader tracks the full header */
        if (!ps->cur) {
                if (!ps->any_header)
                        parser_diag(ps, ps->lineno, false,
                                    "%.64s: key outside of any section (start with [batch])", name);
                return 1;
        }
        policy_keys_set(ps, ps->cur, name, value);
        return 1;
}

static struct policy *policy_new(const char *path)
{
        struct policy *p = calloc(1, sizeof(*p));

        if (!p)
                return NULL;
        p->path = strdup(path);
        p->targets = calloc(POLICY_TARGETS_MAX, sizeof(*p->targets));
        p->rules = calloc(POLICY_RULES_MAX, sizeof(*p->rules));
        p->actions = calloc(POLICY_ACTIONS_MAX, sizeof(*p->actions));
        if (!p->path || !p->targets || !p->rules || !p->actions)
                return policy_free(p);
        p->interval_ms = 5000;
        p->consecutive = 3;
        p->scope = POLICY_SCOPE_INSTANCE;
        p->max_errors = 4;
        return p;
}

/* Frees a parser and its unfinished policy; NULL is fine. Returns NULL. */
static struct policy_parser *policy_parser_free(struct policy_parser *ps)
{
        if (!ps)
                return NULL;
        policy_free(ps->p);
        free(ps->sections);
        free(ps);
        return NULL;
}

int policy_parser_new(const char *text, size_t len, const char *name, struct policy_diags *diags,
                      struct policy_parser **ret)
{
        struct policy_parser *ps = calloc(1, sizeof(*ps));

        if (!ps)
                return -ENOMEM;
        *ps = (struct policy_parser){ .diags = diags,
                                      .text = text,
                                      .len = len,
                                      .errors_before = diags->n_errors,
                                      .diags_before = diags->n };
        ps->p = policy_new(name);
        ps->sections = calloc(SECTIONS_MAX, sizeof(*ps->sections));
        if (!ps->p || !ps->sections) {
                policy_parser_free(ps);
                return -ENOMEM;
        }
        *ret = ps;
        return 0;
}

const struct policy *policy_parser_end(struct policy_parser *ps, int split_result)
{
        if (split_result > 0 && ps->diags->n_errors == ps->errors_before)
                parser_diag(ps, split_result, false, "syntax error");
        if (split_result < 0)
                ps->oom = true;
        policy_check_all(ps);
        return ps->p;
}

int policy_parser_finish(struct policy_parser *ps, struct policy **ret)
{
        int r = 0;

        policy_diags_sort(ps->diags, ps->diags_before);
        if (ps->oom)
                r = -ENOMEM;
        else if (ps->diags->n_errors != ps->errors_before)
                r = -EINVAL;
        else
                *ret = TAKE_PTR(ps->p);
        policy_parser_free(ps);
        return r;
}

static void free_target(struct policy_target *t)
{
        free(t->cgroup);
        free(t->unit);
        free(t->cgroup_root);
        free(t->metrics_url);
        free(t->gc_count_metric);
        free(t->heap_used_metric);
        free(t->heap_max_metric);
}

static void free_action(struct policy_action *a)
{
        free(a->url);
        free(a->method);
        for (size_t i = 0; i < a->n_headers; i++)
                free(a->headers[i]);
        free(a->headers);
        free(a->body);
        free(a->token_file);
        /* A secret: wiped before free. Volatile, so the stores are not optimised away (the
         * core calls no libc function beyond the pure ones, so not explicit_bzero()). */
        for (volatile char *c = a->token; c && *c; c++)
                *c = '\0';
        free(a->token);
        free(a->tls_ca);
        free(a->socket);
        free(a->address);
        free(a->server);
}

struct policy *policy_free(struct policy *p)
{
        if (!p)
                return NULL;
        for (size_t i = 0; p->targets && i < p->n_targets; i++)
                free_target(&p->targets[i]);
        for (size_t i = 0; p->actions && i < p->n_actions; i++)
                free_action(&p->actions[i]);
        free(p->targets);
        free(p->rules);
        free(p->actions);
        free(p->image);
        free(p->stable_image);
        free(p->path);
        free(p);
        return NULL;
}

const char *policy_scope_to_string(enum policy_scope s)
{
        static const char *const names[_POLICY_SCOPE_MAX] = {
                [POLICY_SCOPE_INSTANCE] = "instance",
                [POLICY_SCOPE_BATCH] = "batch",
        };

        return (unsigned)s < _POLICY_SCOPE_MAX ? names[s] : NULL;
}

unsigned policy_rule_consecutive(const struct policy *p, const struct policy_rule *r)
{
        return r->consecutive > 0 ? r->consecutive : p->consecutive;
}
