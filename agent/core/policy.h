/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Policy files: one INI file per canary batch (see docs/policy.md).
 *
 * policy_load() turns a file into a fully validated struct policy or into a list of
 * FILE:LINE errors; nothing half-parsed ever escapes. Only policy.c includes <ini.h>.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h" /* enum cond_metric: the conditions a [rule] may hold */

#define POLICY_NAME_MAX    64  /* batch, target, rule and action names */
#define POLICY_TARGETS_MAX 256 /* per file */
#define POLICY_RULES_MAX   64
#define POLICY_ACTIONS_MAX 16
#define POLICY_HEADERS_MAX 32   /* per http action */
#define POLICY_LINE_MAX    1024 /* longest accepted line, newline excluded */
#define POLICY_ERRORS_MAX  100  /* further errors are counted, not stored */

enum policy_scope {
        POLICY_SCOPE_INSTANCE,
        POLICY_SCOPE_BATCH,
        _POLICY_SCOPE_MAX,
};

enum gc_preset {
        GC_PRESET_NONE,
        GC_PRESET_GO,
        GC_PRESET_JVM,
        GC_PRESET_DOTNET,
        GC_PRESET_NODEJS,
        GC_PRESET_PYTHON,
        _GC_PRESET_MAX,
};

enum action_type {
        ACTION_HTTP,
        ACTION_HAPROXY,
        _ACTION_TYPE_MAX,
};

enum haproxy_state {
        HAPROXY_STATE_MAINT,   /* set server B/S state maint */
        HAPROXY_STATE_DRAIN,   /* set server B/S state drain */
        HAPROXY_STATE_WEIGHT0, /* set weight B/S 0 */
        _HAPROXY_STATE_MAX,
};

struct policy_target {
        char name[POLICY_NAME_MAX + 1];
        int line;          /* line of the [target NAME] header */
        char *cgroup;      /* path or glob under the memory root, always starts with '/' */
        char *unit;        /* NAME.service, resolved under /system.slice; NULL if cgroup set */
        char *cgroup_root; /* overrides discovery; NULL = discover */
        uint64_t memory_limit_bytes; /* used when the cgroup has no limit; 0 = none */
        char *metrics_url;           /* NULL = no runtime metrics */
        uint64_t metrics_timeout_ms; /* default 2000 */
        enum gc_preset gc_preset;    /* default GC_PRESET_NONE */
        char *gc_count_metric;       /* selector overrides, NULL = preset */
        char *heap_used_metric;
        char *heap_max_metric;
};

struct policy_rule {
        char name[POLICY_NAME_MAX + 1];
        int line;
        bool has[_COND_MAX];
        double threshold[_COND_MAX]; /* units as in enum cond_metric */
        unsigned consecutive;        /* breaches in a row that trip; the batch's when not set */
        bool dry_run;                /* report "would trip", never act */
};

struct policy_action {
        char name[POLICY_NAME_MAX + 1];
        int line;
        enum action_type type;
        /* http */
        char *url;
        char *method;   /* default "POST" */
        char **headers; /* "Name: value", n_headers of them */
        size_t n_headers;
        char *body;       /* NULL = the standard JSON envelope */
        char *token_file; /* bearer token, read at send time; never logged or stored */
        char *tls_ca;
        uint64_t timeout_ms; /* per attempt, default 5000 */
        unsigned retries;    /* attempts after the first, default 5 */
        /* haproxy */
        char *socket;  /* unix socket path, or NULL */
        char *address; /* host:port, or NULL */
        char *server;  /* backend/server */
        enum haproxy_state state;
};

struct policy {
        char *path; /* as given to policy_load() */
        char name[POLICY_NAME_MAX + 1];
        char *image;
        char *stable_image;
        unsigned traffic_percent; /* 0..100 */
        uint64_t interval_ms;     /* 100ms..1h, default 5s */
        unsigned consecutive;     /* default 3 */
        enum policy_scope scope;  /* default instance */
        unsigned max_errors;      /* default 4 */
        bool dry_run;
        struct policy_target *targets;
        size_t n_targets;
        struct policy_rule *rules;
        size_t n_rules;
        struct policy_action *actions;
        size_t n_actions;
};

struct policy_diag {
        int line; /* 0: the problem concerns the whole file */
        bool warning;
        char message[512]; /* without the "FILE:LINE: " prefix */
};

struct policy_diags {
        struct policy_diag *v;
        size_t n;
        size_t n_errors;  /* errors found, including ones not stored past POLICY_ERRORS_MAX */
        size_t n_dropped; /* diagnostics not stored */
};

enum policy_load_flags {
        /* `check`: a missing token_file is a warning, not an error. */
        POLICY_LOAD_CHECK = 1 << 0,
        /* Skip the file-mode checks (fuzzing and unit tests of the text only). */
        POLICY_LOAD_NO_MODE_CHECKS = 1 << 1,
};

/*
 * Parse and validate the policy file at path. On success returns 0 and sets *ret (owned
 * by the caller, free with policy_free()). Every problem found is appended to *diags
 * (caller frees with policy_diags_clear()); warnings alone do not fail the load.
 * Returns -EINVAL when the file has errors, or -errno when it cannot be read (the reason is
 * then also in *diags, as a line-0 diagnostic).
 */
int policy_load(const char *path, unsigned flags, struct policy **ret, struct policy_diags *diags);

/* Same as policy_load() on an in-memory text; name is used as the path. */
int policy_parse_string(const char *text, const char *name, unsigned flags, struct policy **ret,
                        struct policy_diags *diags);

/* Frees a policy; NULL is fine. Returns NULL. */
struct policy *policy_free(struct policy *p);

/* Releases the diagnostics and empties the list. */
void policy_diags_clear(struct policy_diags *diags);

/* Prints every diagnostic as "PATH:LINE: message" (or "PATH: message") to f. */
void policy_diags_print(const struct policy_diags *diags, const char *path, void *f);

const char *gc_preset_to_string(enum gc_preset p);
const char *policy_scope_to_string(enum policy_scope s);

/* Effective consecutive count of a rule (its own, else the batch's). */
unsigned policy_rule_consecutive(const struct policy *p, const struct policy_rule *r);
