/* SPDX-License-Identifier: MIT */
/* Opening, reading and parsing one matched cgroup's memory files, the per-tick hot path. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "util.h"

/* The memory files of each version (cgroup-internal.h). */
const char *const cgroup_file_names[_CGROUP_VERSION_MAX][_CG_FILE_MAX] = {
        [CGROUP_V1] = { "memory.usage_in_bytes", "memory.limit_in_bytes", "memory.stat",
                        "memory.oom_control", "memory.failcnt", "memory.pressure" },
        [CGROUP_V2] = { "memory.current", "memory.max", "memory.stat", "memory.events", NULL,
                        "memory.pressure" },
};

/*
 * Opens one of a member's files by path; -ENOENT when it does not exist, ENOTREG when it is
 * not a regular file. A FIFO or a device (a hostile or broken tree) would block open() or
 * read() forever, so the type is checked before opening (a device's open may have effects),
 * the open never waits, and fstat confirms what was opened.
 */
int cgroup_open_file(const struct cgroup_target *t, const char *path, enum cg_file f)
{
        const char *name = cgroup_file_names[t->h->version][f];
        int at = f == CG_PRESSURE ? t->h->psi_fd : t->h->root_fd;
        char p[CGROUP_PATH_MAX + 64];
        struct stat st;
        int fd;

        if (!name || at < 0)
                return -ENOENT;
        snprintf(p, sizeof(p), "%s/%s", path, name);
        if (fstatat(at, p, &st, 0) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -ENOTREG;
        fd = openat(at, p, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return -ENOTREG;
        }
        return fd;
}

/*
 * preads a member's file at offset 0; on ENODEV/ENOENT (the cgroup was removed, maybe
 * recreated) reopens it once by path. Returns the length, -ENOENT when the file is gone for
 * good, -EFBIG, or -errno. One pread suffices: cgroupfs renders the whole file per read.
 */
static ssize_t read_file(struct cgroup_target *t, struct member *m, enum cg_file f, char *buf)
{
        ssize_t n = pread(m->fd[f], buf, CGROUP_FILE_MAX, 0);
        int fd;

        if (n < 0 && (errno == ENODEV || errno == ENOENT)) {
                fd = cgroup_open_file(t, m->path, f);
                if (fd < 0)
                        return fd;
                close(m->fd[f]);
                m->fd[f] = fd;
                m->limit_left = 0; /* maybe a new cgroup: its limit is not the one kept */
                n = pread(fd, buf, CGROUP_FILE_MAX, 0);
                if (n < 0 && errno == ENODEV)
                        return -ENOENT;
        }
        if (n < 0)
                return -errno;
        return n >= CGROUP_FILE_MAX ? -EFBIG : n;
}

static int parse_file(enum cgroup_version v, enum cg_file f, const char *buf, size_t n,
                      struct mem_sample *s)
{
        int r;

        switch (f) {
        case CG_USAGE:
                r = cgroup_parse_u64(buf, n, &s->current_bytes);
                s->has_current = r == 0;
                return r;
        case CG_LIMIT:
                r = cgroup_parse_limit(buf, n, &s->max_unlimited, &s->max_bytes);
                s->has_max = r == 0;
                return r;
        case CG_STAT:
                return cgroup_parse_stat(buf, n, v, s);
        case CG_OOM:
                r = cgroup_parse_oom_kill(buf, n, &s->oom_kill);
                s->has_oom_kill = r == 0;
                return r;
        case CG_FAILCNT:
                r = cgroup_parse_u64(buf, n, &s->failcnt);
                s->has_failcnt = r == 0;
                return r;
        case CG_PRESSURE:
                return cgroup_parse_psi(buf, n, s);
        default:
                return -EINVAL;
        }
}

/* Appends to reason, "; "-separated after earlier text; never allocates. */
void cgroup_add_reason(char *reason, const char *fmt, ...)
{
        size_t len = strlen(reason);
        va_list ap;

        if (len + 3 >= CGROUP_ERROR_MAX)
                return;
        if (len > 0) {
                strcpy(reason + len, "; ");
                len += 2;
        }
        va_start(ap, fmt);
        vsnprintf(reason + len, CGROUP_ERROR_MAX - len, fmt, ap);
        va_end(ap);
}

/* Appends "FILE: why" to reason. */
static void note(char *reason, const char *path, enum cgroup_version v, enum cg_file f, int r)
{
        bool root = strcmp(path, ".") == 0;

        cgroup_add_reason(reason, "/%s%s%s: %s", root ? "" : path, root ? "" : "/",
                          cgroup_file_names[v][f],
                          r == -EINVAL || r == -ERANGE || r == -ENODATA ? "malformed"
                          : r == -ENOTREG                               ? "not a regular file"
                                                                        : strerror(-r));
}

/* The limit kept from an earlier sample, when it is not due to be read again. */
static bool limit_kept(struct member *m, struct mem_sample *s)
{
        if (m->limit_left == 0)
                return false;
        m->limit_left--;
        s->has_max = true;
        s->max_unlimited = m->limit_unlimited;
        s->max_bytes = m->limit_bytes;
        return true;
}

static void limit_keep(const struct cgroup_target *t, struct member *m, const struct mem_sample *s)
{
        m->limit_left = t->limit_every > 1 ? t->limit_every - 1 : 0;
        m->limit_unlimited = s->max_unlimited;
        m->limit_bytes = s->max_bytes;
}

/* Reads and parses every file of one member into *s. -ENOENT when the cgroup is gone. */
int cgroup_member_sample(struct cgroup_target *t, struct member *m, char *reason,
                         struct mem_sample *s)
{
        enum cgroup_version v = t->h->version;
        char buf[CGROUP_FILE_MAX];
        ssize_t n;
        int r;

        if (m->fd[CG_USAGE] < 0 && m->open_r[CG_USAGE] == -ENOENT && strcmp(m->path, ".") != 0)
                note(reason, m->path, v, CG_USAGE, -ENOENT);
        for (size_t f = 0; f < _CG_FILE_MAX; f++) {
                if (m->fd[f] < 0 && m->open_r[f] != -ENOENT)
                        note(reason, m->path, v, f, m->open_r[f]);
                if (m->fd[f] < 0 || (f == CG_LIMIT && limit_kept(m, s)))
                        continue;
                n = read_file(t, m, f, buf);
                if (n == -ENOENT && f != CG_PRESSURE)
                        return -ENOENT;
                if (n < 0) {
                        note(reason, m->path, v, f, (int)n);
                        continue;
                }
                if ((r = parse_file(v, f, buf, (size_t)n, s)) < 0)
                        note(reason, m->path, v, f, r);
                else if (f == CG_LIMIT)
                        limit_keep(t, m, s);
        }
        return 0;
}
