/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "util.h"

#define MOVE_ASIDE_TRIES 10

static int write_all(int fd, const char *p, size_t len)
{
        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO;
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

/* Fills the open temp file fd; the caller unlinks it on failure. */
static int fill_temp(int fd, const void *data, size_t len, mode_t mode)
{
        int r;

        /* mkostemp() creates 0600 and the umask may narrow mode: set it exactly. */
        if (fchmod(fd, mode) < 0)
                return -errno;
        r = write_all(fd, data, len);
        if (r < 0)
                return r;
        if (fsync(fd) < 0)
                return -errno;
        return 0;
}

/* Points dir/prev at the inode of dir/name (if any) without a moment where prev is missing. */
static int keep_previous(int dfd, const char *name, const char *prev)
{
        char tmp[PATH_MAX];

        if (snprintf(tmp, sizeof(tmp), ".%s.tmp", prev) >= (int)sizeof(tmp))
                return -ENAMETOOLONG;
        /* The state's one writer owns this name: a leftover is from a crash. */
        if (unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT)
                return -errno;
        if (linkat(dfd, name, dfd, tmp, 0) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (renameat(dfd, tmp, dfd, prev) < 0) {
                int r = -errno;

                unlinkat(dfd, tmp, 0);
                return r;
        }
        return 0;
}

int fileio_write_atomic_keep(const char *dir, const char *name, const char *prev, const void *data,
                             size_t len, mode_t mode)
{
        char tmp[PATH_MAX], path[PATH_MAX];
        _cleanup_close_ int dfd = -1, fd = -1;
        int r;

        if (!name[0] || strchr(name, '/') || (prev && (!prev[0] || strchr(prev, '/'))))
                return -EINVAL;
        if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
            snprintf(tmp, sizeof(tmp), "%s/.%s.tmp-XXXXXX", dir, name) >= (int)sizeof(tmp))
                return -ENAMETOOLONG;
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        r = fill_temp(fd, data, len, mode);
        if (r == 0 && close(TAKE_FD(fd)) < 0)
                r = -errno;
        if (r == 0 && prev)
                r = keep_previous(dfd, name, prev);
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                unlink(tmp);
                return r;
        }
        /* The renames are durable only once the directory itself is on disk. */
        if (fsync(dfd) < 0)
                return -errno;
        return 0;
}

int fileio_write_atomic(const char *dir, const char *name, const void *data, size_t len,
                        mode_t mode)
{
        return fileio_write_atomic_keep(dir, name, NULL, data, len, mode);
}

static int read_all(int fd, char *buf, size_t size, size_t *ret_len)
{
        size_t len = 0;

        while (len < size) {
                ssize_t n = read(fd, buf + len, size - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        *ret_len = len;
        return 0;
}

int fileio_read_capped_stat(const char *path, size_t max, char **ret, size_t *ret_len,
                            struct stat *ret_st)
{
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t len = 0;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADF;
        /* The size from fstat() is a hint only: read one byte past the cap to be sure. */
        buf = malloc(max + 2);
        if (!buf)
                return -ENOMEM;
        r = read_all(fd, buf, max + 1, &len);
        if (r < 0)
                return r;
        if (len > max)
                return -EFBIG;
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        if (ret_st)
                *ret_st = st;
        return 0;
}

int fileio_read_capped(const char *path, size_t max, char **ret, size_t *ret_len)
{
        return fileio_read_capped_stat(path, max, ret, ret_len, NULL);
}

int fileio_move_aside(const char *path, const char *suffix, char *ret, size_t size)
{
        char to[PATH_MAX];
        long long now = (long long)time(NULL);

        for (int i = 0; i < MOVE_ASIDE_TRIES; i++) {
                int n = i == 0 ? snprintf(to, sizeof(to), "%s.%s-%lld", path, suffix, now)
                               : snprintf(to, sizeof(to), "%s.%s-%lld.%d", path, suffix, now, i);

                if (n < 0 || (size_t)n >= sizeof(to) || (size_t)n >= size)
                        return -ENAMETOOLONG;
                if (renameat2(AT_FDCWD, path, AT_FDCWD, to, RENAME_NOREPLACE) == 0) {
                        memcpy(ret, to, (size_t)n + 1);
                        return 0;
                }
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

int fileio_remove_stale_temps(const char *dir, const char *name)
{
        char prefix[PATH_MAX];
        struct dirent *de;
        size_t plen;
        DIR *d;
        int n = 0;

        if (snprintf(prefix, sizeof(prefix), ".%s.tmp-", name) >= (int)sizeof(prefix))
                return -ENAMETOOLONG;
        plen = strlen(prefix);
        d = opendir(dir);
        if (!d)
                return -errno;
        while ((de = readdir(d)))
                if (strncmp(de->d_name, prefix, plen) == 0 && strlen(de->d_name) == plen + 6 &&
                    unlinkat(dirfd(d), de->d_name, 0) == 0)
                        n++;
        closedir(d);
        return n;
}
