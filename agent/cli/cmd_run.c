/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cli.h"
#include "commands.h"
#include "log.h"
#include "loop.h"
#include "state.h"

#define RUN_SOCKET_DEFAULT "/run/oombreaker/control.sock"
#define RUN_LISTEN_DEFAULT "127.0.0.1:9782"

static const char usage[] =
        "Usage: oombreaker run [--policy FILE]... [--policy-dir DIR] [--state-dir DIR]\n"
        "                      [--socket PATH] [--listen ADDR:PORT|none] [--cgroup-root DIR]\n"
        "                      [--dry-run] [--trace FILE] [--debug]\n"
        "                      [--log-format auto|text|json]\n\n"
        "The agent: samples every batch's targets each interval, evaluates its rules, and\n"
        "when a rule breaches N times in a row cuts traffic and rolls back, exactly once.\n\n"
        "  --policy FILE       a batch policy (repeatable; an invalid one stops the start)\n"
        "  --policy-dir DIR    every *.ini in DIR (an invalid one is logged and skipped)\n"
        "  --state-dir DIR     state files (default " STATE_DIR_DEFAULT ")\n"
        "  --socket PATH       control socket (default " RUN_SOCKET_DEFAULT ")\n"
        "  --listen ADDR:PORT  /metrics, /status, /healthz (default " RUN_LISTEN_DEFAULT
        "; none: off)\n"
        "  --cgroup-root DIR   the memory cgroup root, bypassing discovery\n"
        "  --dry-run           evaluate and report, never act\n"
        "  --trace FILE        append one JSON line per instance per tick (for replay)\n"
        "  --debug             log healthy ticks too\n"
        "  --log-format FMT    auto (the journal's native fields when stderr is the journal,\n"
        "                      else text), text, or json (one object a line)\n\n"
        "Signals: SIGHUP reloads the policies, SIGTERM and SIGINT stop cleanly.\n";

enum {
        OPT_POLICY = 0x100,
        OPT_POLICY_DIR,
        OPT_STATE_DIR,
        OPT_SOCKET,
        OPT_LISTEN,
        OPT_CGROUP_ROOT,
        OPT_DRY_RUN,
        OPT_TRACE,
        OPT_DEBUG,
        OPT_LOG_FORMAT,
};

static const struct option options[] = {
        { "policy", required_argument, NULL, OPT_POLICY },
        { "policy-dir", required_argument, NULL, OPT_POLICY_DIR },
        { "state-dir", required_argument, NULL, OPT_STATE_DIR },
        { "socket", required_argument, NULL, OPT_SOCKET },
        { "listen", required_argument, NULL, OPT_LISTEN },
        { "cgroup-root", required_argument, NULL, OPT_CGROUP_ROOT },
        { "dry-run", no_argument, NULL, OPT_DRY_RUN },
        { "trace", required_argument, NULL, OPT_TRACE },
        { "debug", no_argument, NULL, OPT_DEBUG },
        { "log-format", required_argument, NULL, OPT_LOG_FORMAT },
        {},
};

struct run_args {
        struct loop_config *cfg;
        const char **files; /* argc entries: room for every --policy */
};

static int set_option(int id, const char *arg, void *userdata)
{
        struct run_args *a = userdata;
        struct loop_config *cfg = a->cfg;

        switch (id) {
        case OPT_POLICY:
                a->files[cfg->n_policy_files++] = arg;
                break;
        case OPT_POLICY_DIR:
                cfg->policy_dir = arg;
                break;
        case OPT_STATE_DIR:
                cfg->state_dir = arg;
                break;
        case OPT_SOCKET:
                cfg->socket = arg;
                break;
        case OPT_LISTEN:
                cfg->listen = strcmp(arg, "none") ? arg : NULL;
                break;
        case OPT_CGROUP_ROOT:
                cfg->cgroup_root = arg;
                break;
        case OPT_DRY_RUN:
                cfg->dry_run = true;
                break;
        case OPT_TRACE:
                cfg->trace = arg;
                break;
        case OPT_DEBUG:
                log_set_max_level(LOG_LEVEL_DEBUG);
                break;
        case OPT_LOG_FORMAT:
                if (log_format_from_string(arg) < 0) {
                        fprintf(stderr,
                                "oombreaker run: --log-format: \"%s\" is not auto, text "
                                "or json\n",
                                arg);
                        return -EINVAL;
                }
                log_set_format(log_format_from_string(arg));
                break;
        }
        return 0;
}

/* Returns 1 to go on, 0 when --help or --version was answered, or -EINVAL. */
static int parse(int argc, char **argv, struct loop_config *cfg, const char **files)
{
        struct run_args a = { .cfg = cfg, .files = files };
        int first = cli_parse(argc, argv, usage, options, set_option, &a);

        if (first <= 0)
                return first;
        if (first < argc) {
                fprintf(stderr,
                        "oombreaker run: unexpected argument '%s' (policies are given "
                        "with --policy FILE or --policy-dir DIR)\n",
                        argv[first]);
                return -EINVAL;
        }
        if (cfg->n_policy_files == 0 && !cfg->policy_dir) {
                fprintf(stderr, "oombreaker run: no policies: give --policy FILE or "
                                "--policy-dir DIR\n");
                return -EINVAL;
        }
        return 1;
}

/* Each sampled cgroup keeps 6 files open: lift the soft fd limit to the hard one. */
static void raise_fd_limit(void)
{
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                        log_warning("cannot raise the open-file limit: %m");
        }
}

int cmd_run(int argc, char **argv)
{
        struct loop_config cfg = { .state_dir = STATE_DIR_DEFAULT,
                                   .socket = RUN_SOCKET_DEFAULT,
                                   .listen = RUN_LISTEN_DEFAULT };
        const char **files;
        int r;

        files = calloc((size_t)argc, sizeof(*files));
        if (!files)
                return EXIT_CONFIG;
        cfg.policy_files = files;
        r = parse(argc, argv, &cfg, files);
        if (r > 0) {
                raise_fd_limit();
                r = loop_run(&cfg);
        } else {
                r = r == 0 ? EXIT_OK : EXIT_CONFIG;
        }
        free(files);
        return r;
}
