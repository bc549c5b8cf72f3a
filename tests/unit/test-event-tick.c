/* SPDX-License-Identifier: MIT */
/*
 * The event tick's debounce: when a tick runs after an event, and a storm of events that
 * gives event ticks no closer than TICK_DEBOUNCE_MS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "event-tick.h"

struct debounce_case {
        int64_t due, last_event, now, want;
};

static void test_debounce(void **state)
{
        static const struct debounce_case cases[] = {
                /* no event tick yet: the event tick is now */
                { 5000, TICK_NEVER, 1200, 1200 },
                /* the last event tick long ago: now */
                { 5000, 1000, 1200, 1200 },
                /* the last event tick 30 ms ago: debounced to 100 ms after it */
                { 5000, 1170, 1200, 1270 },
                /* exactly 100 ms after: now */
                { 5000, 1100, 1200, 1200 },
                /* the regular tick is due sooner than the debounce ends: keep it */
                { 1250, 1170, 1200, 1250 },
                /* the regular tick is already overdue: keep it */
                { 1100, TICK_NEVER, 1200, 1100 },
                /* an event exactly at the due time */
                { 1200, TICK_NEVER, 1200, 1200 },
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const struct debounce_case *c = &cases[i];
                int64_t got = tick_due_on_event(c->due, c->last_event, c->now);

                if (got != c->want)
                        fail_msg("case %zu: due %lld, want %lld", i, (long long)got,
                                 (long long)c->want);
        }
        /* The tick after an event tick comes one interval later. */
        assert_int_equal(tick_due_after(1270, 5000), 6270);
}

/* A storm of events every 10 ms for a second gives event ticks 100 ms apart, no closer. */
static void test_debounce_storm(void **state)
{
        int64_t last = TICK_NEVER, due = 5000, ticks = 0;

        (void)state;
        for (int64_t now = 1000; now < 2000; now += 10) {
                due = tick_due_on_event(due, last, now);
                if (due <= now) { /* the loop runs the tick */
                        assert_true(last == TICK_NEVER || now - last >= TICK_DEBOUNCE_MS);
                        last = now;
                        ticks++;
                        due = tick_due_after(now, 5000);
                }
        }
        assert_int_equal(ticks, 10);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_debounce),
                cmocka_unit_test(test_debounce_storm),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
