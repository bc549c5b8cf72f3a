/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * ${name} templates in action URLs, headers and bodies (DESIGN.md "Actions"). Values are
 * escaped for where they land: JSON string content inside a JSON body, percent-encoding
 * inside a URL, as-is in a header (where CR/LF are refused instead).
 */

#include <stddef.h>

enum template_escape {
        TEMPLATE_ESCAPE_NONE, /* headers: values must not contain CR or LF */
        TEMPLATE_ESCAPE_JSON, /* inside a JSON string literal */
        TEMPLATE_ESCAPE_URL,  /* RFC 3986 unreserved characters kept, the rest %XX */
        _TEMPLATE_ESCAPE_MAX,
};

enum template_var {
        TEMPLATE_VAR_BATCH,
        TEMPLATE_VAR_IMAGE,
        TEMPLATE_VAR_STABLE_IMAGE,
        TEMPLATE_VAR_TRAFFIC_PERCENT,
        TEMPLATE_VAR_TRIP_ID,
        TEMPLATE_VAR_ACTION,
        TEMPLATE_VAR_INSTANCE,
        TEMPLATE_VAR_RULE,
        TEMPLATE_VAR_HOST,
        TEMPLATE_VAR_RELEASE,
        _TEMPLATE_VAR_MAX,
};

struct template_vars {
        const char *v[_TEMPLATE_VAR_MAX]; /* NULL expands to "" */
};

/*
 * Checks that every ${...} in s names a known variable and is closed. Returns 0, or
 * -EINVAL and writes the offending name (or a reason) into bad (badsize bytes).
 */
int template_validate(const char *s, char *bad, size_t badsize);

/*
 * Expands s. Returns 0 and sets *ret (malloc'd, caller frees), -EINVAL for a malformed
 * template or a header value with CR/LF, -E2BIG past 64 KiB, -ENOMEM.
 */
int template_expand(const char *s, const struct template_vars *vars, enum template_escape esc,
                    char **ret);
