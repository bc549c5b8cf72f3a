/* SPDX-License-Identifier: MIT */
/* `oombreaker check FILE...`: validates policy files and prints one summary line per file. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "policy-load.h"
#include "units.h"
#include "util.h"

#define STDIN_NAME "<stdin>"

static const char usage[] =
        "Usage: oombreaker check FILE...\n\n"
        "Validates policy files (see docs/policy.md); FILE - reads one from stdin, named\n"
        "<stdin> in messages. Prints one summary line per valid file\n"
        "to stdout and every problem as FILE:LINE: message to stderr. A token_file that does\n"
        "not exist on this machine, or that this user may not open, is only a warning here;\n"
        "`run` refuses it. One that exists is judged (owner, mode, content) as `run` does.\n\n"
        "Exit codes: 0 every file is valid, 1 some file has errors.\n";

static const char *plural(size_t n, const char *one, const char *many)
{
        return n == 1 ? one : many;
}

static void print_summary(const struct policy *p)
{
        char interval[32];

        units_format_duration(p->interval_ms, interval, sizeof(interval));
        printf("%s: batch %s, %zu %s, %zu %s, %zu %s, every %s, trips after %u in a row%s\n",
               p->path, p->name, p->n_targets, plural(p->n_targets, "target", "targets"),
               p->n_rules, plural(p->n_rules, "rule", "rules"), p->n_actions,
               plural(p->n_actions, "action", "actions"), interval, p->consecutive,
               p->dry_run ? " (dry run)" : "");
}

/* Parses a policy from stdin (at most POLICY_FILE_MAX bytes); 0, -EINVAL, -EFBIG or -EIO. */
static int load_stdin(struct policy **ret, struct policy_diags *diags)
{
        _cleanup_free_ char *text = malloc(POLICY_FILE_MAX + 1);
        size_t len;

        if (!text)
                return -ENOMEM;
        len = fread(text, 1, POLICY_FILE_MAX + 1, stdin);
        if (ferror(stdin))
                return -EIO;
        if (len > POLICY_FILE_MAX)
                return -EFBIG;
        return policy_parse_text(text, len, STDIN_NAME, POLICY_LOAD_CHECK, ret, diags);
}

/* Checks one file ("-": stdin); returns 0 when it is valid. */
static int check_one(const char *path)
{
        struct policy_diags diags = { 0 };
        struct policy *p = NULL;
        int r;

        if (strcmp(path, "-") == 0) {
                path = STDIN_NAME;
                r = load_stdin(&p, &diags);
        } else {
                r = policy_load(path, POLICY_LOAD_CHECK, &p, &diags);
        }
        cli_print_policy_diags(&diags, path);
        if (r == 0)
                print_summary(p);
        else if (diags.n == 0)
                fprintf(stderr, "%s: cannot load: %s\n", path, strerror(-r));
        policy_diags_clear(&diags);
        policy_free(p);
        return r;
}

static int no_option(int id, const char *arg, void *userdata)
{
        (void)id, (void)arg, (void)userdata;
        return -EINVAL; /* unreachable: check has no options */
}

int cmd_check(int argc, char **argv)
{
        static const struct option options[] = { {} };
        bool failed = false;
        int first = cli_parse(argc, argv, usage, options, no_option, NULL);

        if (first <= 0)
                return first == 0 ? EXIT_OK : EXIT_CONFIG;
        if (first == argc) {
                fputs(usage, stderr);
                return EXIT_CONFIG;
        }
        for (int i = first; i < argc; i++)
                if (check_one(argv[i]) < 0)
                        failed = true;
        return failed ? EXIT_CONFIG : EXIT_OK;
}
