/* SPDX-License-Identifier: MIT */
/*
 * Targets and the per-tick hot path. Every matched cgroup keeps its memory files open and
 * each tick is one pread per file at offset 0 into a stack buffer: no heap allocation, no
 * path lookups. A glob is re-expanded every tick (restarted containers get new cgroups) by
 * walking directories with getdents64 into a stack buffer, also allocation-free; only a
 * change in the match set allocates (the new match's path) and opens files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup-internal.h"
#include "util.h"

#define GLOB_DEPTH_MAX 8 /* glob components per pattern; each costs a 4 KiB stack frame */

static bool has_glob(const char *s)
{
        return strpbrk(s, "*?[") != NULL;
}

int cgroup_target_path(const char *cgroup, const char *unit, char ret[CGROUP_PATH_MAX])
{
        int n;

        if (cgroup)
                n = snprintf(ret, CGROUP_PATH_MAX, "%s", cgroup);
        else if (unit && unit[0] && !strchr(unit, '/'))
                n = snprintf(ret, CGROUP_PATH_MAX, "/system.slice/%s", unit);
        else
                return -EINVAL;
        return n >= CGROUP_PATH_MAX ? -ENAMETOOLONG : 0;
}

/* Splits "/a/b*" into components; rejects relative paths, "." and ".." components. */
static int split_pattern(struct cgroup_target *t, const char *pattern)
{
        size_t globs = 0, len = strlen(pattern);
        char *save = NULL;

        if (pattern[0] != '/')
                return -EINVAL;
        if (len >= CGROUP_PATH_MAX)
                return -ENAMETOOLONG;
        t->comps = strdup(pattern);
        t->comp = calloc(len, sizeof(*t->comp)); /* at most one component per '/' */
        if (!t->comps || !t->comp)
                return -ENOMEM;
        for (char *c = strtok_r(t->comps, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (strcmp(c, ".") == 0 || strcmp(c, "..") == 0)
                        return -EINVAL;
                globs += has_glob(c);
                t->comp[t->n_comps++] = c;
        }
        if (globs > GLOB_DEPTH_MAX)
                return -EINVAL;
        t->is_glob = globs > 0;
        return 0;
}

/* The pattern relative to the root, as member paths are: "a/b", or "." for "/". */
static int join_pattern(struct cgroup_target *t, size_t len)
{
        size_t n = 0;

        t->pattern = malloc(len + 2);
        if (!t->pattern)
                return -ENOMEM;
        strcpy(t->pattern, ".");
        for (size_t i = 0; i < t->n_comps; i++)
                n += (size_t)sprintf(t->pattern + n, "%s%s", i ? "/" : "", t->comp[i]);
        return 0;
}

int cgroup_target_new(struct cgroup_hierarchy *h, const char *pattern, struct cgroup_target **ret)
{
        struct cgroup_target *t = calloc(1, sizeof(*t));
        int r;

        if (!t)
                return -ENOMEM;
        t->h = h;
        r = split_pattern(t, pattern);
        if (r >= 0)
                r = join_pattern(t, strlen(pattern));
        if (r < 0) {
                cgroup_target_free(t);
                return r;
        }
        *ret = t;
        return 0;
}

static void member_close(struct member *m)
{
        for (size_t f = 0; f < _CG_FILE_MAX; f++)
                if (m->fd[f] >= 0)
                        close(m->fd[f]);
        free(m->path);
}

struct cgroup_target *cgroup_target_free(struct cgroup_target *t)
{
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_members; i++)
                member_close(&t->members[i]);
        free(t->members);
        free(t->pattern);
        free(t->comps);
        free(t->comp);
        free(t);
        return NULL;
}

void cgroup_target_limit_every(struct cgroup_target *t, unsigned n)
{
        t->limit_every = n;
}

bool cgroup_target_gone(const struct cgroup_target *t)
{
        return t->gone;
}

bool cgroup_target_gone_changed(const struct cgroup_target *t)
{
        return t->gone_changed;
}

size_t cgroup_target_matches(const struct cgroup_target *t)
{
        return t->gone ? 0 : t->n_members;
}

size_t cgroup_target_fds(const struct cgroup_target *t, int *ret_fds, size_t max)
{
        size_t n = 0;

        for (size_t i = 0; i < t->n_members; i++)
                for (size_t f = 0; f < _CG_FILE_MAX; f++)
                        if (t->members[i].fd[f] >= 0) {
                                if (n < max)
                                        ret_fds[n] = t->members[i].fd[f];
                                n++;
                        }
        return n;
}

/* Adds a match: opens its files (absent ones stay -1). -ENOENT when it is not a cgroup. */
static int member_add(struct cgroup_target *t, const char *path)
{
        struct member m = { .seen = t->generation };
        struct stat st;

        if (fstatat(t->h->root_fd, path, &st, 0) < 0)
                return errno == ENOTDIR ? -ENOENT : -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOENT;
        if (t->n_members == t->cap_members) {
                size_t cap = t->cap_members ? t->cap_members * 2 : 1;
                struct member *v = realloc(t->members, cap * sizeof(*v));

                if (!v)
                        return -ENOMEM;
                t->members = v;
                t->cap_members = cap;
        }
        m.path = strdup(path);
        if (!m.path)
                return -ENOMEM;
        for (size_t f = 0; f < _CG_FILE_MAX; f++) {
                int fd = cgroup_open_file(t, path, f);

                m.fd[f] = fd < 0 ? -1 : fd;
                m.open_r[f] = fd < 0 ? fd : 0;
        }
        t->members[t->n_members++] = m;
        return 0;
}

static void member_remove(struct cgroup_target *t, size_t i)
{
        member_close(&t->members[i]);
        memmove(&t->members[i], &t->members[i + 1], (t->n_members - i - 1) * sizeof(*t->members));
        t->n_members--;
}

/* A glob matched path: keep the member that has it, or add one. */
static int match_found(struct cgroup_target *t, const char *path)
{
        size_t i = t->cursor;
        int r;

        if (i >= t->n_members || strcmp(t->members[i].path, path) != 0)
                for (i = 0; i < t->n_members; i++)
                        if (strcmp(t->members[i].path, path) == 0)
                                break;
        if (i < t->n_members) {
                t->members[i].seen = t->generation;
                t->cursor = i + 1;
                return 0;
        }
        if (t->n_members >= CGROUP_MATCHES_MAX) {
                t->capped = true;
                return 0;
        }
        r = member_add(t, path);
        return r == -ENOENT || r == -EACCES ? 0 : r;
}

static int walk(struct cgroup_target *t, char *path, size_t len, size_t depth);

/* Appends a component to path, walks on, and restores path. */
static int walk_into(struct cgroup_target *t, char *path, size_t len, size_t depth,
                     const char *name)
{
        int n = snprintf(path + len, CGROUP_PATH_MAX - len, "%s%s", len ? "/" : "", name);
        int r;

        if (n < 0 || (size_t)n >= CGROUP_PATH_MAX - len)
                r = 0; /* too long to be a target of ours */
        else
                r = walk(t, path, len + (size_t)n, depth + 1);
        path[len] = '\0';
        return r;
}

/* Matches the glob component at depth against path's subdirectories. */
static int walk_dir(struct cgroup_target *t, char *path, size_t len, size_t depth)
{
        _cleanup_close_ int fd = -1;
        char buf[4096] __attribute__((aligned(8)));
        ssize_t n;
        int r;

        fd = openat(t->h->root_fd, len ? path : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT || errno == ENOTDIR || errno == EACCES ? 0 : -errno;
        while ((n = getdents64(fd, buf, sizeof(buf))) > 0)
                for (ssize_t off = 0; off < n;) {
                        struct dirent64 *d = (struct dirent64 *)(void *)(buf + off);

                        off += d->d_reclen;
                        if ((d->d_type != DT_DIR && d->d_type != DT_UNKNOWN) ||
                            strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0 ||
                            fnmatch(t->comp[depth], d->d_name, FNM_PERIOD) != 0)
                                continue;
                        if ((r = walk_into(t, path, len, depth, d->d_name)) < 0)
                                return r;
                }
        return n < 0 ? -errno : 0;
}

static int walk(struct cgroup_target *t, char *path, size_t len, size_t depth)
{
        if (depth == t->n_comps)
                return match_found(t, len ? path : ".");
        if (!has_glob(t->comp[depth]))
                return walk_into(t, path, len, depth, t->comp[depth]);
        return walk_dir(t, path, len, depth);
}

/* Brings the member set up to date: a literal is re-added once it exists again. */
static int expand(struct cgroup_target *t)
{
        char path[CGROUP_PATH_MAX] = "";
        int r;

        if (!t->is_glob) {
                /* cgroupfs reports removal as ENODEV on read; plain trees need a look. */
                if (t->n_members > 0 &&
                    (t->h->cgroupfs || faccessat(t->h->root_fd, t->pattern, F_OK, 0) == 0))
                        return 0;
                if (t->n_members > 0)
                        member_remove(t, 0);
                r = member_add(t, t->pattern);
                return r == -ENOENT ? 0 : r;
        }
        t->generation++;
        t->cursor = 0;
        t->capped = false;
        if ((r = walk(t, path, 0, 0)) < 0)
                return r;
        for (size_t i = t->n_members; i-- > 0;)
                if (t->members[i].seen != t->generation)
                        member_remove(t, i);
        return 0;
}

static void set_gone(struct cgroup_target *t, bool gone)
{
        t->gone_changed = t->sampled ? gone != t->gone : gone;
        t->gone = gone;
        t->sampled = true;
}

int cgroup_target_sample(struct cgroup_target *t, char *reason, struct mem_sample *ret)
{
        struct mem_sample acc = { 0 };
        size_t used = 0;
        int r;

        reason[0] = '\0';
        if ((r = expand(t)) < 0) {
                cgroup_add_reason(reason, "cannot expand %s under %s: %s", t->pattern, t->h->root,
                                  strerror(-r));
                return r;
        }
        if (t->capped)
                cgroup_add_reason(reason, "/%s matches more than %d cgroups; only %d are summed",
                                  t->pattern, CGROUP_MATCHES_MAX, CGROUP_MATCHES_MAX);
        for (size_t i = 0; i < t->n_members;) {
                struct mem_sample m = { 0 };

                if (cgroup_member_sample(t, &t->members[i], reason, &m) == -ENOENT) {
                        member_remove(t, i); /* removed since the expansion */
                        continue;
                }
                if (used++ == 0)
                        acc = m;
                else
                        cgroup_sample_add(&acc, &m);
                i++;
        }
        set_gone(t, used == 0);
        if (used == 0) {
                reason[0] = '\0'; /* what vanished mid-read does not matter any more */
                cgroup_add_reason(reason, "cgroup /%s %s under %s",
                                  strcmp(t->pattern, ".") == 0 ? "" : t->pattern,
                                  t->is_glob ? "matches nothing" : "does not exist", t->h->root);
                return -ENOENT;
        }
        *ret = acc;
        return 0;
}
