/* SPDX-License-Identifier: MIT */
/* One batch's state in memory: its trip, the actions and their attempts, the release of its
 * keys and the OOM baselines. state-json.c saves and loads it. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "state.h"
#include "util.h"

#define NAME_CHARS   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
#define ATTEMPTS_MAX 1000000
#define TIME_FORMAT  "%Y-%m-%dT%H:%M:%SZ"

static const char *const status_names[_STATE_ACTION_STATUS_MAX] = {
        [STATE_ACTION_PENDING] = "pending",
        [STATE_ACTION_IN_PROGRESS] = "in_progress",
        [STATE_ACTION_DONE] = "done",
        [STATE_ACTION_FAILED] = "failed",
};

static int lookup(const char *const *names, size_t n, const char *s)
{
        for (size_t i = 0; s && i < n; i++)
                if (names[i] && strcmp(names[i], s) == 0)
                        return (int)i;
        return -EINVAL;
}

const char *state_action_status_to_string(enum state_action_status st)
{
        return (unsigned)st < _STATE_ACTION_STATUS_MAX ? status_names[st] : NULL;
}

int state_action_status_from_string(const char *s)
{
        return lookup(status_names, _STATE_ACTION_STATUS_MAX, s);
}

static bool chars_valid(const char *s, const char *set, size_t max)
{
        size_t n = s ? strlen(s) : 0;

        return n > 0 && n <= max && strspn(s, set) == n;
}

bool state_name_valid(const char *s)
{
        return chars_valid(s, NAME_CHARS, POLICY_NAME_MAX);
}

bool state_trip_valid(const struct breaker_trip *t)
{
        if (!(state_name_valid(t->instance) || strcmp(t->instance, BREAKER_BATCH_INSTANCE) == 0) ||
            !state_name_valid(t->rule) || t->n_conditions > _COND_MAX)
                return false;
        for (size_t i = 0; i < t->n_conditions; i++) {
                const struct breaker_condition *c = &t->conditions[i];

                if ((unsigned)c->metric >= _COND_MAX || (c->has_value && !isfinite(c->value)) ||
                    !isfinite(c->threshold))
                        return false;
        }
        return true;
}

int state_new(const char *batch, struct state **ret)
{
        struct state *s;

        if (!state_name_valid(batch))
                return -EINVAL;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        strcpy(s->batch, batch);
        s->phase = BREAKER_ARMED;
        *ret = s;
        return 0;
}

struct state *state_free(struct state *s)
{
        if (!s)
                return NULL;
        free(s->baselines);
        free(s->actions);
        free(s);
        return NULL;
}

static int random_u64(uint64_t *ret)
{
        ssize_t n;

        /* Trip ids need uniqueness, not secrecy: never wait for the entropy pool. */
        do
                n = getrandom(ret, sizeof(*ret), GRND_INSECURE);
        while (n < 0 && errno == EINTR);
        if (n < 0 && errno == EINVAL) /* kernels before 5.6 */
                n = getrandom(ret, sizeof(*ret), GRND_NONBLOCK);
        if (n < 0)
                return -errno;
        return n == sizeof(*ret) ? 0 : -EIO;
}

int state_trip_id_new(const char *batch, time_t wall_s, char ret[BREAKER_TRIP_ID_MAX + 1])
{
        char id[BREAKER_TRIP_ID_MAX + 1], stamp[32];
        uint64_t rnd;
        struct tm tm;
        int r;

        if (!state_name_valid(batch) || !gmtime_r(&wall_s, &tm))
                return -EINVAL;
        if (strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) == 0)
                return -EINVAL;
        r = random_u64(&rnd);
        if (r < 0)
                return r;
        snprintf(id, sizeof(id), "%s-%s-%016" PRIx64, batch, stamp, rnd);
        for (char *p = id; *p; p++)
                if (*p == '.' || *p == '_')
                        *p = '-';
        memcpy(ret, id, sizeof(id));
        return 0;
}

static int make_actions(const struct state *s, const struct policy_action *pa, size_t n,
                        struct state_action **ret)
{
        _cleanup_free_ struct state_action *v = NULL;

        if (n > STATE_ACTIONS_MAX)
                return -EINVAL;
        v = calloc(n ? n : 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (!state_name_valid(pa[i].name))
                        return -EINVAL;
                for (size_t j = 0; j < i; j++)
                        if (strcmp(pa[j].name, pa[i].name) == 0)
                                return -EINVAL; /* keys must be unique */
                strcpy(v[i].name, pa[i].name);
                if (release_key(s->batch, s->release.id, s->release.generation, pa[i].name,
                                v[i].key) < 0)
                        return -EINVAL;
                v[i].stop_on_failure = pa[i].on_failure == ACTION_ON_FAILURE_STOP;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

/* The trip as the file keeps it: only the conditions that had data at the trip. */
static void trip_for_record(const struct breaker_trip *t, struct breaker_trip *ret)
{
        *ret = *t;
        ret->dry_run = false;
        ret->n_conditions = 0;
        for (size_t i = 0; i < t->n_conditions && i < _COND_MAX; i++)
                if (t->conditions[i].has_value)
                        ret->conditions[ret->n_conditions++] = t->conditions[i];
}

int state_release_follow(struct state *s, const char *policy_release)
{
        struct state_release *rel = &s->release;

        if (!release_valid(policy_release))
                return -EINVAL;
        if (rel->set && strcmp(rel->policy, policy_release) == 0)
                return 0;
        *rel = (struct state_release){ .set = true };
        strcpy(rel->policy, policy_release);
        strcpy(rel->id, policy_release);
        return 0;
}

int state_release_reset(struct state *s, const char *policy_release, const char *new_release)
{
        struct state_release saved = s->release;
        int r;

        if (new_release && !release_valid(new_release))
                return -EINVAL;
        if (!new_release && s->release.set && !strcmp(s->release.policy, policy_release) &&
            s->release.generation == UINT_MAX)
                return -EOVERFLOW;
        r = state_release_follow(s, policy_release);
        if (r < 0) {
                s->release = saved;
                return r;
        }
        if (new_release) {
                strcpy(s->release.id, new_release);
                s->release.generation = 0;
        } else {
                s->release.generation++;
        }
        return 0;
}

int state_begin_trip(struct state *s, const struct breaker_trip *trip, time_t wall_s,
                     const struct policy_action *pa, size_t n_actions, const char *policy_release)
{
        struct state_release saved = s->release;
        struct state_action *actions = NULL;
        struct breaker_trip t;
        struct tm tm;
        int r;

        if (s->has_trip)
                return -EBUSY;
        trip_for_record(trip, &t);
        if (!state_trip_valid(&t) || t.t_ms < 0 || !gmtime_r(&wall_s, &tm))
                return -EINVAL;
        r = state_trip_id_new(s->batch, wall_s, t.id);
        r = r ?: state_release_follow(s, policy_release);
        r = r ?: make_actions(s, pa, n_actions, &actions);
        if (r < 0) {
                s->release = saved;
                return r;
        }
        strftime(t.time, sizeof(t.time), TIME_FORMAT, &tm);
        free(s->actions);
        s->actions = actions;
        s->n_actions = n_actions;
        s->trip = t;
        s->has_trip = true;
        s->phase = BREAKER_TRIPPED;
        return 0;
}

void state_clear_trip(struct state *s)
{
        free(s->actions);
        s->actions = NULL;
        s->n_actions = 0;
        free(s->baselines);
        s->baselines = NULL;
        s->n_baselines = 0;
        s->has_trip = false;
        memset(&s->trip, 0, sizeof(s->trip));
        s->phase = BREAKER_ARMED;
}

struct state_action *state_next_pending(const struct state *s)
{
        if (!s->has_trip)
                return NULL;
        for (size_t i = 0; i < s->n_actions; i++) {
                struct state_action *a = &s->actions[i];

                if (a->status == STATE_ACTION_DONE)
                        continue;
                if (a->status != STATE_ACTION_FAILED)
                        return a;
                if (a->stop_on_failure)
                        return NULL;
        }
        return NULL;
}

void state_action_begin_attempt(struct state_action *a)
{
        a->status = STATE_ACTION_IN_PROGRESS;
        if (a->attempts < ATTEMPTS_MAX)
                a->attempts++;
}

void state_action_undo_attempt(struct state_action *a)
{
        a->status = STATE_ACTION_PENDING;
        if (a->attempts > 0)
                a->attempts--;
}

/* Keeps result text printable ASCII, so the file stays valid UTF-8 whatever a peer sent. */
static void copy_result(char *dst, const char *src)
{
        size_t i = 0;

        for (; src && src[i] && i < STATE_RESULT_MAX; i++)
                dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
        dst[i] = '\0';
}

int state_action_finish(struct state *s, struct state_action *a, enum state_action_status status,
                        const char *result)
{
        bool any_failed = false;

        if (status != STATE_ACTION_PENDING && status != STATE_ACTION_DONE &&
            status != STATE_ACTION_FAILED)
                return -EINVAL;
        a->status = status;
        a->resumed = false;
        copy_result(a->result, result);
        for (size_t i = 0; i < s->n_actions; i++)
                any_failed = any_failed || s->actions[i].status == STATE_ACTION_FAILED;
        /* The chain runs to its end (or to a failed gate) before the verdict is final. */
        if (state_next_pending(s))
                s->phase = BREAKER_TRIPPED;
        else
                s->phase = any_failed ? BREAKER_FAILED : BREAKER_ROLLED_BACK;
        return 0;
}

int state_baseline_set(struct state *s, const char *instance, uint64_t oom_kills)
{
        struct state_baseline *v;

        if (!state_name_valid(instance) || oom_kills > INT64_MAX)
                return -EINVAL;
        for (size_t i = 0; i < s->n_baselines; i++)
                if (strcmp(s->baselines[i].instance, instance) == 0) {
                        s->baselines[i].oom_kills = oom_kills;
                        return 0;
                }
        if (s->n_baselines >= STATE_BASELINES_MAX)
                return -E2BIG;
        v = reallocarray(s->baselines, s->n_baselines + 1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        s->baselines = v;
        v = &s->baselines[s->n_baselines++];
        strcpy(v->instance, instance);
        v->oom_kills = oom_kills;
        return 0;
}

int state_baseline_get(const struct state *s, const char *instance, uint64_t *ret)
{
        for (size_t i = 0; i < s->n_baselines; i++)
                if (strcmp(s->baselines[i].instance, instance) == 0) {
                        *ret = s->baselines[i].oom_kills;
                        return 0;
                }
        return -ENOENT;
}
