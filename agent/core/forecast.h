/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Forecast: when will a target's working set reach its memory limit?
 *
 * A leak is a trend. The forecast keeps the working set of the last window of samples,
 * fits a least-squares line through them and extrapolates it to the limit. Pure: the caller
 * hands in each sample's time and figures; the fit and its inputs are plain values, so a
 * trace holds everything replay needs to reproduce the verdict exactly.
 *
 * The rules it follows (docs/policy.md, time_to_limit_below):
 *  - fewer than FORECAST_MIN_SAMPLES samples in the window, or samples spanning less than
 *    FORECAST_MIN_SPAN_MS, is no-data ("warming up");
 *  - a flat or falling trend never reaches the limit;
 *  - a working set that falls by more than half between two samples (a restart of the
 *    target, or a counter reset) starts the window again from that sample;
 *  - the prediction is the later of two lines': the whole window's and its last
 *    FORECAST_MIN_SAMPLES samples'. A burst that has stopped (a cache filled at start-up, a
 *    one-off allocation) keeps the window's line rising long after; the recent line is flat
 *    again at once. A leak keeps both rising.
 * Measured on the real traces in tests/fixtures/traces/real (docs/BENCHMARKS.md): without the
 * span and the recent line, a service filling an 80 MiB cache in ~6 s after each restart tripped
 * a 30 s threshold every time.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FORECAST_MIN_SAMPLES 4
#define FORECAST_MIN_SPAN_MS 10000 /* a shorter run of samples is start-up, not yet a trend */
#define FORECAST_SAMPLES_MAX 128   /* older samples of a long window give way to newer ones */

struct forecast_point {
        int64_t t_ms;
        uint64_t bytes;
};

/* The samples of one target's window, oldest first, in a ring. Zero-initialise to start. */
struct forecast {
        struct forecast_point points[FORECAST_SAMPLES_MAX];
        size_t head; /* index of the oldest point */
        size_t n;
};

/* The least-squares line through the window: bytes(t) = intercept + slope * (t - t0_ms). */
struct forecast_fit {
        size_t n;                 /* samples in the fit */
        int64_t t0_ms;            /* time of the oldest sample: the line's origin */
        double intercept_bytes;   /* the line at t0_ms */
        double slope_bytes_per_s; /* the trend; <= 0 never reaches a limit */
};

/* Forgets every sample. */
void forecast_reset(struct forecast *f);

/*
 * Adds the working set at t_ms (times must not go backwards; an older or equal time
 * replaces nothing and is ignored, returning -EINVAL), then drops samples older than
 * window_ms before it. A fall by more than half restarts the window. Returns 0 or -EINVAL.
 */
int forecast_add(struct forecast *f, int64_t t_ms, uint64_t bytes, uint64_t window_ms);

/* Fits the line through the window. Returns 0, or -ENODATA while warming up (fewer than
 * FORECAST_MIN_SAMPLES samples, or spanning less than FORECAST_MIN_SPAN_MS). */
int forecast_fit(const struct forecast *f, struct forecast_fit *ret);

/* Fits the line through the newest FORECAST_MIN_SAMPLES samples. Returns 0 or -ENODATA (too
 * few samples). */
int forecast_fit_recent(const struct forecast *f, struct forecast_fit *ret);

/*
 * Milliseconds from now_ms until the fitted line reaches limit_bytes. Returns 0 and the
 * time (which is <= 0 when the line is already at or past the limit), or -ERANGE when the
 * trend is flat or falling and the line never reaches it.
 */
int forecast_time_to_limit(const struct forecast_fit *fit, int64_t now_ms, uint64_t limit_bytes,
                           int64_t *ret_ms);

/* What the rule sees: both lines, and when the working set reaches the limit. */
struct forecast_prediction {
        struct forecast_fit window; /* the line through the whole window */
        struct forecast_fit recent; /* the line through its newest FORECAST_MIN_SAMPLES samples */
        int64_t time_to_limit_ms;   /* the later of the two lines' times; <= 0: at or past it */
};

/*
 * Predicts, at now_ms, when the working set reaches limit_bytes. Returns 0 with *ret filled,
 * -ENODATA while warming up, or -ERANGE when either line is flat or falling (never). *ret's
 * fits are written for -ERANGE too, so a caller can show them.
 */
int forecast_predict(const struct forecast *f, int64_t now_ms, uint64_t limit_bytes,
                     struct forecast_prediction *ret);

/* What one tick's forecast says, and why it says nothing. */
enum forecast_state {
        FORECAST_NO_DATA,    /* no working set this tick */
        FORECAST_NO_LIMIT,   /* no limit: the cgroup has none and memory_limit is unset */
        FORECAST_WARMING_UP, /* too few samples, or too short a span */
        FORECAST_NOT_RISING, /* flat or falling: never reaches the limit */
        FORECAST_RISING,     /* prediction.time_to_limit_ms holds the time */
        _FORECAST_STATE_MAX,
};

/* One tick's forecast of one instance: the rule's figure, status and the trace show it. */
struct forecast_view {
        enum forecast_state state;
        size_t n;                              /* samples in the window */
        uint64_t limit_bytes;                  /* the limit it predicts against (NO_LIMIT: 0) */
        struct forecast_prediction prediction; /* fits: NOT_RISING and RISING; time: RISING */
};

/* "no data", "no limit", "warming up", "not rising", "rising"; NULL if out of range. */
const char *forecast_state_to_string(enum forecast_state s);

/*
 * One tick at t_ms: adds the working set when has_ws (forecast_add() over window_ms), then
 * predicts against limit_bytes when has_limit. Fills *ret.
 */
void forecast_tick(struct forecast *f, int64_t t_ms, bool has_ws, uint64_t ws_bytes, bool has_limit,
                   uint64_t limit_bytes, uint64_t window_ms, struct forecast_view *ret);
