/* SPDX-License-Identifier: MIT */
/*
 * PSI trigger parameters: the stall and window derived from a rule's percentage and the
 * batch's interval, privileged or not, within the kernel's rules, and their text.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "psi-trigger.h"

struct psi_case {
        enum psi_kind kind;
        double pct;
        int64_t interval_ms;
        bool priv;
        int r;
        uint64_t stall_us, window_us;
        const char *text;
};

static void test_psi_derive(void **state)
{
        static const struct psi_case cases[] = {
                /* unprivileged: 2 s multiples, rounded down to stay within the interval */
                { PSI_SOME, 10, 5000, false, 0, 400000, 4000000, "some 400000 4000000" },
                { PSI_SOME, 10, 1000, false, 0, 200000, 2000000, "some 200000 2000000" },
                { PSI_FULL, 25, 6000, false, 0, 1500000, 6000000, "full 1500000 6000000" },
                { PSI_SOME, 10, 3600000, false, 0, 1000000, 10000000, "some 1000000 10000000" },
                /* privileged: the interval itself, within 500 ms .. 10 s */
                { PSI_SOME, 10, 5000, true, 0, 500000, 5000000, "some 500000 5000000" },
                { PSI_SOME, 10, 100, true, 0, 50000, 500000, "some 50000 500000" },
                { PSI_FULL, 50, 60000, true, 0, 5000000, 10000000, "full 5000000 10000000" },
                /* stall rounds up, at least 1 us, at most the window */
                { PSI_SOME, 0, 5000, false, 0, 1, 4000000, "some 1 4000000" },
                { PSI_SOME, 0.00001, 2000, false, 0, 1, 2000000, "some 1 2000000" },
                { PSI_SOME, 100, 2000, false, 0, 2000000, 2000000, "some 2000000 2000000" },
                { PSI_SOME, 12.34567, 2000, false, 0, 246914, 2000000, "some 246914 2000000" },
                /* out of range */
                { PSI_SOME, -1, 5000, false, -EINVAL },
                { PSI_SOME, 100.5, 5000, false, -EINVAL },
                { PSI_SOME, 10, 0, false, -EINVAL },
                { _PSI_KIND_MAX, 10, 5000, false, -EINVAL },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct psi_case *c = &cases[i];
                struct psi_trigger t = { .stall_us = 7 };
                char text[PSI_TRIGGER_TEXT_MAX];
                int r = psi_trigger_derive(c->kind, c->pct, c->interval_ms, c->priv, &t);

                if (r != c->r)
                        fail_msg("case %zu: r=%d, want %d", i, r, c->r);
                if (r < 0) {
                        assert_int_equal(t.stall_us, 7);
                        continue;
                }
                if (t.stall_us != c->stall_us || t.window_us != c->window_us)
                        fail_msg("case %zu: %llu/%llu, want %llu/%llu", i,
                                 (unsigned long long)t.stall_us, (unsigned long long)t.window_us,
                                 (unsigned long long)c->stall_us, (unsigned long long)c->window_us);
                /* The kernel's rules: 0 < stall <= window, 500 ms .. 10 s, 2 s steps. */
                assert_true(t.window_us >= PSI_WINDOW_MIN_US && t.window_us <= PSI_WINDOW_MAX_US);
                assert_true(c->priv || t.window_us % PSI_WINDOW_UNPRIV_STEP_US == 0);
                /* The text goes out with its NUL: strlen + 1 bytes. */
                assert_int_equal(psi_trigger_format(&t, text, sizeof(text)),
                                 (int)strlen(c->text) + 1);
                assert_string_equal(text, c->text);
        }
}

static void test_psi_format_small_buffer(void **state)
{
        struct psi_trigger t = { PSI_SOME, 150000, 2000000 };
        char text[20]; /* "some 150000 2000000" is 19 characters: just fits with its NUL */

        (void)state;
        assert_int_equal(psi_trigger_format(&t, text, sizeof(text)), 20);
        assert_int_equal(psi_trigger_format(&t, text, 19), -ENOBUFS);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_psi_derive),
                cmocka_unit_test(test_psi_format_small_buffer),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
