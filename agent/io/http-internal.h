/* SPDX-License-Identifier: MIT */
#pragma once

/* What http.c (the multi handle and completion) and http-request.c (building one request)
 * share. Not for other modules: they use http.h. */

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

#define BODY_INITIAL_CAP (16u * 1024)

struct http_req {
        struct http_req *prev, *next;
        struct http *http;
        uint64_t id;
        CURL *easy;
        struct curl_slist *headers;
        char *buf; /* response body, NUL-terminated when non-NULL */
        size_t len, cap, max;
        bool too_large;
        http_done_fn done;
        void *userdata;
        char errbuf[CURL_ERROR_SIZE];
};

struct http {
        CURLM *multi;
        struct http_req *reqs; /* pending requests, newest first */
        size_t n_reqs;
        uint64_t last_id;
};

/* Checks the caller's options (URL, method, headers without CR/LF, caps). 0 or -EINVAL. */
int http_validate_opts(const struct http_request_opts *o);

/* Builds the header list of o (its headers, then the agent's own). 0 or -ENOMEM. */
int http_build_headers(const struct http_request_opts *o, struct curl_slist **list);

/* Configures r->easy for o: URL, method and body, headers, timeouts, limits, the body
 * sink. Returns 0, -ENOMEM or -EINVAL. */
int http_setup_easy(struct http_req *r, const struct http_request_opts *o);
