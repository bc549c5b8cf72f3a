/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Helpers the unit tests share: a temp dir, a shell command, writing and reading a whole
 * file, counting a directory's entries, removing a tree, the monotonic clock. They fail the
 * running test through cmocka instead of returning errors, so include this after
 * <cmocka.h>. Each is static inline: a test file that does not use one pays nothing.
 */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Runs the shell command fmt formats; fails the test unless it exits 0. */
__attribute__((format(printf, 1, 2))) static inline void run(const char *fmt, ...)
{
        char cmd[2048];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        if (system(cmd) != 0)
                fail_msg("command failed: %s", cmd);
}

/* Makes a fresh /tmp/<name>-XXXXXX into ret (size bytes); returns ret, or NULL on failure. */
static inline char *tmpdir_make(char *ret, size_t size, const char *name)
{
        snprintf(ret, size, "/tmp/%s-XXXXXX", name);
        return mkdtemp(ret);
}

static inline int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st, (void)flag, (void)ftw;
        return remove(path);
}

/* Removes dir and everything below it (links are removed, not followed); 0 or -1. */
static inline int rm_tree(const char *dir)
{
        return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * Writes text to dir/name, creating it or truncating it in place: O_TRUNC keeps the inode,
 * so a sampler's kept-open fd sees the new text.
 */
static inline void write_file(const char *dir, const char *name, const char *text)
{
        char path[PATH_MAX];
        size_t len = strlen(text);
        int fd;

        if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
                fail_msg("path too long: %s/%s", dir, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                fail_msg("cannot open %s: %s", path, strerror(errno));
        assert_int_equal(write(fd, text, len), (ssize_t)len);
        assert_int_equal(close(fd), 0);
}

/* The whole of the regular file at path, NUL-terminated, malloc'd (the caller frees it). */
static inline char *read_file(const char *path)
{
        FILE *f = fopen(path, "re");
        char *buf;
        long size;

        if (!f)
                fail_msg("cannot open %s: %s", path, strerror(errno));
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        size = ftell(f);
        assert_true(size >= 0);
        rewind(f);
        buf = malloc((size_t)size + 1);
        assert_non_null(buf);
        assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
        buf[size] = '\0';
        fclose(f);
        return buf;
}

/* The number of entries in dir other than . and .., and the name of the last one seen. */
static inline int count_entries(const char *dir, char *last, size_t size)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        int n = 0;

        assert_non_null(d);
        while ((e = readdir(d)))
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                        n++;
                        if (last)
                                snprintf(last, size, "%s", e->d_name);
                }
        closedir(d);
        return n;
}

/* The monotonic clock in milliseconds: for deadlines on real waits, not for fake time. */
static inline int64_t mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A TCP listener on 127.0.0.1, on a port the kernel picks (*ret_port), that never accepts:
 * the kernel completes the handshakes, so a request to it connects and is never answered.
 */
static inline int listen_loopback(unsigned *ret_port)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t alen = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(listen(fd, 16), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
        *ret_port = ntohs(a.sin_port);
        return fd;
}
