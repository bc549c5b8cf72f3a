/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared between cgroup.c (discovery) and cgroup-target.c (sampling); not a public API. */

#include <limits.h>

#include "cgroup.h"

struct cgroup_hierarchy {
        enum cgroup_version version;
        int root_fd;   /* O_PATH directory of the memory root */
        int psi_fd;    /* O_PATH directory of the cgroup2 root for memory.pressure, or -1 */
        bool cgroupfs; /* false for fixture trees: plain files never fail with ENODEV */
        char root[PATH_MAX];
        char psi_root[PATH_MAX];
};
