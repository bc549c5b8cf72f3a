/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "clock.h"
#include "util.h"

struct client {
        int fd; /* -1: free slot */
        struct control_peer peer;
        bool trusted; /* uid 0 or the agent's own uid: may use the reserved slot */
        char in[CONTROL_REQUEST_MAX + 1];
        size_t in_len;
        char *out; /* pending response, or NULL */
        size_t out_len, out_off;
        int64_t since_ms;    /* when the current phase (idle, request, reply) began */
        int64_t deadline_ms; /* when the current phase must be over */
};

struct control {
        int listen_fd;
        char *path;
        gid_t group; /* the socket's group: members may reset and promote */
        uid_t own_uid;
        int64_t accept_paused_until_ms;
        int64_t now_ms; /* as of the last control_dispatch() */
        control_handler handler;
        void *userdata;
        struct client clients[CONTROL_CLIENTS_MAX];
};

int control_sockaddr(const char *path, struct sockaddr_un *sa)
{
        memset(sa, 0, sizeof(*sa));
        sa->sun_family = AF_UNIX;
        if (strlen(path) >= sizeof(sa->sun_path))
                return -ENAMETOOLONG;
        strcpy(sa->sun_path, path);
        return 0;
}

/*
 * Removes a stale socket at path. A socket someone still listens on is -EADDRINUSE (another
 * agent runs), and anything that is not a socket is left alone (-EEXIST).
 */
static int remove_stale(const char *path, const struct sockaddr_un *sa)
{
        _cleanup_close_ int fd = -1;
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISSOCK(st.st_mode))
                return -EEXIST;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
                return -EADDRINUSE;
        return unlink(path) < 0 ? -errno : 0;
}

int control_open(const char *path, control_handler handler, void *userdata, struct control **ret)
{
        _cleanup_close_ int fd = -1;
        struct sockaddr_un sa;
        struct control *c;
        struct stat st;
        int r;

        r = control_sockaddr(path, &sa);
        if (r < 0)
                return r;
        r = remove_stale(path, &sa);
        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0660) < 0 ||
            listen(fd, 64) < 0 || stat(path, &st) < 0)
                return -errno;
        c = calloc(1, sizeof(*c));
        if (!c || !(c->path = strdup(path))) {
                free(c);
                return -ENOMEM;
        }
        for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++)
                c->clients[i].fd = -1;
        c->group = st.st_gid;
        c->own_uid = geteuid();
        c->handler = handler;
        c->userdata = userdata;
        c->listen_fd = TAKE_FD(fd);
        *ret = c;
        return 0;
}

static void client_drop(struct client *cl)
{
        if (cl->fd >= 0)
                close(cl->fd);
        free(cl->out);
        memset(cl, 0, sizeof(*cl));
        cl->fd = -1;
}

#define CONTROL_PEER_GROUPS_MAX 65536 /* NGROUPS_MAX */

/* Whether the peer has group among its supplementary groups (SO_PEERGROUPS, any number). */
static bool peer_in_group(int fd, gid_t group)
{
        gid_t small[64], *groups = small;
        socklen_t len = sizeof(small);
        bool found = false;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
                /* ERANGE: len now says how much the list needs. */
                if (errno != ERANGE || len > CONTROL_PEER_GROUPS_MAX * sizeof(gid_t) ||
                    !(groups = malloc(len)))
                        return false;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
                        len = 0;
        }
        for (size_t i = 0; i < len / sizeof(gid_t) && !found; i++)
                found = groups[i] == group;
        if (groups != small)
                free(groups);
        return found;
}

/* Reads SO_PEERCRED and decides whether the peer may change state. */
static void peer_identify(struct control *c, int fd, struct control_peer *p)
{
        struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
        socklen_t len = sizeof(cred);

        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
        p->pid = cred.pid;
        p->uid = cred.uid;
        p->gid = cred.gid;
        p->privileged = cred.uid == 0 || cred.gid == c->group || peer_in_group(fd, c->group);
}

/* Starts a phase that must end within ms: idle until a request, or one request and its reply. */
static void client_phase(struct client *cl, int64_t now_ms, int64_t ms)
{
        cl->since_ms = now_ms;
        cl->deadline_ms = now_ms + ms;
}

/*
 * The slot a newcomer may take: a free one (untrusted peers leave the last one free), else
 * the one of the client idle longest, else of the one whose request started first. A client
 * waiting for its reply is never evicted, nor a trusted one for an untrusted newcomer.
 */
static struct client *pick_slot(struct control *c, bool trusted)
{
        struct client *free_slot = NULL, *victim = NULL;
        size_t untrusted = 0;

        for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++) {
                struct client *cl = &c->clients[i];

                if (cl->fd < 0) {
                        free_slot = free_slot ? free_slot : cl;
                        continue;
                }
                untrusted += !cl->trusted;
                if (cl->out || (cl->trusted && !trusted))
                        continue;
                if (!victim || (cl->in_len == 0) > (victim->in_len == 0) ||
                    ((cl->in_len == 0) == (victim->in_len == 0) && cl->since_ms < victim->since_ms))
                        victim = cl;
        }
        if (free_slot && (trusted || untrusted < CONTROL_CLIENTS_MAX - CONTROL_CLIENTS_RESERVED))
                return free_slot;
        if (victim)
                client_drop(victim);
        return victim;
}

static void accept_clients(struct control *c, int64_t now_ms)
{
        /* Bounded, so that a flood of connects cannot hold the loop here. */
        for (size_t n = 0; n < 2 * CONTROL_CLIENTS_MAX; n++) {
                struct control_peer peer;
                struct client *cl;
                int fd;

                fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                /* Out of fds, the listener stays readable: rest it a while instead of spinning. */
                if (fd < 0 && (errno == EMFILE || errno == ENFILE))
                        c->accept_paused_until_ms = now_ms + CONTROL_ACCEPT_PAUSE_MS;
                if (fd < 0)
                        return;
                peer_identify(c, fd, &peer);
                cl = pick_slot(c, peer.uid == 0 || peer.uid == c->own_uid);
                if (!cl) {
                        close(fd); /* every slot is busy answering: the client retries */
                        continue;
                }
                cl->fd = fd;
                cl->peer = peer;
                cl->trusted = peer.uid == 0 || peer.uid == c->own_uid;
                client_phase(cl, now_ms, CONTROL_IDLE_MS);
        }
}

/* Queues line (malloc'd, taken over; NULL when out of memory) and its newline as the reply. */
static void respond(struct client *cl, char *line)
{
        size_t n;

        if (!line) {
                line = strdup(CONTROL_ERROR_NO_MEMORY);
                if (!line)
                        return;
        }
        n = strlen(line);
        cl->out = realloc(line, n + 2);
        if (!cl->out) {
                free(line);
                return;
        }
        cl->out[n] = '\n';
        cl->out_len = n + 1;
        cl->out_off = 0;
}

/* Answers the first complete request line in the buffer, unless a reply is still pending. */
static void client_process(struct control *c, struct client *cl)
{
        char *nl;

        if (cl->out)
                return;
        if (cl->in_len == 0)
                return;
        nl = memchr(cl->in, '\n', cl->in_len);
        if (nl) {
                size_t line = (size_t)(nl - cl->in);

                respond(cl, c->handler(c->userdata, &cl->peer, cl->in, line));
                /* One request at a time: anything after the newline waits for the reply. */
                memmove(cl->in, nl + 1, cl->in_len - line - 1);
                cl->in_len -= line + 1;
        } else if (cl->in_len >= CONTROL_REQUEST_MAX) {
                respond(cl, strdup(CONTROL_ERROR_TOO_LONG));
                cl->in_len = 0;
        }
}

static void client_read(struct control *c, struct client *cl)
{
        bool was_idle = cl->in_len == 0;
        ssize_t n;

        n = read(cl->fd, cl->in + cl->in_len, CONTROL_REQUEST_MAX - cl->in_len);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
                client_drop(cl);
                return;
        }
        if (n < 0)
                return;
        cl->in_len += (size_t)n;
        /* The whole request, and then its reply, gets one deadline: trickling buys nothing. */
        if (was_idle && n > 0)
                client_phase(cl, c->now_ms, CONTROL_REQUEST_MS);
        client_process(c, cl);
}

static void client_write(struct control *c, struct client *cl)
{
        ssize_t n = write(cl->fd, cl->out + cl->out_off, cl->out_len - cl->out_off);

        if (n < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        client_drop(cl);
                return;
        }
        cl->out_off += (size_t)n;
        if (cl->out_off == cl->out_len) {
                free(cl->out);
                cl->out = NULL;
                cl->out_len = cl->out_off = 0;
                client_phase(cl, c->now_ms, cl->in_len ? CONTROL_REQUEST_MS : CONTROL_IDLE_MS);
                /* A client may have sent its next request along with the first. */
                client_process(c, cl);
        }
}

size_t control_pollfds(struct control *c, struct pollfd *fds, size_t max)
{
        size_t n = 0;

        /* Always polled: with every slot taken a newcomer evicts an idle client (or is refused). */
        if (max > 0 && c->now_ms >= c->accept_paused_until_ms)
                fds[n++] = (struct pollfd){ .fd = c->listen_fd, .events = POLLIN };
        for (size_t i = 0; i < CONTROL_CLIENTS_MAX && n < max; i++) {
                struct client *cl = &c->clients[i];

                if (cl->fd >= 0)
                        fds[n++] = (struct pollfd){ .fd = cl->fd,
                                                    .events = cl->out ? POLLOUT : POLLIN };
        }
        return n;
}

static struct client *find_client(struct control *c, int fd)
{
        for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++)
                if (c->clients[i].fd == fd)
                        return &c->clients[i];
        return NULL;
}

void control_dispatch(struct control *c, const struct pollfd *fds, size_t n, int64_t now_ms)
{
        c->now_ms = now_ms;
        for (size_t i = 0; i < n; i++) {
                struct client *cl;

                if (!fds[i].revents)
                        continue;
                if (fds[i].fd == c->listen_fd) {
                        accept_clients(c, now_ms);
                        continue;
                }
                cl = find_client(c, fds[i].fd);
                if (!cl)
                        continue;
                if (fds[i].revents & POLLOUT)
                        client_write(c, cl);
                else if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
                        client_read(c, cl);
        }
        for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++)
                if (c->clients[i].fd >= 0 && now_ms > c->clients[i].deadline_ms)
                        client_drop(&c->clients[i]);
}

struct control *control_close(struct control *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < CONTROL_CLIENTS_MAX; i++)
                client_drop(&c->clients[i]);
        if (c->listen_fd >= 0)
                close(c->listen_fd);
        unlink(c->path);
        free(c->path);
        free(c);
        return NULL;
}
