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

#include "sample.h"

#define CGROUP_FILE_MAX    16384 /* larger cgroupfs files are refused (-EFBIG) */
#define CGROUP_MATCHES_MAX 1024  /* cgroups one glob may sum; further matches are ignored */
#define CGROUP_PATH_MAX    1024  /* longest target path or glob, and longest match */
#define CGROUP_ERROR_MAX   512   /* size of the error text buffers below */

/* v1 reports "no limit" as LONG_MAX rounded down to a page; anything this large is unlimited. */
#define CGROUP_UNLIMITED_MIN (UINT64_C(1) << 62)

enum cgroup_version {
        CGROUP_V1 = 1,
        CGROUP_V2 = 2,
        _CGROUP_VERSION_MAX,
};

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

/* ---- Pure parsers (cgroup-parse.c): buffer in, values out; no I/O. ---- */

/* A single decimal counter ("123\n"). Returns 0, -EINVAL (empty, sign, garbage), -ERANGE. */
int cgroup_parse_u64(const char *buf, size_t len, uint64_t *ret);

/*
 * memory.max / memory.limit_in_bytes: "max" or a byte count. ret_unlimited is set for "max"
 * and for counts >= CGROUP_UNLIMITED_MIN (v1's no-limit value). Returns 0, -EINVAL, -ERANGE.
 */
int cgroup_parse_limit(const char *buf, size_t len, bool *ret_unlimited, uint64_t *ret_bytes);

/*
 * memory.stat, by key never by position: v2 "inactive_file" and "anon", v1
 * "total_inactive_file" and "total_rss". Sets the has_* flags of the keys found in *m and
 * leaves the rest of *m alone. Returns 0 (also when keys are missing), or -EINVAL /
 * -ERANGE for a malformed line or a duplicated wanted key (then *m is untouched).
 */
int cgroup_parse_stat(const char *buf, size_t len, enum cgroup_version v, struct mem_sample *m);

/*
 * The "oom_kill N" line of v2 memory.events or v1 memory.oom_control. Returns 0, -ENODATA
 * when the line is missing (v1 before Linux 4.13), -EINVAL, -ERANGE.
 */
int cgroup_parse_oom_kill(const char *buf, size_t len, uint64_t *ret);

/*
 * memory.pressure ("some avg10=.. avg60=.. avg300=.. total=..", then "full ..."): sets
 * has_psi, the avg10 percentages and the totals (µs) in *m. Both lines are required.
 * Returns 0, -ENODATA (a line missing), -EINVAL, -ERANGE; *m untouched on error.
 */
int cgroup_parse_psi(const char *buf, size_t len, struct mem_sample *m);

/*
 * Adds the figures of m (another cgroup of the same glob) to acc, saturating. A figure stays
 * only when both have it; an unlimited max makes the sum unlimited; PSI averages take the
 * worse of the two (stall percentages do not add up) while PSI totals add.
 */
void cgroup_sample_add(struct mem_sample *acc, const struct mem_sample *m);
