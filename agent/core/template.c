/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"
#include "util.h"

#define TEMPLATE_OUT_MAX (64 * 1024)

static const char *const var_names[_TEMPLATE_VAR_MAX] = {
        [TEMPLATE_VAR_BATCH] = "batch",
        [TEMPLATE_VAR_IMAGE] = "image",
        [TEMPLATE_VAR_STABLE_IMAGE] = "stable_image",
        [TEMPLATE_VAR_TRAFFIC_PERCENT] = "traffic_percent",
        [TEMPLATE_VAR_TRIP_ID] = "trip_id",
        [TEMPLATE_VAR_ACTION] = "action",
        [TEMPLATE_VAR_INSTANCE] = "instance",
        [TEMPLATE_VAR_RULE] = "rule",
        [TEMPLATE_VAR_HOST] = "host",
        [TEMPLATE_VAR_RELEASE] = "release",
};

/* Finds the variable named by s[0..len); returns its index or -1. */
static int lookup(const char *s, size_t len)
{
        for (int i = 0; i < _TEMPLATE_VAR_MAX; i++)
                if (strlen(var_names[i]) == len && memcmp(var_names[i], s, len) == 0)
                        return i;
        return -1;
}

/*
 * Scans one "${" at s; returns the variable index and sets *ret_end past '}', or -1
 * with a reason.
 */
static int scan_var(const char *s, const char **ret_end, char *bad, size_t badsize)
{
        const char *close = strchr(s + 2, '}');
        int v;

        if (!close) {
                snprintf(bad, badsize, "unterminated \"${\"");
                return -1;
        }
        v = lookup(s + 2, (size_t)(close - s - 2));
        if (v < 0) {
                snprintf(bad, badsize, "unknown variable \"${%.*s}\"", (int)(close - s - 2) & 63,
                         s + 2);
                return -1;
        }
        *ret_end = close + 1;
        return v;
}

int template_validate(const char *s, char *bad, size_t badsize)
{
        const char *end;

        for (const char *p = s; (p = strstr(p, "${")); p = end)
                if (scan_var(p, &end, bad, badsize) < 0)
                        return -EINVAL;
        return 0;
}

struct out {
        char *buf;
        size_t len, size;
};

static int put(struct out *o, const char *s, size_t n)
{
        if (o->len + n + 1 > TEMPLATE_OUT_MAX)
                return -E2BIG;
        if (o->len + n + 1 > o->size) {
                size_t size = (o->len + n + 1) * 2;
                char *b = realloc(o->buf, size);

                if (!b)
                        return -ENOMEM;
                o->buf = b;
                o->size = size;
        }
        memcpy(o->buf + o->len, s, n);
        o->len += n;
        o->buf[o->len] = '\0';
        return 0;
}

static int put_json_char(struct out *o, unsigned char c)
{
        char esc[8];

        switch (c) {
        case '"':
                return put(o, "\\\"", 2);
        case '\\':
                return put(o, "\\\\", 2);
        case '\n':
                return put(o, "\\n", 2);
        case '\r':
                return put(o, "\\r", 2);
        case '\t':
                return put(o, "\\t", 2);
        default:
                if (c >= 0x20)
                        return put(o, (const char *)&c, 1);
                snprintf(esc, sizeof(esc), "\\u%04x", c);
                return put(o, esc, 6);
        }
}

static int put_url_char(struct out *o, unsigned char c)
{
        char esc[4];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~')
                return put(o, (const char *)&c, 1);
        snprintf(esc, sizeof(esc), "%%%02X", c);
        return put(o, esc, 3);
}

static int put_value(struct out *o, const char *v, enum template_escape esc)
{
        int r = 0;

        if (!v)
                return 0;
        if (esc == TEMPLATE_ESCAPE_NONE) {
                if (strpbrk(v, "\r\n"))
                        return -EINVAL;
                return put(o, v, strlen(v));
        }
        for (const unsigned char *p = (const unsigned char *)v; *p && r >= 0; p++)
                r = esc == TEMPLATE_ESCAPE_JSON ? put_json_char(o, *p) : put_url_char(o, *p);
        return r;
}

int template_expand(const char *s, const struct template_vars *vars, enum template_escape esc,
                    char **ret)
{
        struct out o = { 0 };
        const char *p = s, *var, *end;
        char bad[128];
        int r = put(&o, "", 0);

        while (r >= 0 && (var = strstr(p, "${"))) {
                int v = scan_var(var, &end, bad, sizeof(bad));

                if (v < 0) {
                        r = -EINVAL;
                        break;
                }
                r = put(&o, p, (size_t)(var - p));
                if (r >= 0)
                        r = put_value(&o, vars->v[v], esc);
                p = end;
        }
        if (r >= 0)
                r = put(&o, p, strlen(p));
        if (r < 0) {
                free(o.buf);
                return r;
        }
        *ret = o.buf;
        return 0;
}
