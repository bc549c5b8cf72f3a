/* SPDX-License-Identifier: MIT */
/* Bearer-token files: opened, judged and read in one place (token.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "token.h"
#include "util.h"

static const char *file_kind(mode_t m)
{
        if (S_ISDIR(m))
                return "a directory";
        if (S_ISFIFO(m))
                return "a FIFO";
        if (S_ISSOCK(m))
                return "a socket";
        if (S_ISCHR(m) || S_ISBLK(m))
                return "a device";
        return "not a regular file";
}

/*
 * The real path of the file open on fd: the kernel's name for it, so that a symlink swapped
 * after the open (a Secret's rotation) cannot make us judge another file's directories.
 */
static int fd_real_path(int fd, const char *path, char *buf, size_t size)
{
        char proc[64];
        ssize_t n;

        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        n = readlink(proc, buf, size - 1);
        if (n > 0 && buf[0] == '/' && (size_t)n < size - 1) {
                buf[n] = '\0';
                return 0;
        }
        /* No /proc: the path resolved again, which is as good unless it changed meanwhile. */
        if (size < PATH_MAX)
                return -ENAMETOOLONG;
        return realpath(path, buf) ? 0 : -errno;
}

/*
 * Finds a directory above real (an absolute path) that anyone may write to: mode o+w on a
 * mount that is not read-only (a Kubernetes Secret's volume is 1777 but mounted read-only).
 * The sticky bit is no excuse: /tmp counts. Returns 1 with the directory in ret, 0 when
 * there is none, or -errno.
 */
static int world_writable_dir(const char *real, char *ret, size_t size)
{
        char dir[PATH_MAX];
        struct statvfs vfs;
        struct stat st;
        char *slash;

        snprintf(dir, sizeof(dir), "%s", real);
        while ((slash = strrchr(dir, '/'))) {
                slash[slash == dir] = '\0'; /* keep the root's own slash */
                if (stat(dir, &st) < 0 || statvfs(dir, &vfs) < 0)
                        return -errno;
                if ((st.st_mode & S_IWOTH) && !(vfs.f_flag & ST_RDONLY)) {
                        snprintf(ret, size, "%s", dir);
                        return 1;
                }
                if (slash == dir)
                        break;
        }
        return 0;
}

/* Judges the open file: type, owner and mode. Returns 0 or -EPERM (-errno) with why. */
static int judge(int fd, const char *path, char *why, size_t whysize)
{
        char real[PATH_MAX], wdir[PATH_MAX];
        uid_t me = geteuid();
        struct stat st;
        int r;

        if (fstat(fd, &st) < 0) {
                snprintf(why, whysize, "token_file %s: cannot stat: %s", path, strerror(errno));
                return -errno;
        }
        if (!S_ISREG(st.st_mode)) {
                snprintf(why, whysize, "token_file %s: %s; it must be a regular file", path,
                         file_kind(st.st_mode));
                return -EPERM;
        }
        if (st.st_uid != 0 && st.st_uid != me) {
                snprintf(why, whysize,
                         "token_file %s: owned by uid %u; must be owned by root or the agent's "
                         "user (uid %u); fix: chown %u %s",
                         path, (unsigned)st.st_uid, (unsigned)me, (unsigned)me, path);
                return -EPERM;
        }
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
                snprintf(why, whysize,
                         "token_file %s: mode %04o lets group or others write it; fix: chmod "
                         "go-w %s",
                         path, (unsigned)(st.st_mode & 07777), path);
                return -EPERM;
        }
        if (!(st.st_mode & S_IROTH))
                return 0;
        r = fd_real_path(fd, path, real, sizeof(real));
        if (r >= 0)
                r = world_writable_dir(real, wdir, sizeof(wdir));
        if (r < 0) {
                snprintf(why, whysize, "token_file %s: cannot check its directories: %s", path,
                         strerror(-r));
                return r;
        }
        if (r > 0) {
                snprintf(why, whysize,
                         "token_file %s: mode %04o lets others read it and %s is "
                         "world-writable; fix: chmod o-r %s, or move it out of %s",
                         path, (unsigned)(st.st_mode & 07777), wdir, path, wdir);
                return -EPERM;
        }
        return 0;
}

/* Reads fd to its end into buf (size bytes): returns the length, -E2BIG or -errno. */
static ssize_t read_all(int fd, char *buf, size_t size)
{
        size_t len = 0;
        ssize_t n;

        while (len < size - 1) {
                n = read(fd, buf + len, size - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return (ssize_t)len;
                len += (size_t)n;
        }
        return -E2BIG;
}

/* Checks the content: one line, no NUL byte. Returns 0 (buf now the token) or -EINVAL. */
static int parse(char *buf, size_t len, const char *path, char *why, size_t whysize)
{
        if (memchr(buf, '\0', len)) {
                snprintf(why, whysize, "token_file %s: contains a NUL byte", path);
                return -EINVAL;
        }
        buf[len] = '\0';
        if (len > 0 && buf[len - 1] == '\n')
                buf[--len] = '\0';
        if (len == 0 || strpbrk(buf, "\r\n")) {
                snprintf(why, whysize, "token_file %s: empty or more than one line", path);
                return -EINVAL;
        }
        return 0;
}

int token_read(const char *path, char *buf, size_t size, char *why, size_t whysize)
{
        /* O_NONBLOCK: a FIFO must not block the open (it is refused just after). */
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        char tmp[TOKEN_MAX];
        ssize_t n;
        int r;

        if (fd < 0) {
                r = -errno;
                if (r == -ENOENT)
                        snprintf(why, whysize,
                                 "token_file %s: does not exist (it must exist where the policy "
                                 "runs)",
                                 path);
                else
                        snprintf(why, whysize, "token_file %s: cannot open: %s", path,
                                 strerror(-r));
                return r;
        }
        r = judge(fd, path, why, whysize);
        if (r < 0)
                return r;
        n = read_all(fd, tmp, size < sizeof(tmp) ? size : sizeof(tmp));
        if (n < 0) {
                snprintf(why, whysize, "token_file %s: %s", path,
                         n == -E2BIG ? "too long" : strerror((int)-n));
                r = (int)n;
        } else {
                r = parse(tmp, (size_t)n, path, why, whysize);
        }
        if (r >= 0)
                memcpy(buf, tmp, strlen(tmp) + 1);
        explicit_bzero(tmp, sizeof(tmp));
        return r;
}

int token_reread(const char *path, const char *loaded, char *buf, size_t size, char *why,
                 size_t whysize)
{
        char err[512];
        int r = token_read(path, buf, size, err, sizeof(err));

        if (r >= 0)
                return 0;
        if (!loaded || strlen(loaded) >= size) {
                snprintf(why, whysize, "%s", err);
                return r;
        }
        memcpy(buf, loaded, strlen(loaded) + 1);
        snprintf(why, whysize, "%s; sending the token read when the policy loaded", err);
        return 1;
}
