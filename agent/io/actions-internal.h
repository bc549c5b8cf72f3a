/* SPDX-License-Identifier: MIT */
#pragma once

/* What the runner (actions.c) needs from the request builder (actions-request.c). */

#include "actions.h"
#include "token.h"

/* One webhook request, expanded; the token is wiped by actions_http_clear(). */
struct actions_http {
        char *url;
        char *body;
        char *headers[POLICY_HEADERS_MAX + 3];
        size_t n_headers;
        char token[TOKEN_MAX];
};

/*
 * Expands the URL, headers and body of pa for attempt x of the trip in s (the same inputs
 * give the same bytes every time) and reads its token again (token_reread()). Returns 0;
 * 1 when the token is the one loaded with the policy, why saying why (a warning); or -errno
 * with why (whysize bytes) saying what failed. *ret needs actions_http_clear() either way.
 */
int actions_http_build(const struct policy *p, const struct state *s, const char *host,
                       const struct policy_action *pa, const struct state_action *x,
                       struct actions_http *ret, char *why, size_t whysize);

/* Frees what actions_http_build() allocated and wipes the token. */
void actions_http_clear(struct actions_http *h);
