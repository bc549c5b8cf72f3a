/* SPDX-License-Identifier: MIT */
/* Registering cgroup event sources: v1 OOM eventfds, v2 notify files, PSI triggers. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/magic.h>

#include "events-internal.h"
#include "util.h"

/* Opens dir/file with flags; on failure returns -errno with the reason written. */
static int open_in(const char *dir, const char *file, int flags, char *reason)
{
        _cleanup_close_ int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        int fd;

        if (dfd < 0)
                return events_fail(reason, -errno, "%s: %s", dir, strerror(errno));
        fd = openat(dfd, file, flags | O_CLOEXEC);
        if (fd < 0)
                return events_fail(reason, -errno, "%s/%s: %s", dir, file, strerror(errno));
        return fd;
}

static int check_fs(int fd, long magic, const char *dir, const char *file, char *reason)
{
        int r = events_check_fs(fd, magic);

        if (r == -EMEDIUMTYPE)
                return events_fail(reason, r, "%s/%s is not on a %s filesystem (no events)", dir,
                                   file, magic == CGROUP2_SUPER_MAGIC ? "cgroup2" : "cgroup v1");
        if (r < 0)
                return events_fail(reason, r, "%s/%s: statfs: %s", dir, file, strerror(-r));
        return 0;
}

static void source_set(struct events_source *ret, enum events_kind kind, int fd, short ev,
                       uint64_t cookie)
{
        *ret = (struct events_source){
                .kind = kind, .fd = fd, .poll_events = ev, .cookie = cookie
        };
}

/* Writes "<efd> <cfd>" to cgroup.event_control; the kernel keeps no reference to cfd. */
static int register_v1(const char *dir, int efd, int cfd, char *reason)
{
        _cleanup_close_ int ctl = open_in(dir, "cgroup.event_control", O_WRONLY, reason);
        char line[32];
        int n;

        if (ctl < 0)
                return ctl;
        n = snprintf(line, sizeof(line), "%d %d", efd, cfd);
        if (write(ctl, line, (size_t)n) != n)
                return events_fail(reason, -errno,
                                   "%s/cgroup.event_control: registering the "
                                   "OOM eventfd: %s",
                                   dir, strerror(errno));
        return 0;
}

int events_v1_oom_open(const char *cgroup_dir, uint64_t cookie, char *reason,
                       struct events_source *ret)
{
        _cleanup_close_ int cfd = open_in(cgroup_dir, "memory.oom_control", O_RDONLY, reason);
        _cleanup_close_ int efd = -1;
        int r;

        if (cfd < 0)
                return cfd;
        r = check_fs(cfd, CGROUP_SUPER_MAGIC, cgroup_dir, "memory.oom_control", reason);
        if (r < 0)
                return r;
        efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (efd < 0)
                return events_fail(reason, -errno, "eventfd: %s", strerror(errno));
        r = register_v1(cgroup_dir, efd, cfd, reason);
        if (r < 0)
                return r;
        source_set(ret, EVENTS_V1_OOM, TAKE_FD(efd), POLLIN, cookie);
        return 0;
}

int events_v2_notify_open(const char *cgroup_dir, const char *file, uint64_t cookie, char *reason,
                          struct events_source *ret)
{
        _cleanup_close_ int fd = open_in(cgroup_dir, file, O_RDONLY | O_NONBLOCK, reason);
        char buf[512];
        int r;

        if (fd < 0)
                return fd;
        r = check_fs(fd, CGROUP2_SUPER_MAGIC, cgroup_dir, file, reason);
        if (r < 0)
                return r;
        /* A fresh kernfs fd reports POLLPRI until it has read the file once: arm it. */
        if (pread(fd, buf, sizeof(buf), 0) < 0)
                return events_fail(reason, -errno, "%s/%s: %s", cgroup_dir, file, strerror(errno));
        source_set(ret, EVENTS_V2_NOTIFY, TAKE_FD(fd), POLLPRI, cookie);
        return 0;
}

static int psi_refused(const char *dir, const char *text, int r, char *reason)
{
        const char *why = r == -EINVAL       ? " (a window that is not a multiple of 2 s needs "
                                               "CAP_SYS_RESOURCE)"
                          : r == -EOPNOTSUPP ? " (PSI is disabled: boot with psi=1)"
                                             : "";

        return events_fail(reason, r, "%s/memory.pressure: trigger \"%s\" refused: %s%s", dir, text,
                           strerror(-r), why);
}

int events_psi_open(const char *cgroup_dir, const struct psi_trigger *t, uint64_t cookie,
                    char *reason, struct events_source *ret)
{
        _cleanup_close_ int fd = -1;
        char text[PSI_TRIGGER_TEXT_MAX];
        int n, r;

        n = psi_trigger_format(t, text, sizeof(text));
        if (n < 0)
                return events_fail(reason, n, "invalid PSI trigger");
        fd = open_in(cgroup_dir, "memory.pressure", O_RDWR | O_NONBLOCK, reason);
        if (fd < 0)
                return fd;
        r = check_fs(fd, CGROUP2_SUPER_MAGIC, cgroup_dir, "memory.pressure", reason);
        if (r < 0)
                return r;
        /* n counts the NUL: the kernel replaces the buffer's last byte with one. */
        if (write(fd, text, (size_t)n) != n)
                return psi_refused(cgroup_dir, text, -errno, reason);
        source_set(ret, EVENTS_PSI, TAKE_FD(fd), POLLPRI, cookie);
        return 0;
}

bool events_psi_privileged(void)
{
        struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { 0 };

        if (syscall(SYS_capget, &hdr, data) < 0)
                return false;
        return data[CAP_TO_INDEX(CAP_SYS_RESOURCE)].effective & CAP_TO_MASK(CAP_SYS_RESOURCE);
}
