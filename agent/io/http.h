/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A non-blocking HTTP request engine: every transfer runs on ONE curl multi handle that
 * the agent's single-threaded loop drives through http_poll(). No threads, no signals,
 * no logging. This is the only module that includes <curl/curl.h>.
 *
 * Used for /metrics scrapes (scrape.c) and for webhook actions. A request is submitted
 * with http_submit() and identified by a non-zero id; exactly one of these happens to it:
 * its callback runs once from http_poll() (success or failure), or it is cancelled with
 * http_cancel() / http_free() (no callback). Nothing is sent before the next http_poll().
 *
 * Deliberate defaults: only http and https, no redirects, TLS always verified, an explicit
 * connect timeout (libcurl's own default is 300 s), gzip/deflate accepted, a response cap
 * beyond which the transfer fails (a capped body is never handed out as if complete), and
 * the HTTP status exposed, never judged: a 503 completes with error 0 and status 503.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_CONNECT_TIMEOUT_DEFAULT_MS 2000
#define HTTP_RESPONSE_MAX_DEFAULT       (8u * 1024 * 1024) /* bytes, after decompression */
#define HTTP_URL_MAX                    4096
#define HTTP_HEADERS_MAX                64             /* caller headers per request */
#define HTTP_HEADER_MAX                 8192           /* bytes per "Name: value" */
#define HTTP_BODY_MAX                   (1024u * 1024) /* request body */
#define HTTP_REQUESTS_MAX               1024           /* in flight per engine */
#define HTTP_WAITFDS_MAX                256            /* extra fds per http_poll() */
#define HTTP_REASON_MAX                 256
#define HTTP_CONTENT_TYPE_MAX           128

struct http; /* the engine: one curl multi handle */

struct http_request_opts {
        const char *method; /* NULL = "GET" ("POST" when body is set); any token, e.g. "PUT" */
        const char *url;    /* http:// or https:// only; required */
        /* Extra request headers, each "Name: value" without CR/LF; copied. */
        const char *const *headers;
        size_t n_headers;
        const char *accept;       /* Accept header value; NULL = none sent */
        const char *body;         /* request body, copied; NULL = none */
        size_t body_len;          /* bytes of body (at most HTTP_BODY_MAX) */
        const char *bearer_token; /* "Authorization: Bearer ..." when set; copied, never exposed */
        const char *ca_file;      /* PEM bundle to verify the server with; NULL = system store */
        uint64_t connect_timeout_ms; /* 0 = HTTP_CONNECT_TIMEOUT_DEFAULT_MS */
        uint64_t timeout_ms;         /* whole transfer, connect included; required, > 0 */
        size_t max_response_bytes;   /* 0 = HTTP_RESPONSE_MAX_DEFAULT */
        unsigned max_redirects;      /* 0 = a 3xx is returned as is (the default) */
};

/*
 * What a finished request produced. error is 0 when an HTTP response was received in
 * full (whatever its status), otherwise a negative errno class with reason filled:
 *   -ETIMEDOUT connect or total timeout, -ECONNREFUSED, -EHOSTUNREACH (name did not
 *   resolve), -ECONNRESET (peer closed or sent nothing), -EPROTO (TLS), -EFBIG (response
 *   exceeds the cap; reason "response exceeds N bytes"), -EBADMSG (bad HTTP or encoding),
 *   -EINVAL (URL rejected), -ENOMEM, -EIO (anything else).
 */
struct http_response {
        int error;
        char reason[HTTP_REASON_MAX];             /* empty when error == 0 */
        long status;                              /* HTTP status; 0 when none was received */
        char content_type[HTTP_CONTENT_TYPE_MAX]; /* empty when absent or overlong */
        bool has_retry_after;   /* false when absent, invalid, or 0 (libcurl cannot tell apart) */
        uint64_t retry_after_s; /* Retry-After, delta-seconds or HTTP-date, as seconds from now */
        /* Response body, NUL-terminated (body[body_len] == 0), never NULL when error == 0. The
         * callback may take ownership by setting body to NULL; otherwise it is freed after. */
        char *body;
        size_t body_len;
        uint64_t duration_ms; /* from the start of the transfer to its end */
};

/*
 * Called once per finished request from inside http_poll(). resp is valid only during the
 * call. The callback may submit and cancel requests (including other finished ones) on the
 * same engine, but must not free the engine.
 */
typedef void (*http_done_fn)(uint64_t id, struct http_response *resp, void *userdata);

/* An extra fd for http_poll() to wait on; events/revents are POLLIN/POLLPRI/POLLOUT bits. */
struct http_waitfd {
        int fd;
        short events;
        short revents; /* set by http_poll() */
};

/* Creates an engine (initialising libcurl once per process). Returns 0 or -ENOMEM. */
int http_new(struct http **ret);

/* Cancels every pending request (no callbacks) and frees the engine. NULL is fine. Returns NULL. */
struct http *http_free(struct http *h);

/*
 * Queues a request; it starts at the next http_poll(). Everything in opts is copied.
 * Returns 0 and sets *ret_id (non-zero, never reused by this engine), -EINVAL for bad
 * options (missing url or timeout, a header with CR/LF, too many or too long values, an
 * unsupported scheme), -EBUSY when HTTP_REQUESTS_MAX are in flight, -ENOMEM.
 */
int http_submit(struct http *h, const struct http_request_opts *opts, http_done_fn done,
                void *userdata, uint64_t *ret_id);

/*
 * Aborts a pending request without calling its callback and closes its connection.
 * Returns 0, or -ENOENT when id is not pending (it already finished or was cancelled).
 */
int http_cancel(struct http *h, uint64_t id);

/* Number of requests submitted and not yet finished or cancelled. */
size_t http_pending(const struct http *h);

/*
 * The loop's wait: blocks until one of extra[] is ready, a transfer needs attention, or
 * timeout_ms passes (0 = do not block; negative is not allowed), then advances every
 * transfer and runs the callbacks of those that finished. Sets extra[i].revents. A signal
 * ends the wait early like a timeout (libcurl swallows EINTR). Returns the number of
 * callbacks run, -EINVAL (n_extra > HTTP_WAITFDS_MAX or timeout_ms < 0), -ENOMEM or -EIO.
 */
int http_poll(struct http *h, struct http_waitfd *extra, size_t n_extra, int timeout_ms);

/*
 * Copies at most size-1 bytes of a response body into buf for a log line or an error
 * message: trailing whitespace is dropped, control characters and non-ASCII bytes become
 * '?', and "..." marks a cut.
 * Always NUL-terminates (size > 0). Returns buf.
 */
char *http_body_excerpt(const char *body, size_t len, char *buf, size_t size);
