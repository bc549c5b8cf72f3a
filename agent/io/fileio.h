/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Small file helpers for state that must survive crashes: atomic replacement, reads with
 * a size cap, and moving a bad file aside. No logging; every function returns -errno.
 */

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
 * Replaces dir/name with len bytes of data: writes a hidden temp file in dir (O_CLOEXEC,
 * mode), fsyncs it, renames it over name and fsyncs dir. On failure dir/name is untouched
 * and the temp file is removed. Returns 0 or -errno.
 */
int fileio_write_atomic(const char *dir, const char *name, const void *data, size_t len,
                        mode_t mode);

/*
 * fileio_write_atomic() that first makes dir/prev (when not NULL) the file dir/name was until
 * now, by a hard link renamed over prev: both names always exist once written, and one fsync
 * of dir covers both renames. Returns 0 or -errno.
 */
int fileio_write_atomic_keep(const char *dir, const char *name, const char *prev, const void *data,
                             size_t len, mode_t mode);

/*
 * Reads the regular file at path, at most max bytes. Returns 0 with *ret (NUL-terminated,
 * caller frees) and *ret_len; -EFBIG when it is longer than max; -EBADF when it is not a
 * regular file; other -errno (-ENOENT when missing).
 */
int fileio_read_capped(const char *path, size_t max, char **ret, size_t *ret_len);

/* Same as fileio_read_capped(), and when ret_st is not NULL the file's fstat() in *ret_st. */
int fileio_read_capped_stat(const char *path, size_t max, char **ret, size_t *ret_len,
                            struct stat *ret_st);

/*
 * Renames path to "<path>.<suffix>-<unix time>" (or with ".N" appended when that exists)
 * without replacing anything. Returns 0 and the new name in ret (size bytes), or -errno.
 */
int fileio_move_aside(const char *path, const char *suffix, char *ret, size_t size);

/*
 * Removes the temp files fileio_write_atomic() left behind for name in dir when the process
 * died mid-write (".NAME.tmp-XXXXXX"). Only call it while nothing else writes name.
 * Returns how many were removed, or -errno.
 */
int fileio_remove_stale_temps(const char *dir, const char *name);
