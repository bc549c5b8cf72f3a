/* SPDX-License-Identifier: MIT */
/* Checks that need the whole policy file: required keys, sections, cross-references. */
#include <inttypes.h>
#include <string.h>

#include "forecast.h"
#include "policy-keys.h"
#include "units.h"
#include "util.h"

static bool key_bad(const struct parsed_section *s, const char *key)
{
        const struct key_def *t = policy_keys_table(s->kind);

        for (size_t i = 0; t && t[i].name; i++)
                if (strcmp(t[i].name, key) == 0)
                        return s->bad_keys & (1u << i);
        return false;
}

static void check_batch(struct policy_parser *ps, const struct parsed_section *s)
{
        if (!parser_key_line(s, "name"))
                parser_diag(ps, s->line, false,
                            "name: required key missing in [batch] (use name = v1.0.1-a)");
}

/* A promql target: no cgroup keys, and the server to ask. */
static void check_promql_target(struct policy_parser *ps, const struct parsed_section *s)
{
        static const char *const local[] = { "cgroup", "unit", "cgroup_root" };
        struct policy_target *t = &ps->p->targets[s->index];

        t->source = TARGET_SOURCE_PROMQL;
        for (size_t i = 0; i < ELEMENTSOF(local); i++)
                if (parser_key_line(s, local[i]))
                        parser_diag(ps, parser_key_line(s, local[i]), false,
                                    "%s: [target %s] takes its figures from promql (line %d), not "
                                    "from a cgroup (use one of them)",
                                    local[i], t->name, parser_key_line(s, "promql"));
        if (!parser_key_line(s, "prometheus"))
                parser_diag(ps, s->line, false,
                            "prometheus: required key missing in [target %s] (promql needs the "
                            "server, e.g. prometheus = http://127.0.0.1:9090)",
                            t->name);
}

static void check_target(struct policy_parser *ps, const struct parsed_section *s)
{
        static const char *const promql_only[] = { "prometheus", "promql_limit" };
        const struct policy_target *t = &ps->p->targets[s->index];
        int cgroup = parser_key_line(s, "cgroup"), unit = parser_key_line(s, "unit");

        if (parser_key_line(s, "promql")) {
                check_promql_target(ps, s);
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(promql_only); i++)
                if (parser_key_line(s, promql_only[i]))
                        parser_diag(ps, parser_key_line(s, promql_only[i]), false,
                                    "%s: only for a promql target, and [target %s] has no promql "
                                    "(add promql = EXPR, or remove it)",
                                    promql_only[i], t->name);
        if (!cgroup && !unit)
                parser_diag(ps, s->line, false,
                            "cgroup: required key missing in [target %s] (set cgroup, unit or "
                            "promql)",
                            t->name);
        else if (cgroup && unit)
                parser_diag(ps, cgroup > unit ? cgroup : unit, false,
                            "%s: [target %s] has both cgroup and unit (use one of them)",
                            cgroup > unit ? "cgroup" : "unit", t->name);
}

static void check_rule(struct policy_parser *ps, const struct parsed_section *s)
{
        const struct key_def *t = policy_keys_table(SECTION_RULE);
        char keys[400];
        size_t len = 0;

        for (size_t i = 0; t[i].name; i++)
                if ((t[i].flags & KEY_COND) && s->key_line[i])
                        return;
        for (int m = 0; m < _COND_MAX && len < sizeof(keys); m++)
                len += (size_t)snprintf(keys + len, sizeof(keys) - len, "%s%s",
                                        m == 0              ? ""
                                        : m + 1 < _COND_MAX ? ", "
                                                            : " or ",
                                        cond_metric_key(m));
        parser_diag(ps, s->line, false, "[rule %s] has no condition (use %s)",
                    ps->p->rules[s->index].name, keys);
}

/* Keys of the other action type are errors at their own line. */
static void check_action_keys(struct policy_parser *ps, const struct parsed_section *s,
                              enum action_type type)
{
        const struct key_def *t = policy_keys_table(SECTION_ACTION);
        unsigned other = type == ACTION_HTTP ? KEY_HAPROXY : KEY_HTTP;
        const char *name = ps->p->actions[s->index].name;

        for (size_t i = 0; t[i].name; i++)
                if ((t[i].flags & other) && s->key_line[i])
                        parser_diag(ps, s->key_line[i], false,
                                    "%s: not a key of [action %s], which has type = %s", t[i].name,
                                    name, type == ACTION_HTTP ? "http" : "haproxy");
}

static void check_action(struct policy_parser *ps, const struct parsed_section *s)
{
        struct policy_action *a = &ps->p->actions[s->index];

        if (!parser_key_line(s, "type")) {
                parser_diag(ps, s->line, false,
                            "type: required key missing in [action %s] (use http or haproxy)",
                            a->name);
                return;
        }
        if (key_bad(s, "type"))
                return;
        check_action_keys(ps, s, a->type);
        if (a->type == ACTION_HTTP) {
                if (!parser_key_line(s, "url"))
                        parser_diag(ps, s->line, false,
                                    "url: required key missing in [action %s] (type = http)",
                                    a->name);
                /* Checked by the caller (io/policy-load.c): the core does no file I/O. */
                a->token_file_line = parser_key_line(s, "token_file");
                return;
        }
        if (!parser_key_line(s, "socket") && !parser_key_line(s, "address"))
                parser_diag(ps, s->line, false,
                            "socket: required key missing in [action %s] (set socket or address)",
                            a->name);
        else if (parser_key_line(s, "socket") && parser_key_line(s, "address"))
                parser_diag(ps, parser_key_line(s, "address"), false,
                            "address: [action %s] has both socket and address (use one of them)",
                            a->name);
        if (!parser_key_line(s, "server"))
                parser_diag(ps, s->line, false,
                            "server: required key missing in [action %s] (use backend/server)",
                            a->name);
        if (!parser_key_line(s, "state"))
                parser_diag(ps, s->line, false,
                            "state: required key missing in [action %s] (use maint, drain or "
                            "weight0)",
                            a->name);
}

/* The first rule that needs runtime metrics, and the condition that does. */
static const struct policy_rule *runtime_rule(const struct policy *p, enum cond_metric *ret)
{
        for (size_t i = 0; i < p->n_rules; i++)
                for (int m = 0; m < _COND_MAX; m++)
                        if (p->rules[i].has[m] && metric_get(m)->source == METRIC_SOURCE_RUNTIME) {
                                *ret = m;
                                return &p->rules[i];
                        }
        return NULL;
}

static void check_runtime_sources(struct policy_parser *ps)
{
        const struct policy *p = ps->p;
        enum cond_metric m = COND_GC_PER_MINUTE;
        const struct policy_rule *r = runtime_rule(p, &m);

        for (size_t i = 0; r && i < p->n_targets; i++) {
                const struct policy_target *t = &p->targets[i];

                if (!t->metrics_url)
                        parser_diag(ps, t->line, false,
                                    "metrics_url: missing in [target %s], and [rule %s] uses %s "
                                    "(runtime conditions need the runtime's metrics)",
                                    t->name, r->name, cond_metric_key(m));
        }
}

/*
 * A forecast window set in section s (the batch's, or a target's): it must hold at least
 * FORECAST_MIN_SAMPLES samples at the batch's interval, with one to spare for a late tick.
 * Without a time_to_limit_below rule it does nothing, which is worth a warning.
 */
static void check_forecast_window(struct policy_parser *ps, const struct parsed_section *s,
                                  uint64_t window_ms, bool uses)
{
        uint64_t interval = ps->p->interval_ms, need = FORECAST_MIN_SAMPLES * interval;
        int line = parser_key_line(s, "forecast_window");
        char w[32], iv[32], nd[32];

        if (!line || key_bad(s, "forecast_window"))
                return;
        if (!uses) {
                parser_diag(ps, line, true,
                            "forecast_window: no [rule] uses time_to_limit_below, so it has no "
                            "effect (add one, or remove the key)");
                return;
        }
        units_format_duration(window_ms, w, sizeof(w));
        units_format_duration(interval, iv, sizeof(iv));
        units_format_duration(need, nd, sizeof(nd));
        if (window_ms < need)
                parser_diag(ps, line, false,
                            "forecast_window: %s holds fewer than %d samples at interval = %s "
                            "(use forecast_window = %s or more, or a shorter interval)",
                            w, FORECAST_MIN_SAMPLES, iv, nd);
        else if (window_ms / interval + 1 > FORECAST_SAMPLES_MAX)
                parser_diag(ps, line, true,
                            "forecast_window: %s at interval = %s is %" PRIu64 " samples; the "
                            "forecast keeps the newest %d (use a longer interval to see the "
                            "whole window)",
                            w, iv, window_ms / interval + 1, FORECAST_SAMPLES_MAX);
}

/* The forecast windows: each one set, and the default where a forecast rule relies on it. */
static void check_forecast(struct policy_parser *ps)
{
        const struct policy *p = ps->p;
        bool uses = policy_uses_metric(p, COND_TIME_TO_LIMIT), defaulted = false;
        char iv[32], nd[32];
        int interval_line = 0;

        for (size_t i = 0; i < ps->n_sections; i++) /* set, even if to a bad value */
                uses |= ps->sections[i].kind == SECTION_RULE &&
                        parser_key_line(&ps->sections[i], "time_to_limit_below");
        for (size_t i = 0; i < ps->n_sections; i++) {
                const struct parsed_section *s = &ps->sections[i];

                if (s->kind == SECTION_BATCH) {
                        interval_line =
                                key_bad(s, "interval") ? -1 : parser_key_line(s, "interval");
                        check_forecast_window(ps, s, policy_forecast_window_ms(p, p->n_targets),
                                              uses);
                } else if (s->kind == SECTION_TARGET) {
                        check_forecast_window(ps, s, policy_forecast_window_ms(p, s->index), uses);
                        defaulted |= !p->targets[s->index].forecast_window_ms;
                }
        }
        if (!uses || !defaulted || p->forecast_window_ms || interval_line <= 0 ||
            POLICY_FORECAST_WINDOW_MS >= FORECAST_MIN_SAMPLES * p->interval_ms)
                return;
        units_format_duration(p->interval_ms, iv, sizeof(iv));
        units_format_duration(FORECAST_MIN_SAMPLES * p->interval_ms, nd, sizeof(nd));
        parser_diag(ps, interval_line, false,
                    "interval: %s leaves fewer than %d samples in forecast_window (2m, the "
                    "default) for time_to_limit_below (set forecast_window = %s or more)",
                    iv, FORECAST_MIN_SAMPLES, nd);
}

void policy_check_all(struct policy_parser *ps)
{
        static void (*const checks[_SECTION_KIND_MAX])(struct policy_parser *,
                                                       const struct parsed_section *) = {
                [SECTION_BATCH] = check_batch,
                [SECTION_TARGET] = check_target,
                [SECTION_RULE] = check_rule,
                [SECTION_ACTION] = check_action,
        };
        bool batch = false;

        for (size_t i = 0; i < ps->n_sections; i++) {
                const struct parsed_section *s = &ps->sections[i];

                batch = batch || s->kind == SECTION_BATCH;
                if (checks[s->kind])
                        checks[s->kind](ps, s);
        }
        if (!batch)
                parser_diag(ps, 0, false, "missing section [batch] (it names the batch)");
        if (ps->p->n_targets == 0)
                parser_diag(ps, 0, false, "no [target NAME] section (at least one is required)");
        if (ps->p->n_rules == 0)
                parser_diag(ps, 0, false, "no [rule NAME] section (at least one is required)");
        check_runtime_sources(ps);
        check_forecast(ps);
}
