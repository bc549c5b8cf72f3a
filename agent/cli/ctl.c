/* SPDX-License-Identifier: MIT */
/* What status, wait, reset and promote share: options, the control socket, phases. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "control.h"
#include "ctl.h"
#include "report.h"
#include "units.h"
#include "util.h"

#define CTL_DURATION_MAX_MS (30ull * 24 * 3600 * 1000) /* --bake and --timeout */

static int parse_duration_opt(const char *cmd, const char *opt, const char *arg, uint64_t *ret)
{
        if (units_parse_duration(arg, ret) < 0) {
                fprintf(stderr,
                        "oombreaker %s: --%s: \"%s\" is not a duration (use 500ms, 5s, 2m)\n", cmd,
                        opt, arg);
                return -EINVAL;
        }
        if (*ret > CTL_DURATION_MAX_MS) {
                fprintf(stderr, "oombreaker %s: --%s: \"%s\" is longer than 30 days\n", cmd, opt,
                        arg);
                return -ERANGE;
        }
        return 0;
}

static int set_option(int id, const char *arg, void *userdata)
{
        struct ctl_opts *o = userdata;

        switch (id) {
        case CTL_OPT_SOCKET:
                o->socket = arg;
                return 0;
        case CTL_OPT_STATE_DIR:
                o->state_dir = arg;
                return 0;
        case CTL_OPT_JSON:
                o->json = true;
                return 0;
        case CTL_OPT_BAKE:
                return parse_duration_opt(o->cmd, "bake", arg, &o->bake_ms);
        case CTL_OPT_TIMEOUT:
                return parse_duration_opt(o->cmd, "timeout", arg, &o->timeout_ms);
        case CTL_OPT_REASON:
                o->reason = arg;
                return 0;
        case CTL_OPT_RELEASE:
                if (!release_valid(arg)) {
                        fprintf(stderr,
                                "oombreaker %s: --release: \"%s\" is not a release: use 1-64 "
                                "characters of A-Z a-z 0-9 . _ -\n",
                                o->cmd, arg);
                        return -EINVAL;
                }
                o->release = arg;
                return 0;
        }
        return -EINVAL;
}

int ctl_parse(int argc, char **argv, const char *usage, const struct option *options,
              bool batch_required, struct ctl_opts *ret)
{
        struct ctl_opts o = { .socket = CTL_SOCKET_DEFAULT, .state_dir = CTL_STATE_DIR_DEFAULT };
        int first;

        o.cmd = argv[0];
        first = cli_parse(argc, argv, usage, options, set_option, &o);
        if (first <= 0)
                return first;
        if (first < argc)
                o.batch = argv[first++];
        if (first < argc || (batch_required && !o.batch)) {
                fprintf(stderr, "oombreaker %s: %s (see 'oombreaker %s --help')\n", argv[0],
                        o.batch ? "too many arguments" : "missing BATCH", argv[0]);
                return -EINVAL;
        }
        *ret = o;
        return 1;
}

/* Sends {"cmd": cmd, "batch": batch}; prints why on failure. */
int ctl_call_within(const struct ctl_opts *o, const char *cmd, int timeout_ms, json_t **ret)
{
        json_t *req = json_pack("{s:s}", "cmd", cmd);
        int r;

        if (o->batch)
                json_object_set_new(req, "batch", json_string(o->batch));
        if (o->reason)
                json_object_set_new(req, "reason", json_string(o->reason));
        if (o->release)
                json_object_set_new(req, "release", json_string(o->release));
        r = control_call(o->socket, req, timeout_ms, ret);
        json_decref(req);
        return r;
}

int ctl_call(const struct ctl_opts *o, const char *cmd, json_t **ret)
{
        return ctl_call_within(o, cmd, CTL_CALL_TIMEOUT_MS, ret);
}

int ctl_call_error_exit(int r)
{
        return r == -EACCES || r == -EPERM || r == -EINVAL ? EXIT_CONFIG : EXIT_UNREACHABLE;
}

void ctl_explain_call_error(const char *cmd, const struct ctl_opts *o, int r)
{
        if (r == -ENOENT || r == -ECONNREFUSED)
                fprintf(stderr,
                        "oombreaker %s: no daemon answers on %s: is 'oombreaker run' (the "
                        "oombreaker service) running? Use --socket PATH for another socket.\n",
                        cmd, o->socket);
        else if (r == -EACCES || r == -EPERM)
                fprintf(stderr,
                        "oombreaker %s: permission denied on %s: run as root or as a member of "
                        "the socket's group.\n",
                        cmd, o->socket);
        else
                fprintf(stderr, "oombreaker %s: talking to %s failed: %s\n", cmd, o->socket,
                        strerror(-r));
}

const char *ctl_phase_of(json_t *batch)
{
        const char *p = json_string_value(json_object_get(batch, "phase"));

        return p ? p : "unknown";
}

int ctl_exit_code_for_phase(const char *phase)
{
        if (!strcmp(phase, "tripped") || !strcmp(phase, "rolled_back") || !strcmp(phase, "failed"))
                return EXIT_TRIPPED;
        if (!strcmp(phase, "inconclusive"))
                return EXIT_INCONCLUSIVE;
        return EXIT_OK;
}

void ctl_print_trip(json_t *trip)
{
        json_t *c;
        size_t i;

        if (!json_is_object(trip))
                return;
        printf("  trip: instance %s, rule %s, %lld/%lld in a row",
               json_string_value(json_object_get(trip, "instance")),
               json_string_value(json_object_get(trip, "rule")),
               json_integer_value(json_object_get(trip, "consecutive")),
               json_integer_value(json_object_get(trip, "limit")));
        json_array_foreach(json_object_get(trip, "conditions"), i, c)
        {
                const char *name = json_string_value(json_object_get(c, "metric"));
                int m = name ? metric_from_name(name) : -EINVAL;
                char value[48] = "no data", threshold[48];

                if (json_is_number(json_object_get(c, "value")))
                        metric_format_value(m, json_number_value(json_object_get(c, "value")),
                                            value, sizeof(value));
                metric_format_value(m, json_number_value(json_object_get(c, "threshold")),
                                    threshold, sizeof(threshold));
                printf("%s %s %s (threshold %s)", i ? "," : ":", name, value, threshold);
        }
        printf("\n");
}

int ctl_change_phase(int argc, char **argv, const char *usage, const struct option *options)
{
        static const struct option common[] = { CTL_OPTION_SOCKET, CTL_OPTION_STATE_DIR, {} };
        const char *release;
        json_t *resp = NULL;
        struct ctl_opts o;
        int r;

        r = ctl_parse(argc, argv, usage, options ? options : common, true, &o);
        if (r <= 0)
                return r == 0 ? EXIT_OK : EXIT_CONFIG;
        r = ctl_call(&o, argv[0], &resp);
        if (r < 0) {
                ctl_explain_call_error(argv[0], &o, r);
                return ctl_call_error_exit(r);
        }
        if (!json_is_true(json_object_get(resp, "ok"))) {
                fprintf(stderr, "oombreaker %s: %s\n", argv[0],
                        json_string_value(json_object_get(resp, "error")));
                json_decref(resp);
                return EXIT_CONFIG;
        }
        printf("%s: %s", o.batch, json_string_value(json_object_get(resp, "phase")));
        release = json_string_value(json_object_get(resp, "release"));
        if (release && !strcmp(argv[0], "reset"))
                printf(" (the next trip's keys: release %s, generation %lld)", release,
                       json_integer_value(json_object_get(resp, "generation")));
        printf("\n");
        json_decref(resp);
        return EXIT_OK;
}

json_t *ctl_state_file_json(const char *cmd, const char *dir, const char *batch)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *status = NULL;
        struct state *s = NULL;
        char why[256];
        size_t len;
        json_t *o = NULL;

        if (asprintf(&path, "%s/%s.json", dir, batch) < 0)
                return NULL;
        f = fopen(path, "re");
        if (!f) {
                if (cmd)
                        fprintf(stderr, "oombreaker %s: %s: %s\n", cmd, path, strerror(errno));
                return NULL;
        }
        text = malloc(STATE_FILE_MAX + 1);
        if (!text)
                return NULL;
        len = fread(text, 1, STATE_FILE_MAX + 1, f);
        if (len > STATE_FILE_MAX || state_parse(text, len, batch, &s, why, sizeof(why)) < 0) {
                if (cmd)
                        fprintf(stderr, "oombreaker %s: %s: corrupt state file: %s\n", cmd, path,
                                len > STATE_FILE_MAX ? "too large" : why);
                return NULL;
        }
        if (report_state_format(s, &status) >= 0)
                o = json_loads(status, 0, NULL);
        if (o)
                json_object_set_new(o, "source", json_string("state file"));
        state_free(s);
        return o;
}
