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
#define PROMQL "[target a]\npromql = sum(ws{batch=\"b\"})\nprometheus = http://127.0.0.1:9090\n"
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

#include "test-policy-cases.h"

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
                { "t.source", t->source },
                { "r.effective_consecutive", policy_rule_consecutive(p, r) },
                { "forecast_window_ms", (double)p->forecast_window_ms },
                { "t.forecast_window_ms", (double)policy_forecast_window_ms(p, 0) },
                { "r.dry_run", r->dry_run },
                { "a.timeout_ms", a ? (double)a->timeout_ms : -1 },
                { "a.retries", a ? (double)a->retries : -1 },
                { "a.on_failure", a ? (double)a->on_failure : -1 },
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
                { "t.promql", t->promql },
                { "t.promql_limit", t->promql_limit },
                { "t.prometheus", t->prometheus },
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
