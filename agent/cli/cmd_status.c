/* SPDX-License-Identifier: MIT */
/*
 * `oombreaker status [BATCH]`: each batch's verdict, streaks, last values and trip reason,
 * from the running daemon, or from the state files when none answers.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "ctl.h"
#include "json-number.h"
#include "policy.h"
#include "report.h"
#include "state.h"
#include "util.h"

/* An instance's figure of metric m in status JSON, or NULL. */
static json_t *figure(json_t *in, enum cond_metric m)
{
        json_t *v = json_object_get(in, metric_get(m)->status_key);

        return json_is_number(v) ? v : NULL;
}

/* " limit in 42s", " at the limit", or why there is no prediction: " limit: warming up". */
static void print_forecast(json_t *in)
{
        json_t *v = figure(in, COND_TIME_TO_LIMIT);
        const char *state = json_string_value(json_object_get(in, "forecast"));
        char when[32];

        if (v && json_number_value(v) <= 0) {
                printf(" at the limit");
        } else if (v) {
                /* to the second: the forecast is no more precise than that */
                metric_format_value(COND_TIME_TO_LIMIT, 1000.0 * round(json_number_value(v) / 1000),
                                    when, sizeof(when));
                printf(" limit in %s", when);
        } else if (state) {
                printf(" limit: %s", state);
        }
}

static void print_instance(json_t *in)
{
        json_t *st, *v;
        size_t i;

        printf("  %-16s", json_string_value(json_object_get(in, "instance")));
        if ((v = figure(in, COND_MEMORY_RATIO)))
                printf(" memory %.1f%%", 100.0 * json_number_value(v));
        if ((v = figure(in, COND_MEMORY_BYTES))) {
                char size[32];

                metric_format_value(COND_MEMORY_BYTES, json_number_value(v), size, sizeof(size));
                printf(" (%s)", size);
        }
        if ((v = figure(in, COND_GC_PER_MINUTE)))
                printf(" gc/min %.1f", json_number_value(v));
        print_forecast(in);
        json_array_foreach(json_object_get(in, "streaks"), i, st)
        {
                printf("%s %s %lld/%lld",
                       i ? "," : "  streaks:", json_string_value(json_object_get(st, "rule")),
                       json_integer_value(json_object_get(st, "streak")),
                       json_integer_value(json_object_get(st, "limit")));
        }
        if ((v = json_object_get(in, "error")) && json_is_string(v))
                printf("  no data: %s", json_string_value(v));
        printf("\n");
}

static void print_batch(json_t *b)
{
        json_t *x;
        size_t i;

        printf("%s: %s%s\n", json_string_value(json_object_get(b, "batch")), ctl_phase_of(b),
               json_is_true(json_object_get(b, "dry_run")) ? " (dry run)" : "");
        if ((x = json_object_get(b, "events_error")) && json_is_string(x))
                printf("  polling (no kernel events): %s\n", json_string_value(x));
        ctl_print_trip(json_object_get(b, "trip"));
        json_array_foreach(json_object_get(b, "instances"), i, x) print_instance(x);
        json_array_foreach(json_object_get(b, "actions"), i, x)
        {
                json_t *res = json_object_get(x, "result");

                printf("  action %s: %s, %lld attempt(s)%s%s\n",
                       json_string_value(json_object_get(x, "action")),
                       json_string_value(json_object_get(x, "status")),
                       json_integer_value(json_object_get(x, "attempts")), res ? ", " : "",
                       res ? json_string_value(res) : "");
        }
}

static int add_state_dir(const char *dir, json_t *batches)
{
        struct dirent *de;
        DIR *d = opendir(dir);

        if (!d) {
                int r = -errno; /* before printing, which may change errno */

                fprintf(stderr, "oombreaker status: cannot read %s: %s\n", dir, strerror(-r));
                return r;
        }
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);
                char name[POLICY_NAME_MAX + 1];
                json_t *o;

                if (n <= 5 || n - 5 > POLICY_NAME_MAX || strcmp(de->d_name + n - 5, ".json"))
                        continue;
                memcpy(name, de->d_name, n - 5);
                name[n - 5] = '\0';
                if (state_name_valid(name) && (o = ctl_state_file_json("status", dir, name)))
                        json_array_append_new(batches, o);
        }
        closedir(d);
        return 0;
}

static int status_from_state_dir(const char *state_dir, const char *batch, json_t **ret_batches)
{
        json_t *batches = json_array(), *o;

        if (!batches)
                return -ENOMEM;
        if (batch) {
                o = state_name_valid(batch) ? ctl_state_file_json("status", state_dir, batch)
                                            : NULL;
                if (!o) {
                        json_decref(batches);
                        return -ENOENT;
                }
                json_array_append_new(batches, o);
        } else if (add_state_dir(state_dir, batches) < 0) {
                json_decref(batches);
                return -EIO;
        }
        *ret_batches = batches;
        return 0;
}

/* Policy files that did not load, as FILE:LINE: message; nothing when there are none. */
static void print_policy_errors(json_t *errors)
{
        json_t *e;
        size_t i;

        if (json_array_size(errors))
                printf("policy files that did not load (a batch keeps its previous policy):\n");
        json_array_foreach(errors, i, e)
        {
                if (json_is_string(e))
                        printf("  %s\n", json_string_value(e));
        }
}

/* Prints doc, {"batches":[...]} and, from a daemon, its "policy_errors" and "agent_run":
 * with --json and a BATCH, that batch's object, else doc itself (docs/json.md). */
static int print_status(json_t *doc, const struct ctl_opts *o)
{
        json_t *batches = json_object_get(doc, "batches"), *b;
        size_t i;
        int code = EXIT_OK;

        if (json_array_size(batches) == 0 && !o->json)
                printf("no batches\n");
        if (o->json) {
                json_t *out = o->batch && json_array_size(batches) == 1
                                      ? json_deep_copy(json_array_get(batches, 0))
                                      : json_deep_copy(doc);

                /* Every JSON output starts with its schema (docs/json.md). */
                json_object_update_new(out, json_pack("{s:i}", "schema", JSON_SCHEMA));

                json_dumpf(out, stdout, JSON_COMPACT);
                printf("\n");
                json_decref(out);
        }
        json_array_foreach(batches, i, b)
        {
                int c = ctl_exit_code_for_phase(ctl_phase_of(b));

                if (!o->json)
                        print_batch(b);
                if (c == EXIT_TRIPPED || (c == EXIT_INCONCLUSIVE && code == EXIT_OK))
                        code = c;
        }
        if (!o->json)
                print_policy_errors(json_object_get(doc, "policy_errors"));
        return code;
}

static const char status_usage[] =
        "Usage: oombreaker status [BATCH] [--json] [--socket PATH] [--state-dir DIR]\n\n"
        "Prints each batch's verdict, streaks, last values and trip reason, from the running\n"
        "daemon, or from the state files when no daemon answers; then the policy files the\n"
        "daemon could not load, as FILE:LINE: message.\n\n"
        "  --json            one JSON object: the batch, or all of them and the policy\n"
        "                    errors (docs/json.md)\n"
        "  --socket PATH     the daemon's control socket (default " CTL_SOCKET_DEFAULT ")\n"
        "  --state-dir DIR   state files (default " CTL_STATE_DIR_DEFAULT ")\n\n"
        "Exit codes: 0 healthy, 1 error, 2 tripped or failed, 3 inconclusive.\n";

int cmd_status(int argc, char **argv)
{
        static const struct option options[] = {
                CTL_OPTION_SOCKET,
                CTL_OPTION_STATE_DIR,
                { "json", no_argument, NULL, CTL_OPT_JSON },
                {},
        };
        json_t *resp = NULL, *batches, *doc;
        struct ctl_opts o;
        int r, code;

        r = ctl_parse(argc, argv, status_usage, options, false, &o);
        if (r <= 0)
                return r == 0 ? EXIT_OK : EXIT_CONFIG;
        r = ctl_call(&o, "status", &resp);
        if (r == -ENOENT || r == -ECONNREFUSED) {
                fprintf(stderr, "oombreaker status: no daemon answers on %s; reading %s\n",
                        o.socket, o.state_dir);
                r = status_from_state_dir(o.state_dir, o.batch, &batches);
                if (r < 0)
                        return EXIT_UNREACHABLE; /* neither the daemon nor its files */
                doc = json_pack("{s:o}", "batches", batches);
                if (!doc)
                        return EXIT_CONFIG;
        } else if (r < 0) {
                ctl_explain_call_error("status", &o, r);
                return ctl_call_error_exit(r);
        } else if (!json_is_true(json_object_get(resp, "ok"))) {
                fprintf(stderr, "oombreaker status: %s\n",
                        json_string_value(json_object_get(resp, "error")));
                json_decref(resp);
                return EXIT_CONFIG;
        } else {
                doc = resp;
                json_object_del(doc, "ok");
        }
        code = print_status(doc, &o);
        json_decref(doc);
        return code;
}
