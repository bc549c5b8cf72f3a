/* SPDX-License-Identifier: MIT */
/* Policy diagnostics: errors and warnings as data (line, message), formatted on demand. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "policy-internal.h"

int policy_diags_addv(struct policy_diags *d, int line, bool warning, const char *fmt, va_list ap)
{
        struct policy_diag *v;

        if (!warning)
                d->n_errors++;
        if (d->n >= POLICY_ERRORS_MAX) {
                d->n_dropped++;
                return 0;
        }
        v = realloc(d->v, (d->n + 1) * sizeof(*v));
        if (!v) {
                d->n_dropped++;
                return -ENOMEM;
        }
        d->v = v;
        v = &d->v[d->n++];
        v->line = line;
        v->warning = warning;
        vsnprintf(v->message, sizeof(v->message), fmt, ap);
        return 0;
}

int policy_diags_add(struct policy_diags *diags, int line, bool warning, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = policy_diags_addv(diags, line, warning, fmt, ap);
        va_end(ap);
        return r;
}

/* Diagnostics of one load in line order (file-wide ones first); stable. */
void policy_diags_sort(struct policy_diags *d, size_t from)
{
        for (size_t i = from + 1; i < d->n; i++) {
                struct policy_diag tmp = d->v[i];
                size_t j = i;

                for (; j > from && d->v[j - 1].line > tmp.line; j--)
                        d->v[j] = d->v[j - 1];
                d->v[j] = tmp;
        }
}

void policy_diags_clear(struct policy_diags *diags)
{
        free(diags->v);
        *diags = (struct policy_diags){ 0 };
}

const char *policy_diag_format(const struct policy_diag *d, const char *path, char *buf,
                               size_t size)
{
        const char *level = d->warning ? "warning: " : "";

        if (d->line > 0)
                snprintf(buf, size, "%s:%d: %s%s", path, d->line, level, d->message);
        else
                snprintf(buf, size, "%s: %s%s", path, level, d->message);
        return buf;
}

void parser_diag(struct policy_parser *ps, int line, bool warning, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        if (policy_diags_addv(ps->diags, line, warning, fmt, ap) < 0)
                ps->oom = true;
        va_end(ap);
}
