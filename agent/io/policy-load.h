/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Loading a policy: reading the file, running inih over it with the core's parser, and the
 * checks that need the file system (the policy file's own mode, token files).
 */

#include "policy.h"

#define POLICY_FILE_MAX (1024 * 1024) /* bytes: a longer policy is refused */

enum policy_load_flags {
        /* `check`: a missing token_file is a warning, not an error. */
        POLICY_LOAD_CHECK = 1 << 0,
        /* Skip the file-mode checks (fuzzing and unit tests of the text only). */
        POLICY_LOAD_NO_MODE_CHECKS = 1 << 1,
};

/*
 * Parse and validate the policy file at path. On success returns 0 and sets *ret (owned
 * by the caller, free with policy_free()). Every problem found is appended to *diags
 * (caller frees with policy_diags_clear()); warnings alone do not fail the load.
 * Returns -EINVAL when the file has errors, or -errno when it cannot be read (the reason is
 * then also in *diags, as a line-0 diagnostic).
 */
int policy_load(const char *path, unsigned flags, struct policy **ret, struct policy_diags *diags);

/* Same as policy_load() on len bytes of in-memory text; name is used as the path. */
int policy_parse_text(const char *text, size_t len, const char *name, unsigned flags,
                      struct policy **ret, struct policy_diags *diags);

/* Same as policy_parse_text() on a NUL-terminated text. */
int policy_parse_string(const char *text, const char *name, unsigned flags, struct policy **ret,
                        struct policy_diags *diags);
