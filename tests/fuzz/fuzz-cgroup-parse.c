/* SPDX-License-Identifier: MIT */
/* libFuzzer target: any bytes through every cgroupfs parser, as both versions. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cgroup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *buf = (const char *)data;
        struct mem_sample m = { 0 };
        bool unlimited;
        uint64_t v;

        if (size > CGROUP_FILE_MAX)
                return 0;
        (void)cgroup_parse_u64(buf, size, &v);
        if (cgroup_parse_limit(buf, size, &unlimited, &v) == 0 && unlimited && v != 0)
                abort(); /* "no limit" never carries a byte count */
        (void)cgroup_parse_stat(buf, size, CGROUP_V1, &m);
        (void)cgroup_parse_stat(buf, size, CGROUP_V2, &m);
        (void)cgroup_parse_oom_kill(buf, size, &v);
        if (cgroup_parse_psi(buf, size, &m) == 0 &&
            !(m.psi_some_avg10_pct >= 0 && m.psi_some_avg10_pct <= 100 &&
              m.psi_full_avg10_pct >= 0 && m.psi_full_avg10_pct <= 100))
                abort(); /* averages are percentages */
        return 0;
}
