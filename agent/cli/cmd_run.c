/* SPDX-License-Identifier: MIT */
#include <getopt.h>
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
        "                      [--dry-run] [--trace FILE] [--debug]\n\n"
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
        "  --debug             log healthy ticks too\n\n"
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
        {},
};

static int parse(int argc, char **argv, struct loop_config *cfg, const char **files)
{
        int c;

        optind = 1;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case OPT_POLICY:
                        files[cfg->n_policy_files++] = optarg;
                        break;
                case OPT_POLICY_DIR:
                        cfg->policy_dir = optarg;
                        break;
                case OPT_STATE_DIR:
                        cfg->state_dir = optarg;
                        break;
                case OPT_SOCKET:
                        cfg->socket = optarg;
                        break;
                case OPT_LISTEN:
                        cfg->listen = strcmp(optarg, "none") ? optarg : NULL;
                        break;
                case OPT_CGROUP_ROOT:
                        cfg->cgroup_root = optarg;
                        break;
                case OPT_DRY_RUN:
                        cfg->dry_run = true;
                        break;
                case OPT_TRACE:
                        cfg->trace = optarg;
                        break;
                case OPT_DEBUG:
                        log_set_max_level(LOG_LEVEL_DEBUG);
                        break;
                default:
                        fprintf(stderr, "see 'oombreaker run --help'\n");
                        return -1;
                }
        }
        if (optind < argc) {
                fprintf(stderr,
                        "oombreaker run: unexpected argument '%s' (policies are given "
                        "with --policy FILE or --policy-dir DIR)\n",
                        argv[optind]);
                return -1;
        }
        if (cfg->n_policy_files == 0 && !cfg->policy_dir) {
                fprintf(stderr, "oombreaker run: no policies: give --policy FILE or "
                                "--policy-dir DIR\n");
                return -1;
        }
        return 0;
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

        if (cli_help_or_version(argc, argv, usage))
                return EXIT_OK;
        files = calloc((size_t)argc, sizeof(*files));
        if (!files)
                return EXIT_CONFIG;
        cfg.policy_files = files;
        raise_fd_limit();
        r = parse(argc, argv, &cfg, files) < 0 ? EXIT_CONFIG : loop_run(&cfg);
        free(files);
        return r;
}
