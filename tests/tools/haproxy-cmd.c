/* SPDX-License-Identifier: MIT */
/*
 * haproxy-cmd: drives agent/io/haproxy.c from the command line, for integration tests and the
 * demo (tests/lib/haproxy.sh).
 *
 *   haproxy-cmd (--socket PATH | --address IP:PORT) [--timeout MS] set B/S maint|drain|weight0
 *   haproxy-cmd (--socket PATH | --address IP:PORT) [--timeout MS] state B/S
 *   haproxy-cmd (--socket PATH | --address IP:PORT) [--timeout MS] raw [--expect-empty] CMD
 *
 * `set` prints nothing on success; `state` prints "MAINT|DRAIN|READY 0x<admin> <op>";
 * `raw` prints the reply. Failures print "haproxy-cmd: <reason>" to stderr and exit 1;
 * usage errors exit 2.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haproxy.h"

#define REPLY_MAX (256 * 1024)

struct options {
        struct haproxy_target target;
        unsigned long timeout_ms;
        bool expect_empty;
};

static int usage(void)
{
        fprintf(stderr, "usage: haproxy-cmd (--socket PATH | --address IP:PORT) [--timeout MS]\n"
                        "         set B/S maint|drain|weight0 | state B/S | "
                        "raw [--expect-empty] CMD\n");
        return 2;
}

static int run(const struct options *o, const char *command, bool expect_empty, char *reply)
{
        char reason[HAPROXY_REASON_MAX];
        int r;

        r = haproxy_command_sync(
                &o->target, command, expect_empty ? HAPROXY_EXPECT_EMPTY : HAPROXY_EXPECT_ANY,
                o->timeout_ms, reply, reply ? REPLY_MAX : 0, reason, sizeof(reason));
        if (r == -EINVAL)
                fprintf(stderr, "haproxy-cmd: invalid target or command\n");
        else if (r < 0)
                fprintf(stderr, "haproxy-cmd: %s\n", reason);
        return r;
}

static int cmd_set(const struct options *o, const char *server, const char *state)
{
        static const char *const names[_HAPROXY_STATE_MAX] = {
                [HAPROXY_STATE_MAINT] = "maint",
                [HAPROXY_STATE_DRAIN] = "drain",
                [HAPROXY_STATE_WEIGHT0] = "weight0",
        };
        char command[HAPROXY_COMMAND_MAX + 1];

        for (int s = 0; s < _HAPROXY_STATE_MAX; s++) {
                if (strcmp(state, names[s]) != 0)
                        continue;
                if (haproxy_format_command(s, server, command, sizeof(command)) < 0)
                        return usage();
                return run(o, command, true, NULL) < 0 ? 1 : 0;
        }
        return usage();
}

static int cmd_state(const struct options *o, const char *server)
{
        char command[HAPROXY_COMMAND_MAX + 32], backend[HAPROXY_COMMAND_MAX + 1];
        const char *slash = strchr(server, '/');
        static char reply[REPLY_MAX];
        unsigned admin, op;
        int r;

        if (!haproxy_server_valid(server))
                return usage();
        snprintf(backend, sizeof(backend), "%.*s", (int)(slash - server), server);
        snprintf(command, sizeof(command), "show servers state %s", backend);
        if (run(o, command, false, reply) < 0)
                return 1;
        r = haproxy_parse_server_state(reply, backend, slash + 1, &admin, &op);
        if (r < 0) {
                fprintf(stderr, "haproxy-cmd: %s not in the reply: %s\n", server,
                        r == -ENOENT ? "not listed" : reply);
                return 1;
        }
        printf("%s 0x%02x %u\n", haproxy_admin_state_name(admin), admin, op);
        return 0;
}

static int cmd_raw(const struct options *o, int argc, char **argv)
{
        static char reply[REPLY_MAX];
        bool expect_empty = false;

        if (argc > 0 && strcmp(argv[0], "--expect-empty") == 0) {
                expect_empty = true;
                argc--, argv++;
        }
        if (argc != 1)
                return usage();
        if (run(o, argv[0], expect_empty, reply) < 0)
                return 1;
        if (!expect_empty) /* else the reply is blank */
                fputs(reply, stdout);
        return 0;
}

int main(int argc, char **argv)
{
        static const struct option longopts[] = {
                { "socket", required_argument, NULL, 's' },
                { "address", required_argument, NULL, 'a' },
                { "timeout", required_argument, NULL, 't' },
                {},
        };
        struct options o = { .timeout_ms = 5000 };
        int c;

        while ((c = getopt_long(argc, argv, "+s:a:t:", longopts, NULL)) >= 0) {
                if (c == 's')
                        o.target.socket = optarg;
                else if (c == 'a')
                        o.target.address = optarg;
                else if (c == 't')
                        o.timeout_ms = strtoul(optarg, NULL, 10);
                else
                        return usage();
        }
        argc -= optind;
        argv += optind;
        if (argc == 3 && strcmp(argv[0], "set") == 0)
                return cmd_set(&o, argv[1], argv[2]);
        if (argc == 2 && strcmp(argv[0], "state") == 0)
                return cmd_state(&o, argv[1]);
        if (argc >= 1 && strcmp(argv[0], "raw") == 0)
                return cmd_raw(&o, argc - 1, argv + 1);
        return usage();
}
