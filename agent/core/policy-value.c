/* SPDX-License-Identifier: MIT */
/* Validation and storage of one policy value, with messages that say what is accepted. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "policy-keys.h"
#include "promtext-internal.h" /* promtext_utf8_valid(): the one UTF-8 check of the core */
#include "units.h"
#include "util.h"

_Static_assert(sizeof(enum policy_scope) == sizeof(unsigned), "enums are stored as unsigned");

static const char *const hints[] = {
        [V_NAME] = "a name (1-64 characters of A-Z a-z 0-9 . _ -)",
        [V_TEXT] = "text (valid UTF-8 without control characters)",
        [V_PATH] = "an absolute path",
        [V_SOCKET] = "an absolute path of at most 107 characters",
        [V_CGROUP] = "a cgroup path (starting with /, without . or .. components)",
        [V_UNIT] = "a unit name (NAME.service, NAME.scope or NAME.slice)",
        [V_URL] = "an http:// or https:// URL",
        [V_SELECTOR] = "a metric selector (name or name{label=\"value\"})",
        [V_METHOD] = "an HTTP method (POST, PUT, PATCH, GET or DELETE)",
        [V_HEADER] = "a header (Name: value, without CR, LF or other control characters)",
        [V_ADDRESS] = "an address (IPv4:port or [IPv6]:port; for a host name use socket = or "
                      "its IP)",
        [V_SERVER] = "a HAProxy server (backend/server)",
        [V_DURATION] = "a duration (" UNITS_DURATION_HINT ")",
        [V_SIZE] = "a size (use 512MiB, 2GiB, 1G; bare = bytes)",
        [V_RATIO] = "a ratio (use 0.92 or 92%)",
        [V_NUMBER] = "a number (use 15 or 2.5)",
        [V_UINT] = "a whole number",
        [V_PERCENT] = "a percentage (use 5 or 5%)",
        [V_BOOL] = "a boolean (use true or false)",
};

static const char *const template_vars[] = { "batch",   "image",  "stable_image", "traffic_percent",
                                             "trip_id", "action", "instance",     "rule",
                                             "host",    "release" };

const char *policy_keys_quote(const char *s, char buf[static POLICY_QUOTE_MAX])
{
        size_t n = 0;

        for (; s[n] && n < 64; n++)
                buf[n] = ((unsigned char)s[n] < 0x20 || s[n] == 0x7f) ? '?' : s[n];
        strcpy(buf + n, s[n] ? "..." : "");
        return buf;
}

static bool in_set(char c, const char *set)
{
        return c != '\0' && strchr(set, c) != NULL;
}

static bool all_in_set(const char *s, size_t n, const char *set)
{
        for (size_t i = 0; i < n; i++)
                if (!in_set(s[i], set))
                        return false;
        return n > 0;
}

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

static bool cgroup_ok(const char *s)
{
        if (s[0] != '/')
                return false;
        for (const char *p = s + 1; *p;) {
                size_t n = strcspn(p, "/");

                if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                p += n + (p[n] == '/');
        }
        return true;
}

static bool unit_ok(const char *s)
{
        const char *dot = strrchr(s, '.');

        if (!dot || dot == s || strlen(s) > 255 || !all_in_set(s, strlen(s), ALNUM ":_.\\@-"))
                return false;
        return strcmp(dot, ".service") == 0 || strcmp(dot, ".scope") == 0 ||
               strcmp(dot, ".slice") == 0;
}

/* Valid UTF-8 without control characters (a tab is fine): what JSON and a header can carry. */
static bool printable_utf8(const char *s)
{
        for (const char *p = s; *p; p++)
                if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
                        return false;
        return promtext_utf8_valid(s, strlen(s));
}

static bool url_ok(const char *s)
{
        size_t n = strncasecmp(s, "http://", 7) == 0    ? 7
                   : strncasecmp(s, "https://", 8) == 0 ? 8
                                                        : 0;

        if (n == 0 || s[n] == '\0' || s[n] == '/')
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char)*p <= ' ' || *p == 0x7f)
                        return false;
        return true;
}

static bool selector_ok(const char *s)
{
        size_t n = strcspn(s, "{");

        if (n == 0 || in_set(s[0], "0123456789") || !all_in_set(s, n, ALNUM "_:"))
                return false;
        return s[n] == '\0' || s[strlen(s) - 1] == '}';
}

static bool header_ok(const char *s)
{
        size_t n = strcspn(s, ":");

        if (!all_in_set(s, n, ALNUM "-!#$%&'*+.^_`|~") || s[n] != ':' || !printable_utf8(s))
                return false;
        return s[n + 1 + strspn(s + n + 1, " \t")] != '\0';
}

static bool port_ok(const char *s)
{
        uint64_t port;

        return units_parse_uint(s, &port) == 0 && port >= 1 && port <= 65535;
}

/* HAProxy's runtime API is reached without a resolver: an IP literal and a port. */
static bool address_ok(const char *s)
{
        char host[INET6_ADDRSTRLEN];
        unsigned char addr[sizeof(struct in6_addr)];
        const char *end = s[0] == '[' ? strchr(s, ']') : strchr(s, ':');
        size_t n = end ? (size_t)(end - s) - (s[0] == '[') : 0;

        if (!end || n == 0 || n >= sizeof(host))
                return false;
        memcpy(host, s + (s[0] == '['), n);
        host[n] = '\0';
        if (s[0] == '[')
                return end[1] == ':' && port_ok(end + 2) && inet_pton(AF_INET6, host, addr) == 1;
        return port_ok(end + 1) && inet_pton(AF_INET, host, addr) == 1;
}

static bool server_ok(const char *s)
{
        const char *slash = strchr(s, '/');

        return slash && all_in_set(s, (size_t)(slash - s), ALNUM "._:-") &&
               all_in_set(slash + 1, strlen(slash + 1), ALNUM "._:-");
}

static bool method_ok(const char *s)
{
        static const char *const methods[] = { "POST", "PUT", "PATCH", "GET", "DELETE" };

        for (size_t i = 0; i < ELEMENTSOF(methods); i++)
                if (strcmp(s, methods[i]) == 0)
                        return true;
        return false;
}

static bool text_ok(enum value_kind kind, const char *s)
{
        switch (kind) {
        case V_NAME:
                return strlen(s) <= POLICY_NAME_MAX && all_in_set(s, strlen(s), ALNUM "._-");
        case V_TEXT:
                return printable_utf8(s);
        case V_PATH:
                return s[0] == '/';
        case V_SOCKET:
                return s[0] == '/' && strlen(s) <= 107;
        case V_CGROUP:
                return cgroup_ok(s);
        case V_UNIT:
                return unit_ok(s);
        case V_URL:
                return url_ok(s);
        case V_SELECTOR:
                return selector_ok(s);
        case V_METHOD:
                return method_ok(s);
        case V_HEADER:
                return header_ok(s);
        case V_ADDRESS:
                return address_ok(s);
        case V_SERVER:
                return server_ok(s);
        default:
                return true;
        }
}

/* Every ${name} must be a known variable; reports the first unknown one. */
static int check_template(struct policy_parser *ps, const char *key, const char *s)
{
        char quoted[POLICY_QUOTE_MAX];

        for (const char *p = strstr(s, "${"); p; p = strstr(p, "${")) {
                const char *close = strchr(p, '}');
                size_t n = close ? (size_t)(close - p - 2) : 0;
                bool known = false;

                for (size_t i = 0; close && i < ELEMENTSOF(template_vars); i++)
                        known = known || (strlen(template_vars[i]) == n &&
                                          strncmp(p + 2, template_vars[i], n) == 0);
                if (!known) {
                        parser_diag(ps, ps->lineno, false,
                                    "%s: unknown variable in \"%s\" (use ${batch}, ${image}, "
                                    "${stable_image}, ${traffic_percent}, ${trip_id}, ${action}, "
                                    "${instance}, ${rule}, ${host}, ${release})",
                                    key, policy_keys_quote(p, quoted));
                        return -EINVAL;
                }
                p = close + 1;
        }
        return 0;
}

static int store_header(struct policy_parser *ps, const struct key_def *def, void *obj,
                        const char *value)
{
        static const char *const reserved[] = { "Idempotency-Key", "Host" };
        struct policy_action *a = obj;
        size_t n = strcspn(value, ":");
        char **v;

        for (size_t i = 0; i < ELEMENTSOF(reserved); i++)
                if (strlen(reserved[i]) == n && strncasecmp(value, reserved[i], n) == 0) {
                        parser_diag(ps, ps->lineno, false,
                                    "%s: %s is the agent's own header and cannot be set (the "
                                    "agent sends %s)",
                                    def->name, reserved[i],
                                    i == 0 ? "<trip_id>-<action>, stable across restarts"
                                           : "the URL's host");
                        return -EINVAL;
                }
        if (a->n_headers >= POLICY_HEADERS_MAX) {
                parser_diag(ps, ps->lineno, false, "%s: too many headers (at most %d)", def->name,
                            POLICY_HEADERS_MAX);
                return -EINVAL;
        }
        v = realloc(a->headers, (a->n_headers + 1) * sizeof(*v));
        if (!v || !(v[a->n_headers] = strdup(value))) {
                if (v)
                        a->headers = v;
                ps->oom = true;
                return -ENOMEM;
        }
        a->headers = v;
        a->n_headers++;
        return 0;
}

static int store_text(struct policy_parser *ps, const struct key_def *def, void *obj,
                      const char *value)
{
        char quoted[POLICY_QUOTE_MAX];
        char **field = (char **)((char *)obj + def->offset);

        if (!text_ok(def->kind, value)) {
                parser_diag(ps, ps->lineno, false, "%s: \"%s\" is not %s", def->name,
                            policy_keys_quote(value, quoted), hints[def->kind]);
                return -EINVAL;
        }
        if ((def->flags & KEY_TEMPLATE) && check_template(ps, def->name, value) < 0)
                return -EINVAL;
        if (def->kind == V_HEADER)
                return store_header(ps, def, obj, value);
        if (def->kind == V_NAME) {
                snprintf((char *)obj + def->offset, POLICY_NAME_MAX + 1, "%s", value);
                return 0;
        }
        free(*field);
        *field = strdup(value);
        if (!*field) {
                ps->oom = true;
                return -ENOMEM;
        }
        return 0;
}

static int store_enum(struct policy_parser *ps, const struct key_def *def, void *obj,
                      const char *value)
{
        char quoted[POLICY_QUOTE_MAX], list[200] = "";
        size_t n = 0;

        for (unsigned i = 0; def->choices[i]; i++) {
                if (strcmp(value, def->choices[i]) == 0) {
                        memcpy((char *)obj + def->offset, &i, sizeof(i));
                        return 0;
                }
                n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
                                      def->choices[i]);
        }
        parser_diag(ps, ps->lineno, false, "%s: \"%s\" is not one of: %s", def->name,
                    policy_keys_quote(value, quoted), list);
        return -EINVAL;
}

/* Formats a bound of def's range the way its values are written. */
static void format_bound(const struct key_def *def, double v, char *buf, size_t size)
{
        if (def->kind == V_DURATION)
                units_format_duration((uint64_t)v, buf, size);
        else if (def->kind == V_SIZE)
                units_format_size((uint64_t)v, buf, size);
        else
                snprintf(buf, size, "%.15g", v);
}

/* Parses a numeric value into its unit (ms, bytes, ratio, count); 0, -EINVAL or -ERANGE. */
static int parse_numeric(const struct key_def *def, const char *value, double *ret)
{
        uint64_t u;
        int r;

        switch (def->kind) {
        case V_DURATION:
                r = units_parse_duration(value, &u);
                *ret = (double)u;
                return r;
        case V_SIZE:
                r = units_parse_size(value, &u);
                *ret = (double)u;
                return r;
        case V_RATIO:
                return units_parse_ratio(value, ret);
        case V_NUMBER:
                return units_parse_number(value, ret);
        case V_UINT:
                r = units_parse_uint(value, &u);
                *ret = (double)u;
                return r;
        case V_PERCENT:
                return units_parse_percent(value, ret);
        default:
                return -EINVAL;
        }
}

static void store_number(const struct key_def *def, void *obj, double v)
{
        char *field = (char *)obj + def->offset;

        if (def->flags & KEY_COND) {
                struct policy_rule *r = obj;

                r->has[def->offset] = true;
                r->threshold[def->offset] = v;
        } else if (def->kind == V_DURATION || def->kind == V_SIZE) {
                *(uint64_t *)field = (uint64_t)v;
        } else {
                *(unsigned *)field = (unsigned)v;
        }
}

static int store_numeric(struct policy_parser *ps, const struct key_def *def, void *obj,
                         const char *value)
{
        char quoted[POLICY_QUOTE_MAX], lo[32], hi[32];
        double v = 0;
        int r;

        r = parse_numeric(def, value, &v);
        if (r == -EINVAL || ((def->flags & KEY_INTEGER) && v != (double)(uint64_t)v)) {
                parser_diag(ps, ps->lineno, false, "%s: \"%s\" is not %s", def->name,
                            policy_keys_quote(value, quoted),
                            def->flags & KEY_INTEGER ? "a whole percentage (use 5 or 5%)"
                                                     : hints[def->kind]);
                return -EINVAL;
        }
        if (r < 0 || v < def->min || v > def->max) {
                format_bound(def, def->min, lo, sizeof(lo));
                format_bound(def, def->max, hi, sizeof(hi));
                parser_diag(ps, ps->lineno, false, "%s: %s is out of range (%s..%s%s)", def->name,
                            policy_keys_quote(value, quoted), lo, hi,
                            def->kind == V_RATIO ? ", or 0%..100%" : "");
                return -EINVAL;
        }
        store_number(def, obj, v);
        return 0;
}

int policy_value_store(struct policy_parser *ps, const struct key_def *def, void *obj,
                       const char *value)
{
        bool b;

        if (value[0] == '\0') {
                parser_diag(ps, ps->lineno, false, "%s: empty value (expected %s)", def->name,
                            def->kind == V_ENUM ? "one of its choices" : hints[def->kind]);
                return -EINVAL;
        }
        if (def->kind == V_ENUM)
                return store_enum(ps, def, obj, value);
        if (def->kind == V_BOOL) {
                if (units_parse_bool(value, &b) < 0) {
                        char quoted[POLICY_QUOTE_MAX];

                        parser_diag(ps, ps->lineno, false, "%s: \"%s\" is not %s", def->name,
                                    policy_keys_quote(value, quoted), hints[V_BOOL]);
                        return -EINVAL;
                }
                *(bool *)((char *)obj + def->offset) = b;
                return 0;
        }
        if (def->kind >= V_DURATION)
                return store_numeric(ps, def, obj, value);
        return store_text(ps, def, obj, value);
}
