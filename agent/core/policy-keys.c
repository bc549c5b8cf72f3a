/* SPDX-License-Identifier: MIT */
/* The keys of each section: their value syntax, range, storage, and how they are stored. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "policy-internal.h"
#include "forecast.h"
#include "metrics.h"
#include "policy-keys.h"
#include "units.h"
#include "util.h"

static const char *const scope_choices[] = { "instance", "batch", NULL };
static const char *const preset_choices[] = { "none",   "go",     "jvm", "dotnet",
                                              "nodejs", "python", NULL };
static const char *const type_choices[] = { "http", "haproxy", NULL };
static const char *const on_failure_choices[] = { "continue", "stop", NULL };
static const char *const state_choices[] = { "maint", "drain", "weight0", NULL };

#define MIB (1024.0 * 1024.0)
#define PIB (MIB * MIB * 1024.0)

#define BATCH(f)  offsetof(struct policy, f)
#define TARGET(f) offsetof(struct policy_target, f)
#define RULE(f)   offsetof(struct policy_rule, f)
#define ACTION(f) offsetof(struct policy_action, f)

/* Order matters: an index into these tables is an index into parsed_section.key_line. */
static const struct key_def batch_keys[] = {
        { "name", V_NAME, BATCH(name), .flags = KEY_REQUIRED },
        { "image", V_TEXT, BATCH(image) },
        { "stable_image", V_TEXT, BATCH(stable_image) },
        { "traffic_percent", V_PERCENT, BATCH(traffic_percent), 0, 100, .flags = KEY_INTEGER },
        { "interval", V_DURATION, BATCH(interval_ms), 100, 3600000 },
        { "consecutive", V_UINT, BATCH(consecutive), 1, 1000 },
        { "scope", V_ENUM, BATCH(scope), .choices = scope_choices },
        { "max_errors", V_UINT, BATCH(max_errors), 1, 1000 },
        { "dry_run", V_BOOL, BATCH(dry_run) },
        { "release", V_NAME, BATCH(release) },
        { "forecast_window", V_DURATION, BATCH(forecast_window_ms), FORECAST_MIN_SPAN_MS, 3600000 },
        { NULL },
};

static const struct key_def target_keys[] = {
        { "cgroup", V_CGROUP, TARGET(cgroup) },
        { "unit", V_UNIT, TARGET(unit) },
        { "cgroup_root", V_PATH, TARGET(cgroup_root) },
        { "memory_limit", V_SIZE, TARGET(memory_limit_bytes), MIB, PIB },
        { "metrics_url", V_URL, TARGET(metrics_url) },
        { "metrics_timeout", V_DURATION, TARGET(metrics_timeout_ms), 100, 60000 },
        { "gc_preset", V_ENUM, TARGET(gc_preset), .choices = preset_choices },
        { "gc_count_metric", V_SELECTOR, TARGET(gc_count_metric) },
        { "heap_used_metric", V_SELECTOR, TARGET(heap_used_metric) },
        { "heap_max_metric", V_SELECTOR, TARGET(heap_max_metric) },
        { "prometheus", V_URL, TARGET(prometheus) },
        { "promql", V_TEXT, TARGET(promql) },
        { "promql_limit", V_TEXT, TARGET(promql_limit) },
        { "forecast_window", V_DURATION, TARGET(forecast_window_ms), FORECAST_MIN_SPAN_MS,
          3600000 },
        { NULL },
};

/* A condition's value syntax follows its unit in the registry. */
#define COND_KIND(unit)                                  \
        ((unit) == METRIC_UNIT_RATIO        ? V_RATIO    \
         : (unit) == METRIC_UNIT_PER_MINUTE ? V_NUMBER   \
         : (unit) == METRIC_UNIT_COUNT      ? V_UINT     \
         : (unit) == METRIC_UNIT_PERCENT    ? V_PERCENT  \
         : (unit) == METRIC_UNIT_MS         ? V_DURATION \
                                            : V_SIZE)

/* Conditions come from the metric registry; their offset is the enum cond_metric. */
static const struct key_def rule_keys[] = {
#define METRIC(id, name, unit, source, cmp, key, min, max, ...) \
        { key, COND_KIND(unit), id, min, max, .flags = KEY_COND },
#include "metrics.def"
#undef METRIC
        { "consecutive", V_UINT, RULE(consecutive), 1, 1000 },
        { "dry_run", V_BOOL, RULE(dry_run) },
        { NULL },
};

static const struct key_def action_keys[] = {
        { "type", V_ENUM, ACTION(type), .choices = type_choices, .flags = KEY_REQUIRED },
        { "url", V_URL, ACTION(url), .flags = KEY_HTTP | KEY_TEMPLATE },
        { "method", V_METHOD, ACTION(method), .flags = KEY_HTTP },
        { "header", V_HEADER, ACTION(headers), .flags = KEY_HTTP | KEY_REPEAT | KEY_TEMPLATE },
        { "body", V_TEXT, ACTION(body), .flags = KEY_HTTP | KEY_TEMPLATE },
        { "token_file", V_PATH, ACTION(token_file), .flags = KEY_HTTP },
        { "tls_ca", V_PATH, ACTION(tls_ca), .flags = KEY_HTTP },
        { "timeout", V_DURATION, ACTION(timeout_ms), 100, 300000 },
        { "retries", V_UINT, ACTION(retries), 0, 20 },
        { "on_failure", V_ENUM, ACTION(on_failure), .choices = on_failure_choices },
        { "socket", V_SOCKET, ACTION(socket), .flags = KEY_HAPROXY },
        { "address", V_ADDRESS, ACTION(address), .flags = KEY_HAPROXY },
        { "server", V_SERVER, ACTION(server), .flags = KEY_HAPROXY },
        { "state", V_ENUM, ACTION(state), .choices = state_choices, .flags = KEY_HAPROXY },
        { NULL },
};

const struct key_def *policy_keys_table(enum section_kind kind)
{
        switch (kind) {
        case SECTION_BATCH:
                return batch_keys;
        case SECTION_TARGET:
                return target_keys;
        case SECTION_RULE:
                return rule_keys;
        case SECTION_ACTION:
                return action_keys;
        default:
                return NULL;
        }
}

int parser_key_line(const struct parsed_section *s, const char *key)
{
        const struct key_def *t = policy_keys_table(s->kind);

        for (size_t i = 0; t && t[i].name; i++)
                if (strcmp(t[i].name, key) == 0)
                        return s->key_line[i];
        return 0;
}

/* The struct a section's keys are stored into. */
static void *section_object(struct policy *p, const struct parsed_section *s)
{
        switch (s->kind) {
        case SECTION_BATCH:
                return p;
        case SECTION_TARGET:
                return &p->targets[s->index];
        case SECTION_RULE:
                return &p->rules[s->index];
        case SECTION_ACTION:
                return &p->actions[s->index];
        default:
                return NULL;
        }
}

const char *policy_keys_object_name(const struct policy *p, const struct parsed_section *s)
{
        switch (s->kind) {
        case SECTION_TARGET:
                return p->targets[s->index].name;
        case SECTION_RULE:
                return p->rules[s->index].name;
        case SECTION_ACTION:
                return p->actions[s->index].name;
        default:
                return "";
        }
}

/* Sets the name, header line and defaults of a new section's object. */
static void policy_keys_init_object(struct policy *p, const struct parsed_section *s,
                                    const char *name)
{
        struct policy_target *t;
        struct policy_rule *r;
        struct policy_action *a;

        switch (s->kind) {
        case SECTION_TARGET:
                t = &p->targets[s->index];
                snprintf(t->name, sizeof(t->name), "%s", name);
                t->line = s->line;
                t->metrics_timeout_ms = 2000;
                break;
        case SECTION_RULE:
                r = &p->rules[s->index];
                snprintf(r->name, sizeof(r->name), "%s", name);
                r->line = s->line;
                break;
        case SECTION_ACTION:
                a = &p->actions[s->index];
                snprintf(a->name, sizeof(a->name), "%s", name);
                a->line = s->line;
                a->timeout_ms = 5000;
                a->method = strdup("POST");
                a->retries = 5;
                break;
        default:
                break;
        }
}

struct parsed_section *policy_keys_new_object(struct policy_parser *ps, enum section_kind kind,
                                              const char *name)
{
        static const size_t caps[_SECTION_KIND_MAX] = {
                [SECTION_BATCH] = 1,
                [SECTION_TARGET] = POLICY_TARGETS_MAX,
                [SECTION_RULE] = POLICY_RULES_MAX,
                [SECTION_ACTION] = POLICY_ACTIONS_MAX,
        };
        size_t *counts[_SECTION_KIND_MAX] = { [SECTION_TARGET] = &ps->p->n_targets,
                                              [SECTION_RULE] = &ps->p->n_rules,
                                              [SECTION_ACTION] = &ps->p->n_actions };
        struct parsed_section *s;
        size_t index = 0;

        if (counts[kind]) {
                if (*counts[kind] >= caps[kind]) {
                        parser_diag(ps, ps->lineno, false, "too many [%s] sections (at most %zu)",
                                    policy_keys_section_name(kind), caps[kind]);
                        return NULL;
                }
                index = (*counts[kind])++;
        }
        s = &ps->sections[ps->n_sections++];
        *s = (struct parsed_section){ .kind = kind, .index = index, .line = ps->lineno };
        policy_keys_init_object(ps->p, s, name);
        if (kind == SECTION_ACTION && !ps->p->actions[index].method)
                ps->oom = true;
        return s;
}

const char *policy_keys_section_name(enum section_kind kind)
{
        static const char *const names[_SECTION_KIND_MAX] = {
                [SECTION_BATCH] = "batch",
                [SECTION_TARGET] = "target",
                [SECTION_RULE] = "rule",
                [SECTION_ACTION] = "action",
        };

        return (unsigned)kind < _SECTION_KIND_MAX && names[kind] ? names[kind] : "?";
}

/* Lists a table's keys for "unknown key" messages: "name, image, ...". */
static void list_keys(const struct key_def *t, char *buf, size_t size)
{
        size_t n = 0;

        buf[0] = '\0';
        for (size_t i = 0; t[i].name && n < size; i++)
                n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "", t[i].name);
}

void policy_keys_set(struct policy_parser *ps, struct parsed_section *s, const char *key,
                     const char *value)
{
        const struct key_def *t = policy_keys_table(s->kind);
        char section[POLICY_NAME_MAX + 16], known[400];
        size_t i;

        snprintf(section, sizeof(section), "[%s%s%s]", policy_keys_section_name(s->kind),
                 s->kind == SECTION_BATCH ? "" : " ", policy_keys_object_name(ps->p, s));
        for (i = 0; t[i].name; i++)
                if (strcmp(t[i].name, key) == 0)
                        break;
        if (!t[i].name) {
                char quoted[POLICY_QUOTE_MAX];

                list_keys(t, known, sizeof(known));
                parser_diag(ps, ps->lineno, false, "unknown key \"%s\" in %s (known keys: %s)",
                            policy_keys_quote(key, quoted), section, known);
                return;
        }
        if (s->key_line[i] && !(t[i].flags & KEY_REPEAT)) {
                parser_diag(ps, ps->lineno, false, "%s: duplicate key in %s (first set at line %d)",
                            key, section, s->key_line[i]);
                return;
        }
        if (!s->key_line[i])
                s->key_line[i] = ps->lineno;
        if (policy_value_store(ps, &t[i], section_object(ps->p, s), value) < 0)
                s->bad_keys |= 1u << i;
}
