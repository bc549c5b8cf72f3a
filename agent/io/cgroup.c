/* SPDX-License-Identifier: MIT */
/*
 * Finding the memory hierarchy: libcgroup for discovery (the one module that includes it),
 * statfs for the version, the files present when the root is given explicitly.
 * Targets and the per-tick hot path are in cgroup-target.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <libcgroup.h>
#include <linux/magic.h>

#include "cgroup-internal.h"
#include "util.h"

__attribute__((format(printf, 3, 4))) static int fail(char *err, int r, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, CGROUP_ERROR_MAX, fmt, ap);
        va_end(ap);
        return r;
}

/* Takes ownership of root_fd and psi_fd. */
static int hierarchy_new(enum cgroup_version v, const char *root, int root_fd, const char *psi,
                         int psi_fd, struct cgroup_hierarchy **ret)
{
        struct cgroup_hierarchy *h = calloc(1, sizeof(*h));
        struct statfs sfs;

        if (!h) {
                close(root_fd);
                if (psi_fd >= 0)
                        close(psi_fd);
                return -ENOMEM;
        }
        h->version = v;
        h->cgroupfs = fstatfs(root_fd, &sfs) == 0 &&
                      (sfs.f_type == CGROUP_SUPER_MAGIC || sfs.f_type == CGROUP2_SUPER_MAGIC);
        h->root_fd = root_fd;
        h->psi_fd = psi_fd;
        snprintf(h->root, sizeof(h->root), "%s", root);
        snprintf(h->psi_root, sizeof(h->psi_root), "%s", psi_fd >= 0 ? psi : "");
        *ret = h;
        return 0;
}

struct cgroup_hierarchy *cgroup_hierarchy_free(struct cgroup_hierarchy *h)
{
        if (!h)
                return NULL;
        if (h->root_fd >= 0)
                close(h->root_fd);
        if (h->psi_fd >= 0)
                close(h->psi_fd);
        free(h);
        return NULL;
}

enum cgroup_version cgroup_hierarchy_version(const struct cgroup_hierarchy *h)
{
        return h->version;
}

const char *cgroup_hierarchy_root(const struct cgroup_hierarchy *h)
{
        return h->root;
}

const char *cgroup_hierarchy_psi_root(const struct cgroup_hierarchy *h)
{
        return h->psi_root;
}

static int open_dir(int at, const char *path)
{
        int fd = openat(at, path, O_PATH | O_DIRECTORY | O_CLOEXEC);

        return fd < 0 ? -errno : fd;
}

static void endmntentp(FILE **f)
{
        if (*f)
                endmntent(*f);
}

/* The first cgroup2 mount in /proc/self/mounts: PSI on a v1 (hybrid) host. */
static void find_cgroup2_mount(char ret[PATH_MAX])
{
        _cleanup_(endmntentp) FILE *f = setmntent("/proc/self/mounts", "re");
        struct mntent ent;
        char buf[4096];

        ret[0] = '\0';
        if (!f)
                return;
        while (getmntent_r(f, &ent, buf, sizeof(buf)))
                if (strcmp(ent.mnt_type, "cgroup2") == 0) {
                        snprintf(ret, PATH_MAX, "%s", ent.mnt_dir);
                        return;
                }
}

/* libcgroup logs to stderr by default; lower modules never log. */
static void quiet_logger(void *userdata, int level, const char *fmt, va_list ap)
{
        (void)userdata, (void)level, (void)fmt, (void)ap;
}

static int memory_mount_point(char *err, char ret[PATH_MAX])
{
        char *mnt = NULL;
        int r;

        cgroup_set_logger(quiet_logger, -1, NULL);
        r = cgroup_init();
        if (r != 0)
                return fail(err, -ENOENT,
                            "no cgroup memory hierarchy: libcgroup found no mounted cgroup "
                            "controller in /proc/mounts (cgroup_init: %s)",
                            cgroup_strerror(r));
        r = cgroup_get_subsys_mount_point("memory", &mnt);
        if (r != 0 || !mnt) {
                free(mnt);
                return fail(err, -ENOENT,
                            "no cgroup memory hierarchy: /proc/mounts has neither a cgroup v1 "
                            "'memory' mount nor a cgroup2 mount listing 'memory' in "
                            "cgroup.controllers (use --cgroup-root DIR if it is mounted "
                            "elsewhere)");
        }
        snprintf(ret, PATH_MAX, "%s", mnt);
        free(mnt);
        return 0;
}

int cgroup_hierarchy_discover(char *err, struct cgroup_hierarchy **ret)
{
        char mnt[PATH_MAX], psi[PATH_MAX];
        enum cgroup_version v;
        struct statfs sfs;
        int r, fd, psi_fd = -1;

        if ((r = memory_mount_point(err, mnt)) < 0)
                return r;
        if (statfs(mnt, &sfs) < 0)
                return fail(err, -errno, "memory hierarchy %s: %m", mnt);
        if (sfs.f_type == CGROUP2_SUPER_MAGIC)
                v = CGROUP_V2;
        else if (sfs.f_type == CGROUP_SUPER_MAGIC)
                v = CGROUP_V1;
        else
                return fail(err, -EMEDIUMTYPE, "memory hierarchy %s is not a cgroup filesystem",
                            mnt);
        if ((fd = open_dir(AT_FDCWD, mnt)) < 0)
                return fail(err, fd, "memory hierarchy %s: %s", mnt, strerror(-fd));
        if (v == CGROUP_V2)
                snprintf(psi, sizeof(psi), "%s", mnt);
        else
                find_cgroup2_mount(psi);
        if (psi[0])
                psi_fd = open_dir(AT_FDCWD, psi);
        return hierarchy_new(v, mnt, fd, psi, psi_fd < 0 ? -1 : psi_fd, ret);
}

static bool exists_at(int fd, const char *name)
{
        return faccessat(fd, name, F_OK, 0) == 0;
}

/* Whether cgroup.controllers (a v2 root or parent) lists "memory" as a whole word. */
static bool controllers_have_memory(int fd)
{
        /* Non-blocking and type-checked: a FIFO planted here must not hang discovery. */
        _cleanup_close_ int cfd =
                openat(fd, "cgroup.controllers", O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        struct stat st;
        char buf[512];
        ssize_t n;

        if (cfd < 0 || fstat(cfd, &st) < 0 || !S_ISREG(st.st_mode) ||
            (n = read(cfd, buf, sizeof(buf) - 1)) <= 0)
                return false;
        buf[n] = '\0';
        for (char *save = NULL, *w = strtok_r(buf, " \n", &save); w;
             w = strtok_r(NULL, " \n", &save))
                if (strcmp(w, "memory") == 0)
                        return true;
        return false;
}

static int detect_version(int fd, enum cgroup_version *ret)
{
        if (exists_at(fd, "memory.usage_in_bytes"))
                *ret = CGROUP_V1;
        else if (exists_at(fd, "memory.current") || controllers_have_memory(fd))
                *ret = CGROUP_V2;
        else
                return -EMEDIUMTYPE;
        return 0;
}

/* The PSI root of a v1 tree given explicitly: its sibling "unified", as hybrid hosts mount. */
static int sibling_unified(const char *root, char ret[PATH_MAX])
{
        const char *slash = strrchr(root, '/');
        int fd;

        if (!slash)
                snprintf(ret, PATH_MAX, "unified");
        else
                snprintf(ret, PATH_MAX, "%.*s/unified", (int)(slash - root), root);
        fd = open_dir(AT_FDCWD, ret);
        return fd < 0 ? -1 : fd;
}

int cgroup_hierarchy_open(const char *dir, char *err, struct cgroup_hierarchy **ret)
{
        char root[PATH_MAX], psi[PATH_MAX] = "";
        enum cgroup_version v;
        int fd, psi_fd = -1;

        if (strlen(dir) + sizeof("/memory") > sizeof(root))
                return fail(err, -ENAMETOOLONG, "cgroup root %s: path too long", dir);
        snprintf(root, sizeof(root), "%s", dir);
        for (size_t n = strlen(root); n > 1 && root[n - 1] == '/'; n--)
                root[n - 1] = '\0';
        if ((fd = open_dir(AT_FDCWD, root)) < 0)
                return fail(err, fd, "cgroup root %s: %s", dir, strerror(-fd));
        if (detect_version(fd, &v) < 0) {
                /* A whole v1 cgroupfs (e.g. the host's /sys/fs/cgroup): use its memory/. */
                int mfd = openat(fd, "memory", O_PATH | O_DIRECTORY | O_CLOEXEC);

                close(fd);
                fd = mfd;
                if (fd < 0 || detect_version(fd, &v) < 0 || v != CGROUP_V1) {
                        if (fd >= 0)
                                close(fd);
                        return fail(err, -EMEDIUMTYPE,
                                    "cgroup root %s has no memory controller files (looked for "
                                    "memory.usage_in_bytes (v1), memory.current or 'memory' in "
                                    "cgroup.controllers (v2), and a memory/ subdirectory)",
                                    dir);
                }
                strcat(root, "/memory");
        }
        if (v == CGROUP_V2) {
                snprintf(psi, sizeof(psi), "%s", root);
                psi_fd = open_dir(fd, ".");
        } else {
                psi_fd = sibling_unified(root, psi);
        }
        return hierarchy_new(v, root, fd, psi, psi_fd < 0 ? -1 : psi_fd, ret);
}
