/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "server.h"
#include "clock.h"
#include "util.h"

struct server {
        struct MHD_Daemon *daemon;
        uint16_t port;
        unsigned connections; /* open ones */
        int epoll_fd;         /* libmicrohttpd's, to poll */
        server_render_fn render;
        void *userdata;
        uint64_t tick_end_us;
        uint64_t interval_us;
};

/* Splits "HOST:PORT" / "[V6]:PORT" into a socket address. Returns 0 or -EINVAL. */
static int server_parse_listen(const char *listen, void *ret_sockaddr_storage, unsigned *ret_len)
{
        struct sockaddr_storage ss = { 0 };
        char host[64];
        const char *colon, *h = listen;
        size_t hlen;
        char *end;
        unsigned long port;

        colon = strrchr(listen, ':');
        if (!colon || colon == listen)
                return -EINVAL;
        hlen = (size_t)(colon - listen);
        if (listen[0] == '[') {
                if (hlen < 3 || listen[hlen - 1] != ']')
                        return -EINVAL;
                h = listen + 1;
                hlen -= 2;
        }
        if (hlen >= sizeof(host))
                return -EINVAL;
        memcpy(host, h, hlen);
        host[hlen] = '\0';
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        if (errno || *end || end == colon + 1 || port > 65535)
                return -EINVAL;
        if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
                ((struct sockaddr_in *)&ss)->sin_family = AF_INET;
                ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
                *ret_len = sizeof(struct sockaddr_in);
        } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
                ((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
                ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
                *ret_len = sizeof(struct sockaddr_in6);
        } else {
                return -EINVAL;
        }
        memcpy(ret_sockaddr_storage, &ss, sizeof(ss));
        return 0;
}

/* Queues body; mode says whether it is static text or malloc'd (freed by libmicrohttpd). */
static enum MHD_Result reply_mem(struct MHD_Connection *c, unsigned status, const char *type,
                                 char *body, enum MHD_ResponseMemoryMode mode)
{
        struct MHD_Response *resp;
        enum MHD_Result r;

        resp = MHD_create_response_from_buffer(strlen(body), body, mode);
        if (!resp) {
                if (mode == MHD_RESPMEM_MUST_FREE)
                        free(body);
                return MHD_NO;
        }
        MHD_add_response_header(resp, "Content-Type", type);
        MHD_add_response_header(resp, "Cache-Control", "no-store");
        r = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return r;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             const char *body)
{
        return reply_mem(c, status, type, (char *)body, MHD_RESPMEM_PERSISTENT);
}

/* Renders page now and queues it. */
static enum MHD_Result reply_page(struct server *s, struct MHD_Connection *c, enum server_page page,
                                  const char *type)
{
        char *body = NULL;

        if (s->render(s->userdata, page, &body) < 0)
                return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
                             "cannot render the page (out of memory?)\n");
        return reply_mem(c, MHD_HTTP_OK, type, body, MHD_RESPMEM_MUST_FREE);
}

/* Answers one request, rendering the page now; called from server_dispatch(). */
static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls)
{
        struct server *s = cls;
        enum MHD_Result r;
        bool healthy;

        (void)version, (void)upload_data, (void)req_cls;
        if (*upload_data_size != 0)
                return MHD_NO;
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
                return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "only GET\n");
        if (strcmp(url, "/metrics") == 0) {
                r = reply_page(s, c, SERVER_PAGE_METRICS,
                               "text/plain; version=0.0.4; charset=utf-8");
        } else if (strcmp(url, "/status") == 0) {
                r = reply_page(s, c, SERVER_PAGE_STATUS, "application/json");
        } else if (strcmp(url, "/healthz") == 0) {
                healthy = s->tick_end_us != 0 &&
                          (mono_ns() / 1000u) - s->tick_end_us <= 3 * s->interval_us;
                r = reply(c, healthy ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain",
                          healthy ? "ok\n" : "stale: no tick finished within 3 intervals\n");
        } else {
                r = reply(c, MHD_HTTP_NOT_FOUND, "text/plain",
                          "not found: try /metrics, /status or /healthz\n");
        }
        return r;
}

static bool is_loopback(const struct sockaddr *sa)
{
        if (sa->sa_family == AF_INET)
                return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
        if (sa->sa_family == AF_INET6) {
                const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

                return IN6_IS_ADDR_LOOPBACK(a) ||
                       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
        }
        return false;
}

/* The last SERVER_LOOPBACK_RESERVE connections are kept for loopback peers (the node's own
 * Prometheus, the kubelet's probes, an operator's curl). */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
        const struct server *s = cls;

        (void)addrlen;
        if (s->connections < SERVER_CONNECTIONS_MAX - SERVER_LOOPBACK_RESERVE)
                return MHD_YES;
        return is_loopback(addr) ? MHD_YES : MHD_NO;
}

static void count_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                             enum MHD_ConnectionNotificationCode code)
{
        struct server *s = cls;

        (void)c, (void)socket_context;
        if (code == MHD_CONNECTION_NOTIFY_STARTED)
                s->connections++;
        else if (code == MHD_CONNECTION_NOTIFY_CLOSED && s->connections > 0)
                s->connections--;
}

static struct MHD_Daemon *start_daemon(struct server *s, const struct sockaddr_storage *ss)
{
        unsigned flags = MHD_USE_EPOLL | (ss->ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);

        return MHD_start_daemon(flags, 0, accept_policy, s, handle, s, MHD_OPTION_SOCK_ADDR, ss,
                                MHD_OPTION_CONNECTION_LIMIT, (unsigned)SERVER_CONNECTIONS_MAX,
                                MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)SERVER_PER_IP_MAX,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SERVER_IDLE_S,
                                MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                (size_t)SERVER_CONNECTION_MEMORY, MHD_OPTION_LISTEN_BACKLOG_SIZE,
                                (unsigned)SERVER_CONNECTIONS_MAX, MHD_OPTION_NOTIFY_CONNECTION,
                                count_connection, s, MHD_OPTION_END);
}

int server_start(const char *listen, server_render_fn render, void *userdata, struct server **ret)
{
        struct sockaddr_storage ss;
        const union MHD_DaemonInfo *info;
        unsigned len;
        struct server *s;
        int r;

        r = server_parse_listen(listen, &ss, &len);
        if (r < 0)
                return r;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->render = render;
        s->userdata = userdata;
        errno = 0;
        s->daemon = start_daemon(s, &ss);
        if (!s->daemon) {
                r = errno ? -errno : -EADDRINUSE;
                server_stop(s);
                return r;
        }
        info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
        s->port = info ? info->port : 0;
        info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD);
        s->epoll_fd = info ? info->epoll_fd : -1;
        if (s->epoll_fd < 0) {
                server_stop(s);
                return -EOPNOTSUPP;
        }
        *ret = s;
        return 0;
}

void server_note_tick(struct server *s, uint64_t tick_end_us, uint64_t interval_us)
{
        s->tick_end_us = tick_end_us;
        s->interval_us = interval_us;
}

struct pollfd server_pollfd(const struct server *s)
{
        return (struct pollfd){ .fd = s->epoll_fd, .events = POLLIN };
}

int server_timeout_ms(const struct server *s, int max)
{
        MHD_UNSIGNED_LONG_LONG t;

        if (MHD_get_timeout(s->daemon, &t) != MHD_YES || t >= (MHD_UNSIGNED_LONG_LONG)max)
                return max;
        return (int)t;
}

void server_dispatch(struct server *s)
{
        MHD_run(s->daemon);
}

uint16_t server_port(const struct server *s)
{
        return s->port;
}

struct server *server_stop(struct server *s)
{
        if (!s)
                return NULL;
        if (s->daemon)
                MHD_stop_daemon(s->daemon);
        free(s);
        return NULL;
}
