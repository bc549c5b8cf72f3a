/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Policy files: one INI file per canary batch (see docs/policy.md).
 *
 * The core turns policy text into a fully validated struct policy or into a list of
 * diagnostics (line, message); nothing half-parsed ever escapes. It does no I/O: reading the
 * file, running the INI splitter (inih) and checking token files is io/policy-load.c.
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

/* What a failed action (retries exhausted) does to the rest of the chain. */
enum action_on_failure {
        ACTION_ON_FAILURE_CONTINUE, /* the default: the next action still runs */
        ACTION_ON_FAILURE_STOP,     /* a gate: nothing after it runs */
        _ACTION_ON_FAILURE_MAX,
};

enum haproxy_state {
        HAPROXY_STATE_MAINT,   /* set server B/S state maint */
        HAPROXY_STATE_DRAIN,   /* set server B/S state drain */
        HAPROXY_STATE_WEIGHT0, /* set weight B/S 0 */
        _HAPROXY_STATE_MAX,
};

/* Where a target's memory figures come from. */
enum target_source {
        TARGET_SOURCE_CGROUP, /* a local cgroup: cgroup or unit */
        TARGET_SOURCE_PROMQL, /* a PromQL instant query: promql (and prometheus) */
        _TARGET_SOURCE_MAX,
};

struct policy_target {
        char name[POLICY_NAME_MAX + 1];
        int line; /* line of the [target NAME] header */
        enum target_source source;
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
        char *prometheus;            /* promql: the server's base URL */
        char *promql;                /* promql: the working set in bytes, one sample */
        char *promql_limit;          /* promql: the limit in bytes; NULL = memory_limit */
        uint64_t forecast_window_ms; /* time_to_limit_below's window; 0 = the batch's */
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
        char *body;          /* NULL = the standard JSON envelope */
        char *token_file;    /* bearer token file, read again at send time (io/token.h) */
        char *token;         /* its content when the policy loaded (io); never logged or stored */
        int token_file_line; /* of the token_file key; 0 when unset or the action is invalid */
        char *tls_ca;
        uint64_t timeout_ms; /* per attempt, default 5000 */
        unsigned retries;    /* attempts after the first, default 5 */
        enum action_on_failure on_failure;
        /* haproxy */
        char *socket;  /* unix socket path, or NULL */
        char *address; /* host:port, or NULL */
        char *server;  /* backend/server */
        enum haproxy_state state;
};

struct policy {
        char *path; /* the name given to policy_parser_new(): the file's path */
        char name[POLICY_NAME_MAX + 1];
        /* [batch] release, or when unset the file's hash (io/policy-load.c); part of every
         * Idempotency-Key (core/release.h). "" only from the core parser alone. */
        char release[POLICY_NAME_MAX + 1];
        char *image;
        char *stable_image;
        unsigned traffic_percent; /* 0..100 */
        uint64_t interval_ms;     /* 100ms..1h, default 5s */
        unsigned consecutive;     /* default 3 */
        enum policy_scope scope;  /* default instance */
        unsigned max_errors;      /* default 4 */
        bool dry_run;
        uint64_t forecast_window_ms; /* time_to_limit_below's window; 0 = the default (2m) */
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

/*
 * Parsing, in four steps so that the caller can run an INI splitter (inih) and the file
 * checks (io/policy-load.c) while the core keeps every rule:
 *   policy_parser_new(text) -> ini_parse_stream(policy_parser_read_line, ps,
 *   policy_parser_set_key, ps) -> policy_parser_end() -> token-file checks ->
 *   policy_parser_finish().
 */
struct policy_parser;

/*
 * Starts parsing len bytes of text (borrowed until finish; need not end in NUL) as the
 * policy named name (its path). Every problem is appended to *diags. Returns 0 and *ret
 * (free with policy_parser_finish() or policy_parser_free()), or -ENOMEM.
 */
int policy_parser_new(const char *text, size_t len, const char *name, struct policy_diags *diags,
                      struct policy_parser **ret);

/*
 * An inih reader (ini_reader): copies the next line of the text into str (num bytes),
 * or an empty line in place of one it rejected (reported) or handled (section headers).
 * Returns NULL at the end of the text.
 */
char *policy_parser_read_line(char *str, int num, void *parser);

/* An inih handler (ini_handler): validates and stores one KEY = VALUE. Always returns 1. */
int policy_parser_set_key(void *parser, const char *section, const char *key, const char *value);

/*
 * Ends the text: split_result is what the splitter returned (its first error line when > 0,
 * < 0 when out of memory). Runs the checks that need the whole file. Returns the model so
 * far (owned by the parser) for the caller's checks of the files it names.
 */
const struct policy *policy_parser_end(struct policy_parser *ps, int split_result);

/*
 * Sorts the diagnostics of this parse by line and frees ps. Returns 0 and *ret (free with
 * policy_free()) when no error was recorded since policy_parser_new(), else -EINVAL (or
 * -ENOMEM) and no policy.
 */
int policy_parser_finish(struct policy_parser *ps, struct policy **ret);

/* Frees a policy; NULL is fine. Returns NULL. */
struct policy *policy_free(struct policy *p);

/*
 * Appends a diagnostic (line 0: the whole file); errors count in n_errors. Past
 * POLICY_ERRORS_MAX it is only counted. Returns 0, or -ENOMEM (then counted as dropped).
 */
int policy_diags_add(struct policy_diags *diags, int line, bool warning, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Releases the diagnostics and empties the list. */
void policy_diags_clear(struct policy_diags *diags);

/* Formats d as "PATH:LINE: message" (or "PATH: message"; "warning: " before warnings). */
const char *policy_diag_format(const struct policy_diag *d, const char *path, char *buf,
                               size_t size);

/* "instance" or "batch", for messages and JSON; NULL if out of range. */
const char *policy_scope_to_string(enum policy_scope s);

/* Effective consecutive count of a rule (its own, else the batch's). */
unsigned policy_rule_consecutive(const struct policy *p, const struct policy_rule *r);

#define POLICY_FORECAST_WINDOW_MS 120000 /* forecast_window's default */

/* Target i's forecast window in ms: its own, else the batch's, else the default. i ==
 * p->n_targets asks for the batch's (the batch-scope instance). Inline: policy-check.c uses
 * it, and policy.c calls policy-check.c. */
static inline uint64_t policy_forecast_window_ms(const struct policy *p, size_t i)
{
        if (i < p->n_targets && p->targets[i].forecast_window_ms)
                return p->targets[i].forecast_window_ms;
        return p->forecast_window_ms ? p->forecast_window_ms : POLICY_FORECAST_WINDOW_MS;
}

/* Whether some rule of p holds condition m. */
static inline bool policy_uses_metric(const struct policy *p, enum cond_metric m)
{
        for (size_t i = 0; i < p->n_rules; i++)
                if (p->rules[i].has[m])
                        return true;
        return false;
}
