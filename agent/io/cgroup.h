/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * cgroup memory sampling, v1 and v2 (DESIGN.md "Definitions").
 *
 * A hierarchy is the memory controller's root directory: discovered through libcgroup, or
 * given explicitly (--cgroup-root, a target's cgroup_root). A target is a path or glob
 * relative to that root; its files are opened once and pread at offset 0 every tick, so a
 * steady-state tick allocates nothing. The parsers are pure functions of a buffer.
 *
 * cgroup.c is the only module that includes libcgroup.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup-parse.h"
#include "sample.h"

#define CGROUP_FILE_MAX    16384 /* larger cgroupfs files are refused (-EFBIG) */
#define CGROUP_MATCHES_MAX 1024  /* cgroups one glob may sum; further matches are ignored */
#define CGROUP_PATH_MAX    1024  /* longest target path or glob, and longest match */
#define CGROUP_ERROR_MAX   512   /* size of the error text buffers below */

struct cgroup_hierarchy;
struct cgroup_target;

/*
 * Finds the memory controller with libcgroup (cgroup_init + cgroup_get_subsys_mount_point)
 * and classifies it with statfs. On v1 the first cgroup2 mount, if any, supplies PSI.
 * Returns 0 and *ret (free with cgroup_hierarchy_free), -ENOENT when there is no memory
 * hierarchy, or -errno; err (CGROUP_ERROR_MAX bytes) then says what was looked for.
 */
int cgroup_hierarchy_discover(char *err, struct cgroup_hierarchy **ret);

/*
 * Uses dir as the memory root, bypassing discovery. The version comes from the files
 * present: memory.usage_in_bytes → v1; memory.current, or "memory" in cgroup.controllers
 * → v2. A dir holding memory/ (a whole v1 cgroupfs) is descended into; a v1 root's sibling
 * unified/ supplies PSI. Returns 0 and *ret, -ENOENT / -ENOTDIR / -EMEDIUMTYPE (no memory
 * files), or -errno, with err explaining.
 */
int cgroup_hierarchy_open(const char *dir, char *err, struct cgroup_hierarchy **ret);

/* Frees a hierarchy after every target using it; NULL is fine. Returns NULL. */
struct cgroup_hierarchy *cgroup_hierarchy_free(struct cgroup_hierarchy *h);

enum cgroup_version cgroup_hierarchy_version(const struct cgroup_hierarchy *h);
/* The memory root directory, and the cgroup2 root used for PSI ("" when none). */
const char *cgroup_hierarchy_root(const struct cgroup_hierarchy *h);
const char *cgroup_hierarchy_psi_root(const struct cgroup_hierarchy *h);

/*
 * The cgroup path of a policy target: cgroup as given, or "/system.slice/UNIT" for a unit.
 * Returns 0 and fills ret (CGROUP_PATH_MAX bytes), or -EINVAL / -ENAMETOOLONG.
 */
int cgroup_target_path(const char *cgroup, const char *unit, char ret[CGROUP_PATH_MAX]);

/*
 * Prepares a target for pattern (absolute within the hierarchy: "/a/b", "/a/x-*" or "/";
 * glob(7) metacharacters * ? [ are allowed in any component, ".." is not). h is borrowed
 * and must outlive the target. Nothing is opened yet. Returns 0 and *ret, -EINVAL,
 * -ENAMETOOLONG, -ENOMEM.
 */
int cgroup_target_new(struct cgroup_hierarchy *h, const char *pattern, struct cgroup_target **ret);

/* Closes the target's files and frees it; NULL is fine. Returns NULL. */
struct cgroup_target *cgroup_target_free(struct cgroup_target *t);

/*
 * Samples the target now: re-expands a glob, (re)opens files only for matches that are new,
 * preads each file and sums the matches. Returns 0 and fills *ret (figures the files lack
 * stay no-data, and reason says why when one does), -ENOENT when nothing matched (the
 * target is gone; reason says so), or -errno. reason: CGROUP_ERROR_MAX bytes, always set
 * ("" when nothing is missing). Allocates only when the match set changes.
 */
int cgroup_target_sample(struct cgroup_target *t, char *reason, struct mem_sample *ret);

/*
 * Reads the limit file (v2 memory.max, v1 memory.limit_in_bytes) on one sample of every n
 * once it has been read cleanly; the samples between repeat the figure read then, so a
 * limit change shows within n samples. A cgroup whose files had to be reopened (removed and
 * recreated) reads it at once. n <= 1, the default, reads it on every sample.
 */
void cgroup_target_limit_every(struct cgroup_target *t, unsigned n);

/* Whether the last cgroup_target_sample() found nothing (false before the first). */
bool cgroup_target_gone(const struct cgroup_target *t);

/*
 * True when the last cgroup_target_sample() changed cgroup_target_gone(): the caller logs
 * "gone" or "back" once, on that tick only. The first sample counts as a change only when
 * the target is gone.
 */
bool cgroup_target_gone_changed(const struct cgroup_target *t);

/* Number of cgroups the last sample summed. */
size_t cgroup_target_matches(const struct cgroup_target *t);

/*
 * For benchmarks: copies up to max of the file descriptors the target holds open into
 * ret_fds (owned by the target). Returns how many there are (may exceed max).
 */
size_t cgroup_target_fds(const struct cgroup_target *t, int *ret_fds, size_t max);
