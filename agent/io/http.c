/* SPDX-License-Identifier: MIT */
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "util.h"

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

int http_new(struct http **ret)
{
        struct http *h;

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -ENOMEM;
        h = calloc(1, sizeof(*h));
        if (!h)
                goto out_global;
        h->multi = curl_multi_init();
        if (!h->multi)
                goto out_free;
        *ret = h;
        return 0;

out_free:
        free(h);
out_global:
        curl_global_cleanup();
        return -ENOMEM;
}

/* Detaches a request from its engine and releases everything it holds. */
static void req_free(struct http_req *r)
{
        struct http *h = r->http;

        if (r->easy) {
                curl_multi_remove_handle(h->multi, r->easy);
                curl_easy_cleanup(r->easy);
        }
        if (r->prev)
                r->prev->next = r->next;
        else if (h->reqs == r)
                h->reqs = r->next;
        if (r->next)
                r->next->prev = r->prev;
        h->n_reqs--;
        curl_slist_free_all(r->headers);
        free(r->buf);
        free(r);
}

struct http *http_free(struct http *h)
{
        if (!h)
                return NULL;
        while (h->reqs)
                req_free(h->reqs);
        curl_multi_cleanup(h->multi);
        free(h);
        curl_global_cleanup();
        return NULL;
}

static bool has_crlf(const char *s)
{
        return strpbrk(s, "\r\n") != NULL;
}

static int validate_opts(const struct http_request_opts *o)
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
static int build_headers(const struct http_request_opts *o, struct curl_slist **list)
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

static int setup_easy(struct http_req *r, const struct http_request_opts *o)
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

static void req_link(struct http *h, struct http_req *r)
{
        r->http = h;
        r->next = h->reqs;
        if (h->reqs)
                h->reqs->prev = r;
        h->reqs = r;
        h->n_reqs++;
}

int http_submit(struct http *h, const struct http_request_opts *opts, http_done_fn done,
                void *userdata, uint64_t *ret_id)
{
        struct http_req *r;
        int ret;

        ret = validate_opts(opts);
        if (ret < 0)
                return ret;
        if (h->n_reqs >= HTTP_REQUESTS_MAX)
                return -EBUSY;
        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        req_link(h, r);
        r->id = ++h->last_id;
        r->done = done;
        r->userdata = userdata;
        r->max = opts->max_response_bytes ? opts->max_response_bytes : HTTP_RESPONSE_MAX_DEFAULT;
        r->easy = curl_easy_init();
        ret = r->easy ? build_headers(opts, &r->headers) : -ENOMEM;
        if (ret >= 0)
                ret = setup_easy(r, opts);
        if (ret >= 0 && curl_multi_add_handle(h->multi, r->easy) != CURLM_OK)
                ret = -ENOMEM;
        if (ret < 0) {
                req_free(r);
                return ret;
        }
        *ret_id = r->id;
        return 0;
}

static struct http_req *find_req(struct http *h, uint64_t id)
{
        for (struct http_req *r = h->reqs; r; r = r->next)
                if (r->id == id)
                        return r;
        return NULL;
}

int http_cancel(struct http *h, uint64_t id)
{
        struct http_req *r = find_req(h, id);

        if (!r)
                return -ENOENT;
        req_free(r);
        return 0;
}

size_t http_pending(const struct http *h)
{
        return h->n_reqs;
}

static int curl_code_to_errno(CURLcode c)
{
        switch (c) {
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_COULDNT_CONNECT:
                return -ECONNREFUSED;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
                return -EHOSTUNREACH;
        case CURLE_GOT_NOTHING:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_PARTIAL_FILE:
                return -ECONNRESET;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
                return -EPROTO;
        case CURLE_FILESIZE_EXCEEDED:
                return -EFBIG;
        case CURLE_BAD_CONTENT_ENCODING:
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_HTTP2:
                return -EBADMSG;
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
                return -EINVAL;
        case CURLE_OUT_OF_MEMORY:
                return -ENOMEM;
        default:
                return -EIO;
        }
}

static void fill_error(struct http_req *r, CURLcode c, struct http_response *resp)
{
        resp->error = curl_code_to_errno(c);
        if (r->too_large || c == CURLE_FILESIZE_EXCEEDED) {
                resp->error = -EFBIG;
                snprintf(resp->reason, sizeof(resp->reason), "response exceeds %zu bytes", r->max);
        } else if (r->errbuf[0]) {
                snprintf(resp->reason, sizeof(resp->reason), "%s", r->errbuf);
        } else {
                snprintf(resp->reason, sizeof(resp->reason), "%s", curl_easy_strerror(c));
        }
}

static void fill_response(struct http_req *r, CURLcode c, struct http_response *resp)
{
        char *ct = NULL;
        curl_off_t retry_s = 0, total_us = 0;

        *resp = (struct http_response){ 0 };
        (void)curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &resp->status);
        if (curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct &&
            strlen(ct) < sizeof(resp->content_type))
                strcpy(resp->content_type, ct);
        /* libcurl reports 0 for "absent or invalid", so a literal "Retry-After: 0" reads as absent.
         */
        if (curl_easy_getinfo(r->easy, CURLINFO_RETRY_AFTER, &retry_s) == CURLE_OK && retry_s > 0) {
                resp->has_retry_after = true;
                resp->retry_after_s = (uint64_t)retry_s;
        }
        if (curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME_T, &total_us) == CURLE_OK)
                resp->duration_ms = (uint64_t)total_us / 1000;
        if (c != CURLE_OK) {
                fill_error(r, c, resp);
                return;
        }
        if (!r->buf) {
                r->buf = strdup("");
                if (!r->buf) {
                        resp->error = -ENOMEM;
                        snprintf(resp->reason, sizeof(resp->reason), "out of memory");
                        return;
                }
        }
        resp->body = TAKE_PTR(r->buf);
        resp->body_len = r->len;
}

/* Hands one finished transfer to its callback; the request is gone before the call. */
static void finish(CURL *easy, CURLcode c)
{
        struct http_req *r = NULL;
        struct http_response resp;
        http_done_fn done;
        void *userdata;
        uint64_t id;

        (void)curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r);
        if (!r)
                return;
        fill_response(r, c, &resp);
        done = r->done;
        userdata = r->userdata;
        id = r->id;
        req_free(r);
        if (done)
                done(id, &resp, userdata);
        free(resp.body);
}

static int drain(struct http *h)
{
        CURLMsg *msg;
        int left, n = 0;

        /* One message at a time: a callback may cancel a request whose message is queued,
         * and curl_multi_remove_handle() drops that message from the queue. */
        while ((msg = curl_multi_info_read(h->multi, &left))) {
                if (msg->msg != CURLMSG_DONE)
                        continue;
                finish(msg->easy_handle, msg->data.result);
                n++;
        }
        return n;
}

static short events_to_curl(short ev)
{
        return (short)(((ev & POLLIN) ? CURL_WAIT_POLLIN : 0) |
                       ((ev & POLLPRI) ? CURL_WAIT_POLLPRI : 0) |
                       ((ev & POLLOUT) ? CURL_WAIT_POLLOUT : 0));
}

static short events_from_curl(short ev)
{
        return (short)(((ev & CURL_WAIT_POLLIN) ? POLLIN : 0) |
                       ((ev & CURL_WAIT_POLLPRI) ? POLLPRI : 0) |
                       ((ev & CURL_WAIT_POLLOUT) ? POLLOUT : 0));
}

static int multi_error(CURLMcode mc)
{
        return mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
}

int http_poll(struct http *h, struct http_waitfd *extra, size_t n_extra, int timeout_ms)
{
        struct curl_waitfd cfds[HTTP_WAITFDS_MAX];
        CURLMcode mc;
        int running;

        if (n_extra > HTTP_WAITFDS_MAX || timeout_ms < 0 || (n_extra > 0 && !extra))
                return -EINVAL;
        for (size_t i = 0; i < n_extra; i++)
                cfds[i] = (struct curl_waitfd){ .fd = extra[i].fd,
                                                .events = events_to_curl(extra[i].events) };
        mc = curl_multi_poll(h->multi, n_extra ? cfds : NULL, (unsigned)n_extra, timeout_ms, NULL);
        if (mc != CURLM_OK)
                return multi_error(mc);
        for (size_t i = 0; i < n_extra; i++)
                extra[i].revents = events_from_curl(cfds[i].revents);
        mc = curl_multi_perform(h->multi, &running);
        if (mc != CURLM_OK)
                return multi_error(mc);
        return drain(h);
}

char *http_body_excerpt(const char *body, size_t len, char *buf, size_t size)
{
        size_t n = 0;

        if (size == 0)
                return buf;
        while (len > 0 && (body[len - 1] == ' ' || body[len - 1] == '\t' || body[len - 1] == '\r' ||
                           body[len - 1] == '\n'))
                len--;
        for (; n < len && n + 1 < size; n++) {
                unsigned char ch = (unsigned char)body[n];

                buf[n] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
        }
        if (n < len && size >= 4) {
                memcpy(buf + size - 4, "...", 3);
                n = size - 1;
        }
        buf[n] = 0;
        return buf;
}
