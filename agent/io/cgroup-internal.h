/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared between cgroup.c (discovery), cgroup-target.c (targets, matching) and cgroup-read.c
 * (reading and parsing a match's files); not a public API. */

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup.h"

struct cgroup_hierarchy {
        enum cgroup_version version;
        int root_fd;   /* O_PATH directory of the memory root */
        int psi_fd;    /* O_PATH directory of the cgroup2 root for memory.pressure, or -1 */
        bool cgroupfs; /* false for fixture trees: plain files never fail with ENODEV */
        char root[PATH_MAX];
        char psi_root[PATH_MAX];
};

/* open_file()'s error for a FIFO, socket or device where a memory file belongs. */
#define ENOTREG EBADFD

enum cg_file {
        CG_USAGE,
        CG_LIMIT,
        CG_STAT,
        CG_OOM,
        CG_FAILCNT,
        CG_PRESSURE, /* under the PSI root, which is the cgroup2 mount on v1 hosts */
        _CG_FILE_MAX,
};

/* The memory files of each version, by enum cg_file (NULL: none). */
extern const char *const cgroup_file_names[_CGROUP_VERSION_MAX][_CG_FILE_MAX];

struct member {
        char *path;               /* relative to the root: "a/b", or "." for the root itself */
        int fd[_CG_FILE_MAX];     /* -1: the file does not exist here, or could not be opened */
        int open_r[_CG_FILE_MAX]; /* why fd[f] is -1 (-ENOENT, -ENOTREG, ...) */
        unsigned seen;            /* expansion generation that last matched it */
        /* The limit file is read on one sample of the target's limit_every; the samples
         * between repeat the figure read last. limit_left: samples until the next read. */
        unsigned limit_left;
        bool limit_unlimited;
        uint64_t limit_bytes;
};

struct cgroup_target {
        struct cgroup_hierarchy *h;
        char *pattern;     /* relative, as member paths */
        char *comps;       /* pattern split at '/' into NUL-separated components */
        const char **comp; /* n_comps pointers into comps */
        size_t n_comps;
        bool is_glob;
        struct member *members;
        size_t n_members, cap_members;
        unsigned generation;
        size_t cursor; /* where the next match is expected: steady-state lookups are O(1) */
        bool sampled, gone, gone_changed;
        bool capped;          /* the last expansion found more than CGROUP_MATCHES_MAX matches */
        unsigned limit_every; /* cgroup_target_limit_every(); 0 as 1 */
};

/* Opens path's file f under its root (O_NONBLOCK, regular files only). Returns the fd,
 * -ENOENT, -ENOTREG, or -errno. */
int cgroup_open_file(const struct cgroup_target *t, const char *path, enum cg_file f);

/* Appends "; "-separated text to reason (a CGROUP_ERROR_MAX buffer), truncating. */
__attribute__((format(printf, 2, 3))) void cgroup_add_reason(char *reason, const char *fmt, ...);

/* Reads and parses every open file of m into s; a missing or bad file is noted in reason.
 * Returns 0 when the member still exists, -ENOENT when it is gone. */
int cgroup_member_sample(struct cgroup_target *t, struct member *m, char *reason,
                         struct mem_sample *s);
