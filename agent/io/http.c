/* SPDX-License-Identifier: MIT */
#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http-internal.h"
#include "http.h"
#include "util.h"

int http_new(struct http **ret)
{
        struct http *h = calloc(1, sizeof(*h));

        if (!h)
                return -ENOMEM;
        *ret = h;
        return 0;
}

/*
 * libcurl and its TLS library start with the first request, not with the engine: an agent
 * that never scrapes or acts never initialises OpenSSL (~3.5 MiB of RSS). The agent has one
 * thread, so curl_global_init() needs no lock here.
 */
static int engine_start(struct http *h)
{
        if (h->multi)
                return 0;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -ENOMEM;
        h->multi = curl_multi_init();
        if (!h->multi) {
                curl_global_cleanup();
                return -ENOMEM;
        }
        return 0;
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
        if (h->multi) {
                curl_multi_cleanup(h->multi);
                curl_global_cleanup();
        }
        free(h);
        return NULL;
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

        ret = http_validate_opts(opts);
        if (ret < 0)
                return ret;
        if (h->n_reqs >= HTTP_REQUESTS_MAX)
                return -EBUSY;
        ret = engine_start(h);
        if (ret < 0)
                return ret;
        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        req_link(h, r);
        r->id = ++h->last_id;
        r->done = done;
        r->userdata = userdata;
        r->max = opts->max_response_bytes ? opts->max_response_bytes : HTTP_RESPONSE_MAX_DEFAULT;
        r->easy = curl_easy_init();
        ret = r->easy ? http_build_headers(opts, &r->headers) : -ENOMEM;
        if (ret >= 0)
                ret = http_setup_easy(r, opts);
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

/* http_poll() before the first request: no transfer can be running, so poll(2) the fds.
 * revents carry what curl_multi_poll() would report: POLLIN, POLLPRI and POLLOUT. */
static int plain_poll(struct http_waitfd *extra, size_t n_extra, int timeout_ms)
{
        struct pollfd pfds[HTTP_WAITFDS_MAX];
        int n;

        for (size_t i = 0; i < n_extra; i++)
                pfds[i] = (struct pollfd){ .fd = extra[i].fd, .events = extra[i].events };
        n = poll(pfds, n_extra, timeout_ms);
        if (n < 0 && errno != EINTR)
                return -errno;
        for (size_t i = 0; i < n_extra; i++)
                extra[i].revents =
                        (short)(n > 0 ? pfds[i].revents & (POLLIN | POLLPRI | POLLOUT) : 0);
        return 0;
}

int http_poll(struct http *h, struct http_waitfd *extra, size_t n_extra, int timeout_ms)
{
        struct curl_waitfd cfds[HTTP_WAITFDS_MAX];
        CURLMcode mc;
        int running;

        if (n_extra > HTTP_WAITFDS_MAX || timeout_ms < 0 || (n_extra > 0 && !extra))
                return -EINVAL;
        if (!h->multi)
                return plain_poll(extra, n_extra, timeout_ms);
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
