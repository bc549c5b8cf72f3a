/* SPDX-License-Identifier: MIT */
#pragma once

/* The pure parsers of cgroupfs memory files: buffer in, values out; no I/O (cgroup-parse.c). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sample.h"

/* v1 reports "no limit" as LONG_MAX rounded down to a page; anything this large is unlimited. */
#define CGROUP_UNLIMITED_MIN (UINT64_C(1) << 62)

enum cgroup_version {
        CGROUP_V1 = 1,
        CGROUP_V2 = 2,
        _CGROUP_VERSION_MAX,
};

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
 * -ERANGE for a malformed line or a duplicated wanted key (then *m is untouched). Lines after
 * the one that completes both keys are not read.
 */
int cgroup_parse_stat(const char *buf, size_t len, enum cgroup_version v, struct mem_sample *m);

/*
 * The "oom_kill N" line of v2 memory.events or v1 memory.oom_control. Returns 0, -ENODATA
 * when the line is missing (v1 before Linux 4.13), -EINVAL, -ERANGE.
 */
int cgroup_parse_oom_kill(const char *buf, size_t len, uint64_t *ret);

/*
 * memory.pressure ("some avg10=.. avg60=.. avg300=.. total=..", then "full ..."): sets, for
 * each line found, has_psi_some / has_psi_full, its avg10 percentage and its total (µs) in
 * *m. Each line stands alone: a file with only "some" still yields the "some" figures.
 * Returns 0, -ENODATA (neither line), -EINVAL, -ERANGE; *m untouched on error.
 */
int cgroup_parse_psi(const char *buf, size_t len, struct mem_sample *m);

/*
 * Adds the figures of m (another cgroup of the same glob) to acc, saturating. A figure stays
 * only when both have it; an unlimited max makes the sum unlimited; PSI averages take the
 * worse of the two (stall percentages do not add up) while PSI totals add.
 */
void cgroup_sample_add(struct mem_sample *acc, const struct mem_sample *m);
