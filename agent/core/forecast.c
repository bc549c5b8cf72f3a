/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "forecast.h"

static const struct forecast_point *point_at(const struct forecast *f, size_t i)
{
        return &f->points[(f->head + i) % FORECAST_SAMPLES_MAX];
}

void forecast_reset(struct forecast *f)
{
        f->head = 0;
        f->n = 0;
}

static void drop_oldest(struct forecast *f)
{
        f->head = (f->head + 1) % FORECAST_SAMPLES_MAX;
        f->n--;
}

int forecast_add(struct forecast *f, int64_t t_ms, uint64_t bytes, uint64_t window_ms)
{
        if (f->n > 0) {
                const struct forecast_point *last = point_at(f, f->n - 1);

                if (t_ms <= last->t_ms)
                        return -EINVAL;
                /* A restart or a counter reset: the old trend says nothing about the new one. */
                if (bytes < last->bytes / 2)
                        forecast_reset(f);
        }
        if (f->n == FORECAST_SAMPLES_MAX)
                drop_oldest(f);
        f->points[(f->head + f->n) % FORECAST_SAMPLES_MAX] = (struct forecast_point){ t_ms, bytes };
        f->n++;
        while (f->n > 1 && (uint64_t)(t_ms - point_at(f, 0)->t_ms) > window_ms)
                drop_oldest(f);
        return 0;
}

/* The least-squares line through count points from the first-th oldest; -ENODATA when they
 * all share one time. */
static int fit_range(const struct forecast *f, size_t first, size_t count, struct forecast_fit *ret)
{
        double st = 0, sy = 0, stt = 0, sty = 0, n = (double)count, y0, denom;
        int64_t t0;

        /* Centre both axes on the oldest sample so the sums stay small and exact enough. */
        t0 = point_at(f, first)->t_ms;
        y0 = (double)point_at(f, first)->bytes;
        for (size_t i = first; i < first + count; i++) {
                double t = (double)(point_at(f, i)->t_ms - t0) / 1000.0;
                double y = (double)point_at(f, i)->bytes - y0;

                st += t;
                sy += y;
                stt += t * t;
                sty += t * y;
        }
        denom = n * stt - st * st;
        if (denom <= 0)
                return -ENODATA;
        ret->n = count;
        ret->t0_ms = t0;
        ret->slope_bytes_per_s = (n * sty - st * sy) / denom;
        ret->intercept_bytes = y0 + (sy - ret->slope_bytes_per_s * st) / n;
        return 0;
}

int forecast_fit(const struct forecast *f, struct forecast_fit *ret)
{
        if (f->n < FORECAST_MIN_SAMPLES ||
            point_at(f, f->n - 1)->t_ms - point_at(f, 0)->t_ms < FORECAST_MIN_SPAN_MS)
                return -ENODATA;
        return fit_range(f, 0, f->n, ret);
}

int forecast_fit_recent(const struct forecast *f, struct forecast_fit *ret)
{
        if (f->n < FORECAST_MIN_SAMPLES)
                return -ENODATA;
        return fit_range(f, f->n - FORECAST_MIN_SAMPLES, FORECAST_MIN_SAMPLES, ret);
}

int forecast_time_to_limit(const struct forecast_fit *fit, int64_t now_ms, uint64_t limit_bytes,
                           int64_t *ret_ms)
{
        double now_s, at_now, seconds;

        /* Less than a byte a second is flat: such a line takes centuries to reach any limit. */
        if (!(fit->slope_bytes_per_s >= 1.0))
                return -ERANGE;
        now_s = (double)(now_ms - fit->t0_ms) / 1000.0;
        at_now = fit->intercept_bytes + fit->slope_bytes_per_s * now_s;
        seconds = ((double)limit_bytes - at_now) / fit->slope_bytes_per_s;
        if (seconds > (double)(INT64_MAX / 1000) / 2)
                return -ERANGE;
        *ret_ms = (int64_t)llround(seconds * 1000.0);
        return 0;
}

int forecast_predict(const struct forecast *f, int64_t now_ms, uint64_t limit_bytes,
                     struct forecast_prediction *ret)
{
        struct forecast_prediction p = { 0 };
        int64_t whole_ms, recent_ms;
        int r;

        r = forecast_fit(f, &p.window);
        if (r < 0)
                return r;
        r = forecast_fit_recent(f, &p.recent);
        if (r < 0)
                return r;
        *ret = p;
        if (forecast_time_to_limit(&p.window, now_ms, limit_bytes, &whole_ms) < 0 ||
            forecast_time_to_limit(&p.recent, now_ms, limit_bytes, &recent_ms) < 0)
                return -ERANGE;
        ret->time_to_limit_ms = whole_ms > recent_ms ? whole_ms : recent_ms;
        return 0;
}

const char *forecast_state_to_string(enum forecast_state s)
{
        static const char *const names[_FORECAST_STATE_MAX] = {
                [FORECAST_NO_DATA] = "no data",       [FORECAST_NO_LIMIT] = "no limit",
                [FORECAST_WARMING_UP] = "warming up", [FORECAST_NOT_RISING] = "not rising",
                [FORECAST_RISING] = "rising",
        };

        return (unsigned)s < _FORECAST_STATE_MAX ? names[s] : NULL;
}

void forecast_tick(struct forecast *f, int64_t t_ms, bool has_ws, uint64_t ws_bytes, bool has_limit,
                   uint64_t limit_bytes, uint64_t window_ms, struct forecast_view *ret)
{
        struct forecast_view v = { .state = FORECAST_NO_DATA };
        int r;

        /* Old samples never stand in for today's: without a working set now, no figure. */
        if (has_ws)
                (void)forecast_add(f, t_ms, ws_bytes, window_ms);
        v.n = f->n;
        if (has_ws && !has_limit)
                v.state = FORECAST_NO_LIMIT;
        if (has_ws && has_limit) {
                v.limit_bytes = limit_bytes;
                r = forecast_predict(f, t_ms, limit_bytes, &v.prediction);
                v.state = r == 0         ? FORECAST_RISING
                          : r == -ERANGE ? FORECAST_NOT_RISING
                                         : FORECAST_WARMING_UP;
        }
        *ret = v;
}
