/* SPDX-License-Identifier: MIT */
/*
 * Policy parser: every key, every unit form and every error class, one table row each.
 * Rows with file_mode or token_mode go through policy_load() on temp files; the others
 * through policy_parse_string().
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy-load.h"

/* Fixed line numbers: [batch] 1-2, [target a] 3-4, [rule r] 5-6 (extra batch keys shift them). */
#define BATCH  "[batch]\nname = t\n"
#define TARGET "[target a]\ncgroup = /a\n"
#define RULE   "[rule r]\nmemory_ratio_above = 0.9\n"
#define BASE   BATCH TARGET RULE
#define HTTP   "[action x]\ntype = http\nurl = http://h/r\n"
#define PROXY  "[action d]\ntype = haproxy\nsocket = /run/h.sock\nserver = b/s\nstate = drain\n"
#define X10    "xxxxxxxxxx"
#define X100   X10 X10 X10 X10 X10 X10 X10 X10 X10 X10
#define X1000  X100 X100 X100 X100 X100 X100 X100 X100 X100 X100

struct policy_case {
        const char *name;
        const char *text;
        /* success: probe names a field (see probe()), num or str is its expected value */
        const char *probe;
        double num;
        const char *str;
        /* failure: an error at line with fragment; n_errors expected (0 means 1) */
        int line;
        const char *fragment;
        int line2; /* optional second error */
        const char *fragment2;
        size_t n_errors;
        /* files: nonzero writes the text to a file of this mode and loads it */
        mode_t file_mode;
        mode_t token_mode; /* nonzero: create the file @TOKEN@ stands for, with this mode */
        unsigned flags;
        bool warning; /* success with exactly one warning at line, containing fragment */
};

static const struct policy_case cases[] = {
        /* Defaults. */
        { "default interval", BASE, "interval_ms", 5000 },
        { "default consecutive", BASE, "consecutive", 3 },
        { "default max_errors", BASE, "max_errors", 4 },
        { "default scope", BASE, "scope", POLICY_SCOPE_INSTANCE },
        { "default metrics_timeout", BASE, "t.metrics_timeout_ms", 2000 },
        { "default action timeout", BASE HTTP, "a.timeout_ms", 5000 },
        { "default action retries", BASE HTTP, "a.retries", 5 },
        { "default method", BASE HTTP, "a.method", .str = "POST" },
        { "rule inherits consecutive", BASE, "r.effective_consecutive", 3 },
        /* [batch] keys and unit forms. */
        { "name", BASE, "name", .str = "t" },
        { "image", BATCH "image = reg/x:v2\n" TARGET RULE, "image", .str = "reg/x:v2" },
        { "stable_image", BATCH "stable_image = reg/x:v1\n" TARGET RULE, "stable_image",
          .str = "reg/x:v1" },
        { "traffic_percent bare", BATCH "traffic_percent = 5\n" TARGET RULE, "traffic_percent", 5 },
        { "traffic_percent %", BATCH "traffic_percent = 20%\n" TARGET RULE, "traffic_percent", 20 },
        { "interval ms", BATCH "interval = 500ms\n" TARGET RULE, "interval_ms", 500 },
        { "interval s", BATCH "interval = 5s\n" TARGET RULE, "interval_ms", 5000 },
        { "interval m", BATCH "interval = 2m\n" TARGET RULE, "interval_ms", 120000 },
        { "interval h", BATCH "interval = 1h\n" TARGET RULE, "interval_ms", 3600000 },
        { "interval bare seconds", BATCH "interval = 7\n" TARGET RULE, "interval_ms", 7000 },
        { "interval lower bound", BATCH "interval = 100ms\n" TARGET RULE, "interval_ms", 100 },
        { "consecutive", BATCH "consecutive = 5\n" TARGET RULE, "consecutive", 5 },
        { "scope batch", BATCH "scope = batch\n" TARGET RULE, "scope", POLICY_SCOPE_BATCH },
        { "max_errors", BATCH "max_errors = 10\n" TARGET RULE, "max_errors", 10 },
        { "dry_run true", BATCH "dry_run = true\n" TARGET RULE, "dry_run", 1 },
        { "dry_run no", BATCH "dry_run = no\n" TARGET RULE, "dry_run", 0 },
        { "inline comment", BATCH "interval = 2s ; fast\n" TARGET RULE, "interval_ms", 2000 },
        { "CRLF line ends", "[batch]\r\nname = t\r\ninterval = 3s\r\n" TARGET RULE, "interval_ms",
          3000 },
        { "UTF-8 BOM", "\xEF\xBB\xBF" BASE, "name", .str = "t" },
        { "1024-character line", BASE HTTP "body = " X1000 "xxxxxxxxxxxxxxxxx\n", "a.body_len",
          1017 },
        /* [target] keys. */
        { "cgroup", BASE, "t.cgroup", .str = "/a" },
        { "cgroup glob", BATCH "[target a]\ncgroup = /system.slice/c@*.service\n" RULE, "t.cgroup",
          .str = "/system.slice/c@*.service" },
        { "unit", BATCH "[target a]\nunit = c@1.service\n" RULE, "t.unit", .str = "c@1.service" },
        { "cgroup_root", BATCH TARGET "cgroup_root = /host/sys/fs/cgroup\n" RULE, "t.cgroup_root",
          .str = "/host/sys/fs/cgroup" },
        { "memory_limit MiB", BATCH TARGET "memory_limit = 512MiB\n" RULE, "t.memory_limit_bytes",
          512.0 * 1024 * 1024 },
        { "memory_limit GiB", BATCH TARGET "memory_limit = 2GiB\n" RULE, "t.memory_limit_bytes",
          2048.0 * 1024 * 1024 },
        { "memory_limit G", BATCH TARGET "memory_limit = 1G\n" RULE, "t.memory_limit_bytes",
          1024.0 * 1024 * 1024 },
        { "memory_limit bare bytes", BATCH TARGET "memory_limit = 1048576\n" RULE,
          "t.memory_limit_bytes", 1048576 },
        { "memory_limit decimal", BATCH TARGET "memory_limit = 1.5GiB\n" RULE,
          "t.memory_limit_bytes", 1536.0 * 1024 * 1024 },
        { "metrics_url", BATCH TARGET "metrics_url = http://127.0.0.1:9/metrics\n" RULE,
          "t.metrics_url", .str = "http://127.0.0.1:9/metrics" },
        { "metrics_timeout", BATCH TARGET "metrics_timeout = 750ms\n" RULE, "t.metrics_timeout_ms",
          750 },
        { "gc_preset", BATCH TARGET "gc_preset = jvm\n" RULE, "t.gc_preset", GC_PRESET_JVM },
        { "gc_count_metric", BATCH TARGET "gc_count_metric = gc_total{gen=\"2\"}\n" RULE,
          "t.gc_count_metric", .str = "gc_total{gen=\"2\"}" },
        { "heap_used_metric", BATCH TARGET "heap_used_metric = heap_used_bytes\n" RULE,
          "t.heap_used_metric", .str = "heap_used_bytes" },
        { "heap_max_metric", BATCH TARGET "heap_max_metric = heap_max_bytes\n" RULE,
          "t.heap_max_metric", .str = "heap_max_bytes" },
        /* [rule] keys. */
        { "memory_ratio decimal", BASE, "r.memory_ratio_above", 0.9 },
        { "memory_ratio percent", BATCH TARGET "[rule r]\nmemory_ratio_above = 92%\n",
          "r.memory_ratio_above", 0.92 },
        { "memory_bytes_above", BATCH TARGET "[rule r]\nmemory_bytes_above = 1GiB\n",
          "r.memory_bytes_above", 1024.0 * 1024 * 1024 },
        { "memory_growth_above", BATCH TARGET "[rule r]\nmemory_growth_above = 256MiB\n",
          "r.memory_growth_above", 256.0 * 1024 * 1024 },
        { "gc_per_minute_above",
          BATCH TARGET "metrics_url = http://h/m\ngc_preset = go\n[rule r]\n"
                       "gc_per_minute_above = 15\n",
          "r.gc_per_minute_above", 15 },
        { "heap_ratio_above",
          BATCH TARGET "metrics_url = http://h/m\n[rule r]\nheap_ratio_above = 85%\n",
          "r.heap_ratio_above", 0.85 },
        { "oom_kills_at_least", BATCH TARGET "[rule r]\noom_kills_at_least = 1\n",
          "r.oom_kills_at_least", 1 },
        { "psi_some_above", BATCH TARGET "[rule r]\npsi_some_above = 10.5\n", "r.psi_some_above",
          10.5 },
        { "psi_full_above %", BATCH TARGET "[rule r]\npsi_full_above = 20%\n", "r.psi_full_above",
          20 },
        { "rule consecutive", BASE "consecutive = 1\n", "r.effective_consecutive", 1 },
        { "rule dry_run", BASE "dry_run = on\n", "r.dry_run", 1 },
        /* [action] keys. */
        { "http url", BASE HTTP, "a.url", .str = "http://h/r" },
        { "http method", BASE HTTP "method = PUT\n", "a.method", .str = "PUT" },
        { "header repeatable", BASE HTTP "header = X-A: 1\nheader = X-B: ${batch}\n", "a.n_headers",
          2 },
        { "body with template", BASE HTTP "body = {\"b\":\"${batch}\"}\n", "a.body",
          .str = "{\"b\":\"${batch}\"}" },
        { "tls_ca", BASE HTTP "tls_ca = /etc/ca.pem\n", "a.tls_ca", .str = "/etc/ca.pem" },
        { "timeout", BASE HTTP "timeout = 10s\n", "a.timeout_ms", 10000 },
        { "retries zero", BASE HTTP "retries = 0\n", "a.retries", 0 },
        { "haproxy socket", BASE PROXY, "a.socket", .str = "/run/h.sock" },
        { "haproxy server", BASE PROXY, "a.server", .str = "b/s" },
        { "haproxy state", BASE PROXY, "a.state", HAPROXY_STATE_DRAIN },
        { "haproxy address",
          BASE "[action d]\ntype = haproxy\naddress = [::1]:9999\nserver = b/s\n"
               "state = weight0\n",
          "a.address", .str = "[::1]:9999" },
        { "token_file 0600", BASE HTTP "token_file = @TOKEN@\n", "a.type", ACTION_HTTP,
          .token_mode = 0600 },
        { "token_file 0400", BASE HTTP "token_file = @TOKEN@\n", "a.type", ACTION_HTTP,
          .token_mode = 0400 },
        { "policy file 0644", BASE, "name", .str = "t", .file_mode = 0644 },
        { "token_file missing warns under check", BASE HTTP "token_file = /nonexistent/t\n",
          .line = 10, .fragment = "does not exist", .file_mode = 0600, .flags = POLICY_LOAD_CHECK,
          .warning = true },

        /* Errors: unknown key, duplicates. */
        { "unknown key", BATCH "colour = red\n" TARGET RULE, .line = 3,
          .fragment = "unknown key \"colour\" in [batch] (known keys: name," },
        { "unknown rule key", BASE "memory_ratio_abov = 0.9\n", .line = 7,
          .fragment = "unknown key \"memory_ratio_abov\" in [rule r]" },
        { "duplicate key", BATCH "name = u\n" TARGET RULE, .line = 3,
          .fragment = "name: duplicate key in [batch] (first set at line 2)" },
        { "duplicate section", BASE TARGET, .line = 7,
          .fragment = "duplicate section [target a] (first at line 3)" },
        { "duplicate batch", BASE "[batch]\n", .line = 7, .fragment = "duplicate section [batch]" },
        /* Line shape. */
        { "overlong line keeps line numbers",
          BATCH "image = " X1000 X100 "\nbogus = 1\n" TARGET RULE, .line = 3,
          .fragment = "line is longer than 1024 characters", .line2 = 4,
          .fragment2 = "unknown key \"bogus\"", .n_errors = 2 },
        { "indented line", BATCH "  interval = 5s\n" TARGET RULE, .line = 3,
          .fragment = "indented line" },
        { "indented continuation", BASE HTTP "body = a\n\tb\n", .line = 11,
          .fragment = "indented line" },
        { "no delimiter", BATCH "interval 5s\n" TARGET RULE, .line = 3,
          .fragment = "expected KEY = VALUE" },
        { "header without ]", BASE "[rule q\n", .line = 7, .fragment = "without ']'" },
        { "key before any section", "name = t\n" BASE, .line = 1,
          .fragment = "key outside of any section" },
        { "unknown section", BASE "[alert x]\nfoo = 1\n", .line = 7,
          .fragment = "unknown section [alert]" },
        { "bad section name", BASE "[rule bad name!]\n", .line = 7,
          .fragment = "the name must be 1-64 characters" },
        { "section name too long", BASE "[rule " X10 X10 X10 X10 X10 X10 "12345]\n", .line = 7,
          .fragment = "the name must be 1-64 characters" },
        { "empty value", BATCH "image =\n" TARGET RULE, .line = 3,
          .fragment = "image: empty value" },
        /* Bad units and values. */
        { "bad duration", BATCH "interval = 5x\n" TARGET RULE, .line = 3,
          .fragment = "interval: \"5x\" is not a duration (use 500ms, 5s, 2m" },
        { "bad size", BATCH TARGET "memory_limit = 2GB2\n" RULE, .line = 5,
          .fragment = "memory_limit: \"2GB2\" is not a size" },
        { "bad ratio", BATCH TARGET "[rule r]\nmemory_ratio_above = 0.9.2\n", .line = 6,
          .fragment = "memory_ratio_above: \"0.9.2\" is not a ratio (use 0.92 or 92%)" },
        { "locale comma rejected", BATCH TARGET "[rule r]\nmemory_ratio_above = 0,92\n", .line = 6,
          .fragment = "\"0,92\" is not a ratio" },
        { "negative number", BATCH "consecutive = -1\n" TARGET RULE, .line = 3,
          .fragment = "consecutive: \"-1\" is not a whole number" },
        { "bad bool", BATCH "dry_run = maybe\n" TARGET RULE, .line = 3,
          .fragment = "dry_run: \"maybe\" is not a boolean" },
        { "bad enum", BATCH "scope = global\n" TARGET RULE, .line = 3,
          .fragment = "scope: \"global\" is not one of: instance, batch" },
        { "bad preset", BATCH TARGET "gc_preset = rust\n" RULE, .line = 5,
          .fragment = "gc_preset: \"rust\" is not one of: none, go, jvm" },
        { "bad url", BASE "[action x]\ntype = http\nurl = ftp://h/\n", .line = 9,
          .fragment = "url: \"ftp://h/\" is not an http:// or https:// URL" },
        { "bad address",
          BASE "[action d]\ntype = haproxy\naddress = h:70000\nserver = b/s\n"
               "state = maint\n",
          .line = 9, .fragment = "address: \"h:70000\" is not an address" },
        { "bad server",
          BASE "[action d]\ntype = haproxy\nsocket = /s\nserver = nobackend\n"
               "state = maint\n",
          .line = 10, .fragment = "server: \"nobackend\" is not a HAProxy server" },
        { "bad header", BASE HTTP "header = NoColon\n", .line = 10,
          .fragment = "header: \"NoColon\" is not a header" },
        { "bad cgroup", BATCH "[target a]\ncgroup = /a/../b\n" RULE, .line = 4,
          .fragment = "cgroup: \"/a/../b\" is not a cgroup path" },
        { "relative socket",
          BASE "[action d]\ntype = haproxy\nsocket = run/s\nserver = b/s\n"
               "state = maint\n",
          .line = 9, .fragment = "socket: \"run/s\" is not an absolute path" },
        { "unknown template variable", BASE HTTP "body = ${token}\n", .line = 10,
          .fragment = "body: unknown variable in \"${token}\"" },
        /* Out of range. */
        { "interval too short", BATCH "interval = 50ms\n" TARGET RULE, .line = 3,
          .fragment = "interval: 50ms is out of range (100ms..1h)" },
        { "interval too long", BATCH "interval = 2h\n" TARGET RULE, .line = 3,
          .fragment = "out of range (100ms..1h)" },
        { "consecutive zero", BATCH "consecutive = 0\n" TARGET RULE, .line = 3,
          .fragment = "consecutive: 0 is out of range (1..1000)" },
        { "traffic over 100", BATCH "traffic_percent = 101%\n" TARGET RULE, .line = 3,
          .fragment = "traffic_percent: 101% is out of range (0..100)" },
        { "traffic not whole", BATCH "traffic_percent = 2.5\n" TARGET RULE, .line = 3,
          .fragment = "is not a whole percentage" },
        { "ratio above 1", BATCH TARGET "[rule r]\nmemory_ratio_above = 92\n", .line = 6,
          .fragment = "memory_ratio_above: 92 is out of range (0..1, or 0%..100%)" },
        { "memory_limit too small", BATCH TARGET "memory_limit = 1KiB\n" RULE, .line = 5,
          .fragment = "memory_limit: 1KiB is out of range (1MiB..1PiB)" },
        { "oom kills zero", BATCH TARGET "[rule r]\noom_kills_at_least = 0\n", .line = 6,
          .fragment = "oom_kills_at_least: 0 is out of range (1..1000000)" },
        { "retries too many", BASE HTTP "retries = 21\n", .line = 10,
          .fragment = "retries: 21 is out of range (0..20)" },
        /* Missing keys and sections. */
        { "missing batch name", "[batch]\nimage = x\n" TARGET RULE, .line = 1,
          .fragment = "name: required key missing in [batch]" },
        { "missing cgroup and unit", BATCH "[target a]\nmemory_limit = 1GiB\n" RULE, .line = 3,
          .fragment = "cgroup: required key missing in [target a] (set cgroup or unit)" },
        { "missing action type", BASE "[action x]\nurl = http://h/\n", .line = 7,
          .fragment = "type: required key missing in [action x]" },
        { "missing http url", BASE "[action x]\ntype = http\n", .line = 7,
          .fragment = "url: required key missing in [action x]" },
        { "missing haproxy keys", BASE "[action d]\ntype = haproxy\n", .line = 7,
          .fragment = "socket: required key missing in [action d] (set socket or address)",
          .line2 = 7, .fragment2 = "state: required key missing", .n_errors = 3 },
        { "missing batch section", TARGET RULE, .line = 0, .fragment = "missing section [batch]" },
        { "missing target section", BATCH RULE, .line = 0, .fragment = "no [target NAME] section" },
        { "missing rule section", BATCH TARGET, .line = 0, .fragment = "no [rule NAME] section" },
        { "rule without condition", BASE "[rule empty]\nconsecutive = 2\n", .line = 7,
          .fragment = "[rule empty] has no condition" },
        /* Cross-checks. */
        { "runtime condition needs metrics_url",
          BATCH TARGET "[rule r]\ngc_per_minute_above = 15\n", .line = 3,
          .fragment = "metrics_url: missing in [target a], and [rule r] uses "
                      "gc_per_minute_above" },
        { "cgroup and unit", BATCH TARGET "unit = a.service\n" RULE, .line = 5,
          .fragment = "unit: [target a] has both cgroup and unit" },
        { "socket and address", BASE PROXY "address = h:1\n", .line = 12,
          .fragment = "address: [action d] has both socket and address" },
        { "http key in haproxy action", BASE PROXY "url = http://h/\n", .line = 12,
          .fragment = "url: not a key of [action d], which has type = haproxy" },
        { "every problem reported",
          BATCH "interval = 5x\n" TARGET "memory_limit = 2 parsecs\n[rule r]\nmemory_ratio_above "
                "= 2\n",
          .line = 3, .fragment = "interval", .line2 = 8, .fragment2 = "memory_ratio_above",
          .n_errors = 3 },
        /* File modes. */
        { "group-writable policy", BASE, .line = 0,
          .fragment = "refusing a policy file writable by group or others (mode 0664",
          .file_mode = 0664 },
        { "world-writable policy", BASE, .line = 0, .fragment = "writable by group or others",
          .file_mode = 0646 },
        { "token_file mode 0644", BASE HTTP "token_file = @TOKEN@\n", .line = 10,
          .fragment = "has mode 0644 (must be a file with mode 0600 or 0400)", .token_mode = 0644 },
        { "token_file bad mode even under check", BASE HTTP "token_file = @TOKEN@\n", .line = 10,
          .fragment = "has mode 0640", .token_mode = 0640, .flags = POLICY_LOAD_CHECK },
        { "token_file missing is an error for run", BASE HTTP "token_file = /nonexistent/t\n",
          .line = 10, .fragment = "token_file: /nonexistent/t does not exist", .file_mode = 0600 },
        /* The token file is checked (by io) after the text, and reported with its errors. */
        { "token_file reported with other errors",
          BASE HTTP "token_file = /nonexistent/t\nretries = many\n", .line = 10,
          .fragment = "token_file: /nonexistent/t does not exist", .line2 = 11,
          .fragment2 = "retries", .n_errors = 2, .file_mode = 0600 },
        /* An action whose type is invalid has its type reported, not its token file. */
        { "token_file of an invalid action is not checked",
          BASE "[action x]\ntype = htp\nurl = http://h/r\ntoken_file = /nonexistent/t\n", .line = 8,
          .fragment = "type: \"htp\" is not one of: http, haproxy", .file_mode = 0600 },
};

/* Numeric fields by name, for the success rows. */
static bool probe_num(const struct policy *p, const char *what, double *ret)
{
        const struct policy_target *t = &p->targets[0];
        const struct policy_rule *r = &p->rules[0];
        const struct policy_action *a = p->n_actions ? &p->actions[0] : NULL;
        const struct {
                const char *name;
                double v;
        } nums[] = {
                { "interval_ms", (double)p->interval_ms },
                { "consecutive", p->consecutive },
                { "max_errors", p->max_errors },
                { "scope", p->scope },
                { "traffic_percent", p->traffic_percent },
                { "dry_run", p->dry_run },
                { "t.memory_limit_bytes", (double)t->memory_limit_bytes },
                { "t.metrics_timeout_ms", (double)t->metrics_timeout_ms },
                { "t.gc_preset", t->gc_preset },
                { "r.effective_consecutive", policy_rule_consecutive(p, r) },
                { "r.dry_run", r->dry_run },
                { "a.timeout_ms", a ? (double)a->timeout_ms : -1 },
                { "a.retries", a ? (double)a->retries : -1 },
                { "a.n_headers", a ? (double)a->n_headers : -1 },
                { "a.state", a ? (double)a->state : -1 },
                { "a.type", a ? (double)a->type : -1 },
                { "a.body_len", a && a->body ? (double)strlen(a->body) : -1 },
        };

        for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
                if (strcmp(what, nums[i].name) == 0) {
                        *ret = nums[i].v;
                        return true;
                }
        for (int m = 0; m < _COND_MAX; m++)
                if (strncmp(what, "r.", 2) == 0 && strcmp(what + 2, cond_metric_key(m)) == 0) {
                        assert_true(r->has[m]);
                        *ret = r->threshold[m];
                        return true;
                }
        return false;
}

/* String fields by name; NULL strings read as "(null)". */
static const char *probe_str(const struct policy *p, const char *what)
{
        const struct policy_target *t = &p->targets[0];
        const struct policy_action *a = p->n_actions ? &p->actions[0] : NULL;
        const struct {
                const char *name;
                const char *v;
        } strs[] = {
                { "name", p->name },
                { "image", p->image },
                { "stable_image", p->stable_image },
                { "t.cgroup", t->cgroup },
                { "t.unit", t->unit },
                { "t.cgroup_root", t->cgroup_root },
                { "t.metrics_url", t->metrics_url },
                { "t.gc_count_metric", t->gc_count_metric },
                { "t.heap_used_metric", t->heap_used_metric },
                { "t.heap_max_metric", t->heap_max_metric },
                { "a.url", a ? a->url : NULL },
                { "a.method", a ? a->method : NULL },
                { "a.body", a ? a->body : NULL },
                { "a.tls_ca", a ? a->tls_ca : NULL },
                { "a.socket", a ? a->socket : NULL },
                { "a.address", a ? a->address : NULL },
                { "a.server", a ? a->server : NULL },
        };

        for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
                if (strcmp(what, strs[i].name) == 0)
                        return strs[i].v ? strs[i].v : "(null)";
        fail_msg("unknown probe %s", what);
        return NULL;
}

/* Replaces @TOKEN@ in text by path; returns a malloc'd string. */
static char *substitute(const char *text, const char *path)
{
        const char *at = strstr(text, "@TOKEN@");
        char *out;

        if (!at)
                return strdup(text);
        assert_int_not_equal(asprintf(&out, "%.*s%s%s", (int)(at - text), text, path, at + 7), -1);
        return out;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        assert_int_equal(fchmod(fd, mode), 0);
        assert_int_equal(close(fd), 0);
}

static int load_case(const struct policy_case *c, struct policy **ret, struct policy_diags *diags)
{
        char dir[] = "/tmp/test-policy-XXXXXX", token[64], file[64];
        char *text;
        int r;

        assert_non_null(mkdtemp(dir));
        snprintf(token, sizeof(token), "%s/ci.token", dir);
        snprintf(file, sizeof(file), "%s/p.ini", dir);
        if (c->token_mode)
                write_file(token, "s3cr3t\n", c->token_mode);
        text = substitute(c->text, token);
        if (c->file_mode || c->token_mode) {
                write_file(file, text, c->file_mode ? c->file_mode : 0644);
                r = policy_load(file, c->flags, ret, diags);
        } else {
                r = policy_parse_string(text, "t.ini", c->flags | POLICY_LOAD_NO_MODE_CHECKS, ret,
                                        diags);
        }
        free(text);
        unlink(token);
        unlink(file);
        assert_int_equal(rmdir(dir), 0);
        return r;
}

static bool has_diag(const struct policy_diags *d, int line, const char *fragment, bool warning)
{
        for (size_t i = 0; i < d->n; i++)
                if (d->v[i].line == line && d->v[i].warning == warning &&
                    strstr(d->v[i].message, fragment))
                        return true;
        return false;
}

static void check_success(const struct policy_case *c, const struct policy *p,
                          const struct policy_diags *d)
{
        double v = 0;

        if (c->warning) {
                assert_int_equal(d->n, 1);
                assert_true(has_diag(d, c->line, c->fragment, true));
                return;
        }
        assert_int_equal(d->n, 0);
        if (c->str) {
                assert_string_equal(probe_str(p, c->probe), c->str);
                return;
        }
        assert_true(probe_num(p, c->probe, &v));
        if (fabs(v - c->num) > 1e-9) {
                print_error("%s: %s = %.17g, expected %.17g\n", c->name, c->probe, v, c->num);
                fail();
        }
}

static void print_diags(const struct policy_diags *d, const char *name)
{
        char line[1024];

        for (size_t i = 0; i < d->n; i++)
                print_error("%s\n", policy_diag_format(&d->v[i], name, line, sizeof(line)));
}

static void run_case(const struct policy_case *c)
{
        struct policy_diags diags = { 0 };
        struct policy *p = NULL;
        int r = load_case(c, &p, &diags);

        if (c->probe || c->warning) {
                if (r != 0)
                        print_diags(&diags, c->name);
                assert_int_equal(r, 0);
                assert_non_null(p);
                check_success(c, p, &diags);
        } else {
                if (!has_diag(&diags, c->line, c->fragment, false) ||
                    (c->fragment2 && !has_diag(&diags, c->line2, c->fragment2, false)) ||
                    diags.n_errors != (c->n_errors ? c->n_errors : 1)) {
                        print_diags(&diags, c->name);
                        fail_msg("%s: expected line %d: %s (%zu errors)", c->name, c->line,
                                 c->fragment, c->n_errors ? c->n_errors : 1);
                }
                assert_int_equal(r, -EINVAL);
                assert_null(p);
        }
        policy_free(p);
        policy_diags_clear(&diags);
}

static void test_case(void **state)
{
        run_case(*state);
}

/* A file that cannot be opened is -errno, with the reason in the diagnostics. */
static void test_missing_file(void **state)
{
        struct policy_diags diags = { 0 };
        struct policy *p = NULL;

        (void)state;
        assert_int_equal(policy_load("/nonexistent/p.ini", 0, &p, &diags), -ENOENT);
        assert_null(p);
        assert_int_equal(diags.n, 1);
        assert_non_null(strstr(diags.v[0].message, "No such file"));
        policy_diags_clear(&diags);
}

/* More errors than POLICY_ERRORS_MAX are counted, not stored. */
static void test_error_cap(void **state)
{
        struct policy_diags diags = { 0 };
        struct policy *p = NULL;
        char *text = strdup(BASE);

        (void)state;
        for (int i = 0; i < POLICY_ERRORS_MAX + 20; i++) {
                char *more;

                assert_int_not_equal(asprintf(&more, "%sbogus%d = 1\n", text, i), -1);
                free(text);
                text = more;
        }
        assert_int_equal(policy_parse_string(text, "t.ini", POLICY_LOAD_NO_MODE_CHECKS, &p, &diags),
                         -EINVAL);
        assert_int_equal(diags.n, POLICY_ERRORS_MAX);
        assert_int_equal(diags.n_errors, POLICY_ERRORS_MAX + 20);
        assert_int_equal(diags.n_dropped, 20);
        free(text);
        policy_diags_clear(&diags);
}

/* The text is bytes with a length: a NUL inside is a line error, not the end of the text. */
static void test_nul_in_text(void **state)
{
        static const char text[] = BASE "x = 1\0\n[rule s]\n";
        struct policy_diags diags = { 0 };
        struct policy *p = NULL;

        (void)state;
        assert_int_equal(policy_parse_text(text, sizeof(text) - 1, "t.ini",
                                           POLICY_LOAD_NO_MODE_CHECKS, &p, &diags),
                         -EINVAL);
        assert_null(p);
        assert_true(has_diag(&diags, 7, "line contains a NUL byte", false));
        assert_true(has_diag(&diags, 8, "[rule s] has no condition", false));
        assert_int_equal(diags.n_errors, 2);
        policy_diags_clear(&diags);
}

int main(void)
{
        const size_t n = sizeof(cases) / sizeof(cases[0]);
        struct CMUnitTest *tests = calloc(n + 3, sizeof(*tests));
        int failed;

        if (!tests)
                return 1;
        /* One cmocka test per row, named after it, so one failure hides no other. */
        for (size_t i = 0; i < n; i++)
                tests[i] = (struct CMUnitTest){ .name = cases[i].name,
                                                .test_func = test_case,
                                                .initial_state = (void *)&cases[i] };
        tests[n] = (struct CMUnitTest)cmocka_unit_test(test_missing_file);
        tests[n + 1] = (struct CMUnitTest)cmocka_unit_test(test_error_cap);
        tests[n + 2] = (struct CMUnitTest)cmocka_unit_test(test_nul_in_text);
        failed = _cmocka_run_group_tests("policy", tests, n + 3, NULL, NULL);
        free(tests);
        return failed;
}
