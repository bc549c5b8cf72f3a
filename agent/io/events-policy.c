/* SPDX-License-Identifier: MIT */
/*
 * The policy directory watch: inotify on one directory, reduced to "these names changed".
 * Hidden names are skipped (editor and atomic-write temp files, a ConfigMap's
 * "..2026_..." directories and its "..data_tmp" symlink), except "..data", whose swap is
 * how a ConfigMap update lands. A plain IN_CREATE is skipped (the writer has not finished;
 * IN_CLOSE_WRITE follows) unless it made a symlink, which is complete when it appears.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events-internal.h"
#include "util.h"

#define WATCH_MASK                                                                               \
        (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_DELETE_SELF | \
         IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK)
#define GONE_MASK (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)
#define READS_MAX 16 /* reads per dispatch; what is left makes the fd readable again */

int events_policy_dir_open(const char *dir, uint64_t cookie, char *reason,
                           struct events_source *ret)
{
        _cleanup_close_ int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        char *path;

        /* No fd on the directory itself: it would keep IN_DELETE_SELF from being sent. */
        if (fd < 0)
                return events_fail(reason, -errno, "inotify_init1: %s", strerror(errno));
        if (inotify_add_watch(fd, dir, WATCH_MASK) < 0)
                return events_fail(reason, -errno, "%s: %s", dir, strerror(errno));
        path = strdup(dir);
        if (!path)
                return events_fail(reason, -ENOMEM, "%s: out of memory", dir);
        *ret = (struct events_source){ .kind = EVENTS_POLICY_DIR,
                                       .fd = TAKE_FD(fd),
                                       .poll_events = POLLIN,
                                       .dir_path = path,
                                       .cookie = cookie };
        return 0;
}

static bool is_symlink(const char *dir, const char *name)
{
        char path[PATH_MAX];
        struct stat st;
        int n = snprintf(path, sizeof(path), "%s/%s", dir, name);

        if (n < 0 || (size_t)n >= sizeof(path))
                return false;
        return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

/* Whether one event names a policy change; sets data_swap for the ConfigMap swap. */
static bool relevant(const struct events_source *s, const struct inotify_event *e, bool *data_swap)
{
        if (e->len == 0 || (e->mask & IN_ISDIR))
                return false;
        if (strcmp(e->name, "..data") == 0) {
                *data_swap = true;
                return true;
        }
        if (e->name[0] == '.')
                return false;
        if ((e->mask & IN_CREATE) && !is_symlink(s->dir_path, e->name))
                return false;
        return true;
}

/* Folds one buffer of events into *f. */
static void fold(const struct events_source *s, const char *buf, size_t len, struct events_fired *f)
{
        const struct inotify_event *e;

        for (size_t off = 0; off + sizeof(*e) <= len; off += sizeof(*e) + e->len) {
                e = (const struct inotify_event *)(buf + off);
                if (e->mask & IN_Q_OVERFLOW)
                        f->rescan = true;
                if (e->mask & GONE_MASK)
                        f->gone = true;
                if (!relevant(s, e, &f->data_swap))
                        continue;
                f->count++;
                snprintf(f->name, sizeof(f->name), "%s", e->name);
        }
}

int events_policy_dir_dispatch(struct events_source *s, short revents, struct events_fired *ret)
{
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        struct events_fired f = { .kind = s->kind, .cookie = s->cookie };
        ssize_t n;

        if (!(revents & (POLLIN | POLLERR | POLLHUP)))
                return 0;
        for (int i = 0; i < READS_MAX; i++) {
                n = read(s->fd, buf, sizeof(buf));
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        break;
                if (n < 0)
                        return -errno;
                fold(s, buf, (size_t)n, &f);
        }
        if (f.count == 0 && !f.rescan && !f.gone)
                return 0;
        *ret = f;
        return 1;
}
