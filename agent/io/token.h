/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Bearer-token files (an http action's token_file): the one place that opens, judges and
 * reads them, for `check`, for the policy load of `run` and at send time (docs/policy.md,
 * "token_file"). A token is never logged, and no message here carries one.
 */

#include <stddef.h>

#define TOKEN_MAX 4096 /* bytes of a token file's content, its newline included, plus one */

/*
 * Opens path following symlinks (a Kubernetes Secret is token -> ..data/token) and judges
 * the file it ends at, by fstat on the open fd: a regular file owned by root or the
 * effective uid, not writable by group or others, and readable by others only when no
 * directory of its real path is world-writable on a writable mount. Reads its one line into
 * buf (size bytes, the trailing newline dropped). Returns 0, or -errno with why (whysize
 * bytes, "token_file PATH: ..." with the fix): the open's error (-ENOENT ...), -EPERM for a
 * refused file, -EINVAL for its content (empty, more lines, a NUL byte), -E2BIG.
 */
int token_read(const char *path, char *buf, size_t size, char *why, size_t whysize);

/*
 * The send-time read: token_read() again, so that a rotated token is used. When that fails
 * and loaded (the value read when the policy loaded) is set, buf gets loaded and why says
 * what failed: returns 1, a warning. Returns 0 on a fresh read, or token_read()'s -errno
 * (why set) when there is nothing loaded to fall back to.
 */
int token_reread(const char *path, const char *loaded, char *buf, size_t size, char *why,
                 size_t whysize);
