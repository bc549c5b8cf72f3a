/* SPDX-License-Identifier: MIT */
/* The breaker with a time_to_limit_below rule: its forecast, per scope. */
#include "breaker-fixture.h"

/*
 * time_to_limit_below (issue 16): a working set in MiB per 1 s tick against a 256 MiB limit,
 * threshold 30 s, three in a row. outcomes: one character per tick of (t0, rule r):
 * 'w' warming up (no-data that does not count toward max_errors), 'p' pass, 'b' breach.
 */
#define FC_MIB(v) ((uint64_t)(v)*1024 * 1024)
struct fc_case {
        const char *name;
        double start_mib, mib_per_s; /* the working set at tick k: start + rate * k */
        int restart_tick;            /* from this tick on it starts again at 50 MiB; -1: never */
        const char *outcomes;
        int trip_tick; /* -1 = never */
};

static const struct fc_case fc_cases[] = {
        /* 10 MiB/s from 100: the limit is seconds away, yet 10 ticks are only warming up
         * (fewer than 10 s of samples), never inconclusive although max_errors is 4. */
        { "warming up is no-data", 100, 10, -1, "wwwwwwwwwwbbb", 12 },
        /* 2 MiB/s from 150: the limit is 53 - k s away; below 30 s from tick 24 on. */
        { "a rising line below the threshold breaches", 150, 2, -1, "wwwwwwwwwwppppppppppppppbbb",
          26 },
        /* 250 of 256 MiB (a ratio rule at 0.9 would trip), but flat: never. */
        { "flat never breaches", 250, 0, -1, "wwwwwwwwwwpppppppppppppppppppp", -1 },
        { "falling never breaches", 250, -1, -1, "wwwwwwwwwwpppppppppppppppppppp", -1 },
        /* At 20 the working set falls from 188 to 50 MiB: the window starts again and warms
         * up for 10 ticks; the new line, 2 MiB/s from 50, is far from the limit. */
        { "a restart restarts the window", 150, 2, 20, "wwwwwwwwwwppppppppppwwwwwwwwwwppppp", -1 },
};

static void fc_sample(const struct fc_case *c, size_t k, struct sample *ret)
{
        double mib = c->restart_tick >= 0 && (int)k >= c->restart_tick
                             ? 50 + c->mib_per_s * (double)(k - (size_t)c->restart_tick)
                             : c->start_mib + c->mib_per_s * (double)k;
        struct sample s = { .t_ms = (int64_t)k * 1000 };

        s.memory.has_current = s.memory.has_inactive_file = s.memory.has_max = true;
        s.memory.max_bytes = FC_MIB(256);
        s.memory.current_bytes = (uint64_t)(mib * 1024 * 1024);
        *ret = s;
}

static void test_forecast_rule(void **state)
{
        (void)state;
        for (size_t i = 0; i < ELEMENTSOF(fc_cases); i++) {
                const struct fc_case *c = &fc_cases[i];
                struct fixture fx;

                print_message("case: %s\n", c->name);
                fixture_init(&fx, POLICY_SCOPE_INSTANCE, 1, COND_TIME_TO_LIMIT, 30000);
                fx.p.interval_ms = 1000;
                fixture_start(&fx);
                for (size_t k = 0; c->outcomes[k]; k++) {
                        struct sample s;
                        const struct sample *sp = &s;
                        const struct rules_result *res;
                        const struct forecast_view *fv;

                        fc_sample(c, k, &s);
                        assert_true(breaker_step(fx.b, s.t_ms, &sp, 1) >= 0);
                        if (breaker_phase_latched(breaker_phase(fx.b)) && (int)k > c->trip_tick)
                                break;
                        res = breaker_last_result(fx.b, 0, 0);
                        fv = breaker_target_forecast(fx.b, 0);
                        assert_non_null(fv);
                        print_message("  tick %zu: %s, forecast %s\n", k,
                                      rules_outcome_to_string(res->outcome),
                                      forecast_state_to_string(fv->state));
                        switch (c->outcomes[k]) {
                        case 'w':
                                assert_int_equal(res->outcome, RULES_NO_DATA);
                                assert_true(res->warming_up);
                                assert_int_equal(fv->state, FORECAST_WARMING_UP);
                                assert_int_equal(breaker_no_data(fx.b, 0, 0), 0);
                                assert_int_not_equal(breaker_phase(fx.b), BREAKER_INCONCLUSIVE);
                                break;
                        case 'p':
                                assert_int_equal(res->outcome, RULES_PASS);
                                break;
                        default:
                                assert_int_equal(res->outcome, RULES_BREACH);
                                assert_int_equal(fv->state, FORECAST_RISING);
                                assert_true(fv->prediction.time_to_limit_ms > 0 &&
                                            fv->prediction.time_to_limit_ms < 30000);
                        }
                }
                if (c->trip_tick < 0) {
                        assert_null(breaker_trip(fx.b));
                } else {
                        assert_non_null(breaker_trip(fx.b));
                        assert_int_equal(breaker_trip(fx.b)->t_ms, c->trip_tick * 1000);
                        assert_int_equal(breaker_trip(fx.b)->conditions[0].metric,
                                         COND_TIME_TO_LIMIT);
                }
                /* A reset forgets the window: warming up again. */
                breaker_reset(fx.b);
                {
                        struct sample s;
                        const struct sample *sp = &s;

                        fc_sample(c, 0, &s);
                        s.t_ms = 100000;
                        breaker_step(fx.b, s.t_ms, &sp, 1);
                        assert_int_equal(breaker_target_forecast(fx.b, 0)->state,
                                         FORECAST_WARMING_UP);
                        assert_int_equal(breaker_target_forecast(fx.b, 0)->n, 1);
                }
                breaker_free(fx.b);
        }
}

/* Batch scope: the line is fitted to the summed working set against the summed limits; each
 * target keeps its own forecast for status. t0 climbs 10 MiB/s from 100 MiB, t1 stays at
 * 100 MiB; the sum reaches 512 MiB in 31.2 - k s, below 30 s from tick 2 on, but warming up
 * until tick 10: trips at 12. t1 alone is flat. */
static void test_forecast_batch_scope(void **state)
{
        struct fixture fx;

        (void)state;
        fixture_init(&fx, POLICY_SCOPE_BATCH, 2, COND_TIME_TO_LIMIT, 30000);
        fx.p.interval_ms = 1000;
        fixture_start(&fx);
        for (size_t k = 0; k <= 12; k++) {
                struct sample s[2];
                const struct sample *sp[2] = { &s[0], &s[1] };

                for (size_t i = 0; i < 2; i++) {
                        s[i] = (struct sample){ .t_ms = (int64_t)k * 1000 };
                        s[i].memory.has_current = s[i].memory.has_inactive_file = true;
                        s[i].memory.has_max = true;
                        s[i].memory.max_bytes = FC_MIB(256);
                        s[i].memory.current_bytes = FC_MIB(100 + (i == 0 ? 10 * k : 0));
                }
                assert_true(breaker_step(fx.b, (int64_t)k * 1000, sp, 2) >= 0);
                assert_int_equal(breaker_phase(fx.b) == BREAKER_TRIPPED, k == 12);
        }
        assert_string_equal(breaker_trip(fx.b)->instance, BREAKER_BATCH_INSTANCE);
        assert_int_equal(breaker_target_forecast(fx.b, 0)->state, FORECAST_RISING);
        assert_int_equal(breaker_target_forecast(fx.b, 1)->state, FORECAST_NOT_RISING);
        breaker_free(fx.b);
}

/* Without a forecast rule no struct forecast exists (RSS at many targets). */
static void test_forecast_only_when_used(void **state)
{
        struct fixture fx;

        (void)state;
        fixture_init(&fx, POLICY_SCOPE_INSTANCE, 1, RATIO);
        fixture_start(&fx);
        assert_null(breaker_target_forecast(fx.b, 0));
        breaker_free(fx.b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_forecast_rule),
                cmocka_unit_test(test_forecast_only_when_used),
                cmocka_unit_test(test_forecast_batch_scope),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
