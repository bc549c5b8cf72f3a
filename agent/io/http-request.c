/* SPDX-License-Identifier: MIT */
/* Building one libcurl request from the caller's options (http.h). */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http-internal.h"
#include "util.h"

static bool has_crlf(const char *s)
{
        return strpbrk(s, "\r\n") != NULL;
}

int http_validate_opts(const struct http_request_opts *o)
{
        if (!o->url || o->timeout_ms == 0 || strlen(o->url) > HTTP_URL_MAX || has_crlf(o->url))
                return -EINVAL;
        if (strncasecmp(o->url, "http://", 7) != 0 && strncasecmp(o->url, "https://", 8) != 0)
                return -EINVAL;
        if (o->n_headers > HTTP_HEADERS_MAX || (o->n_headers > 0 && !o->headers))
                return -EINVAL;
        for (size_t i = 0; i < o->n_headers; i++)
                if (!o->headers[i] || strlen(o->headers[i]) > HTTP_HEADER_MAX ||
                    has_crlf(o->headers[i]) || !strchr(o->headers[i], ':'))
                        return -EINVAL;
        if (o->accept && (strlen(o->accept) > HTTP_HEADER_MAX || has_crlf(o->accept)))
                return -EINVAL;
        if (o->bearer_token &&
            (strlen(o->bearer_token) > HTTP_HEADER_MAX || has_crlf(o->bearer_token)))
                return -EINVAL;
        if (o->method && (strlen(o->method) > 32 || strpbrk(o->method, " \t\r\n")))
                return -EINVAL;
        if (o->body_len > HTTP_BODY_MAX || (o->body_len > 0 && !o->body))
                return -EINVAL;
        return 0;
}

static int append_header(struct curl_slist **list, const char *line)
{
        struct curl_slist *n = curl_slist_append(*list, line);

        if (!n)
                return -ENOMEM;
        *list = n;
        return 0;
}

/* The caller's headers plus Accept; "Expect:" stops libcurl's 100-continue round trip. */
int http_build_headers(const struct http_request_opts *o, struct curl_slist **list)
{
        int r;

        for (size_t i = 0; i < o->n_headers; i++) {
                r = append_header(list, o->headers[i]);
                if (r < 0)
                        return r;
        }
        if (o->accept) {
                _cleanup_free_ char *line = NULL;

                if (asprintf(&line, "Accept: %s", o->accept) < 0)
                        return -ENOMEM;
                r = append_header(list, line);
                if (r < 0)
                        return r;
        }
        return append_header(list, "Expect:");
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
        struct http_req *r = userdata;
        size_t n = size * nmemb;

        if (n > r->max - r->len) {
                r->too_large = true;
                return 0; /* makes libcurl fail the transfer with CURLE_WRITE_ERROR */
        }
        if (r->len + n + 1 > r->cap) {
                size_t cap = r->cap ? r->cap : BODY_INITIAL_CAP;
                char *p;

                while (cap < r->len + n + 1)
                        cap *= 2;
                if (cap > r->max + 1)
                        cap = r->max + 1;
                p = realloc(r->buf, cap);
                if (!p)
                        return 0;
                r->buf = p;
                r->cap = cap;
        }
        memcpy(r->buf + r->len, data, n);
        r->len += n;
        r->buf[r->len] = 0;
        return n;
}

static int setup_method(CURL *e, const struct http_request_opts *o)
{
        const char *m = o->method;
        CURLcode c = CURLE_OK;

        if (o->body || (m && strcmp(m, "POST") == 0)) {
                c |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
                c |= curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, o->body ? o->body : "");
                if (m && strcmp(m, "POST") != 0)
                        c |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
        } else if (m && strcmp(m, "HEAD") == 0) {
                c |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        } else if (m && strcmp(m, "GET") != 0) {
                c |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
        }
        return c == CURLE_OK ? 0 : -ENOMEM;
}

int http_setup_easy(struct http_req *r, const struct http_request_opts *o)
{
        CURL *e = r->easy;
        uint64_t connect_ms =
                o->connect_timeout_ms ? o->connect_timeout_ms : HTTP_CONNECT_TIMEOUT_DEFAULT_MS;
        CURLcode c = CURLE_OK;

        /* The bitwise OR of CURLcodes is only ever tested against CURLE_OK. */
        c |= curl_easy_setopt(e, CURLOPT_URL, o->url);
        c |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        c |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        c |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
        c |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
        c |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
        c |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max);
        c |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
        c |= curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
        c |= curl_easy_setopt(e, CURLOPT_PRIVATE, r);
        c |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
        c |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
        c |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
        c |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
        if (o->ca_file)
                c |= curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
        if (o->bearer_token) {
                c |= curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
                c |= curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, o->bearer_token);
        }
        if (o->max_redirects > 0) {
                c |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
                c |= curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)o->max_redirects);
                c |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        }
        if (c != CURLE_OK)
                return -EINVAL;
        return setup_method(e, o);
}
