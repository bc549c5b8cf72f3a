/* SPDX-License-Identifier: MIT */
/* The state file's JSON form: formatting, strict parsing, loading from and saving to disk. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "fileio.h"
#include "state.h"
#include "trip-json.h"
#include "util.h"

#define ATTEMPTS_MAX 1000000

/* jansson.h provides json_decrefp() for GCC and clang. */
#define _cleanup_json_ _cleanup_(json_decrefp)

static void statep_free(struct state **s)
{
        state_free(*s);
}
#define _cleanup_state_ _cleanup_(statep_free)

/* The trip in the one form trip-json.h renders, embedded as an object. */
static json_t *trip_to_json(const struct state *s)
{
        _cleanup_free_ char *text = NULL;

        if (!s->has_trip)
                return json_null();
        if (trip_json_format(&s->trip, TRIP_JSON_STATE, &text) < 0)
                return NULL;
        return json_loads(text, 0, NULL);
}

static json_t *baselines_to_json(const struct state *s)
{
        _cleanup_json_ json_t *o = json_object();

        for (size_t i = 0; o && i < s->n_baselines; i++)
                if (json_object_set_new(o, s->baselines[i].instance,
                                        json_integer((json_int_t)s->baselines[i].oom_kills)) < 0)
                        return NULL;
        return TAKE_PTR(o);
}

/* One action; on_failure only when it is a gate, so files without gates keep their bytes. */
static json_t *action_to_json(const struct state_action *a)
{
        const char *status = state_action_status_to_string(a->status);
        _cleanup_json_ json_t *o = NULL;

        if (!status)
                return NULL;
        o = json_pack("{s:s, s:s, s:I, s:s, s:s}", "name", a->name, "status", status, "attempts",
                      (json_int_t)a->attempts, "result", a->result, "key", a->key);
        if (o && a->stop_on_failure && json_object_set_new(o, "on_failure", json_string("stop")))
                return NULL;
        return TAKE_PTR(o);
}

static json_t *actions_to_json(const struct state *s)
{
        _cleanup_json_ json_t *v = json_array();

        for (size_t i = 0; v && i < s->n_actions; i++)
                if (json_array_append_new(v, action_to_json(&s->actions[i])) < 0)
                        return NULL;
        return TAKE_PTR(v);
}

/* The release record; absent until the first trip or reset, so older files keep their bytes. */
static json_t *release_to_json(const struct state *s)
{
        const struct state_release *rel = &s->release;

        return json_pack("{s:s, s:s, s:I}", "policy", rel->policy, "id", rel->id, "generation",
                         (json_int_t)rel->generation);
}

int state_format(const struct state *s, char **ret)
{
        _cleanup_json_ json_t *o = NULL, *release = NULL;
        const char *phase = breaker_phase_to_string(s->phase);
        char *text;

        if (!phase || !state_name_valid(s->batch) || (s->has_trip && !state_trip_valid(&s->trip)))
                return -EINVAL;
        if (s->release.set && !(release = release_to_json(s)))
                return -ENOMEM;
        /* "o" steals each reference even when packing fails, so nothing leaks. */
        o = json_pack("{s:i, s:s, s:s, s:O*, s:o, s:o, s:o}", "version", STATE_VERSION, "batch",
                      s->batch, "phase", phase, "release", release, "trip", trip_to_json(s),
                      "oom_baselines", baselines_to_json(s), "actions", actions_to_json(s));
        if (!o)
                return -ENOMEM;
        text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

static int copy_checked(char *dst, size_t size, const char *src, bool ok, const char *what,
                        char *why, size_t whysize)
{
        if (!ok || strlen(src) >= size)
                return trip_json_bad(why, whysize, "invalid %s \"%.64s\"", what, src);
        strcpy(dst, src);
        return 0;
}

static int parse_trip(json_t *j, struct state *s, char *why, size_t whysize)
{
        _cleanup_free_ char *text = NULL;
        int r;

        if (json_is_null(j))
                return 0;
        text = json_dumps(j, JSON_COMPACT);
        if (!text)
                return -ENOMEM;
        r = trip_json_parse(text, strlen(text), TRIP_JSON_STATE, &s->trip, why, whysize);
        if (r < 0)
                return r;
        if (!state_trip_valid(&s->trip))
                return trip_json_bad(why, whysize, "trip reason: invalid name or number");
        s->has_trip = true;
        return 0;
}

static int parse_baselines(json_t *j, struct state *s, char *why, size_t whysize)
{
        const char *instance;
        json_t *v;
        int r;

        if (!json_is_object(j) || json_object_size(j) > STATE_BASELINES_MAX)
                return trip_json_bad(why, whysize, "oom_baselines must be an object of at most %d",
                                     STATE_BASELINES_MAX);
        json_object_foreach(j, instance, v)
        {
                if (!json_is_integer(v) || json_integer_value(v) < 0)
                        return trip_json_bad(why, whysize,
                                             "oom_baselines: \"%.64s\" is not a count", instance);
                r = state_baseline_set(s, instance, (uint64_t)json_integer_value(v));
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        return trip_json_bad(why, whysize,
                                             "oom_baselines: invalid instance \"%.64s\"", instance);
        }
        return 0;
}

/* The key is what receivers deduplicate on: it must be exactly the one the trip made, from
 * the release record, or <trip_id>-<name> in a file written before issue 16. */
static bool key_matches(const struct state *s, const char *name, const char *key)
{
        char want[STATE_KEY_MAX + 1];
        size_t n = strlen(s->trip.id);

        if (s->release.set &&
            release_key(s->batch, s->release.id, s->release.generation, name, want) == 0 &&
            strcmp(key, want) == 0)
                return true;
        return strncmp(key, s->trip.id, n) == 0 && key[n] == '-' && strcmp(key + n + 1, name) == 0;
}

static int parse_release(json_t *j, struct state *s, char *why, size_t whysize)
{
        struct state_release *rel = &s->release;
        const char *policy, *id;
        json_int_t generation;
        json_error_t je;

        if (!j)
                return 0; /* written before issue 16: generation 0 of the policy's release */
        if (json_unpack_ex(j, &je, JSON_STRICT, "{s:s, s:s, s:I}", "policy", &policy, "id", &id,
                           "generation", &generation) < 0)
                return trip_json_bad(why, whysize, "release: %s", je.text);
        if (!release_valid(policy) || !release_valid(id))
                return trip_json_bad(why, whysize, "release: invalid name");
        if (generation < 0 || generation > UINT_MAX)
                return trip_json_bad(why, whysize, "release: generation out of range");
        strcpy(rel->policy, policy);
        strcpy(rel->id, id);
        rel->generation = (unsigned)generation;
        rel->set = true;
        return 0;
}

static int parse_action(json_t *j, const struct state *s, size_t i, char *why, size_t whysize)
{
        struct state_action *a = &s->actions[i];
        const char *name, *status, *result, *key, *on_failure = "continue";
        json_int_t attempts;
        json_error_t je;
        int st, r;

        /* on_failure is optional: files written before it existed continue, the default. */
        if (json_unpack_ex(j, &je, JSON_STRICT, "{s:s, s:s, s:I, s:s, s:s, s?s}", "name", &name,
                           "status", &status, "attempts", &attempts, "result", &result, "key", &key,
                           "on_failure", &on_failure) < 0)
                return trip_json_bad(why, whysize, "action %zu: %s", i, je.text);
        if (strcmp(on_failure, "continue") && strcmp(on_failure, "stop"))
                return trip_json_bad(why, whysize,
                                     "action %zu: on_failure must be continue or stop", i);
        a->stop_on_failure = !strcmp(on_failure, "stop");
        st = state_action_status_from_string(status);
        if (st < 0)
                return trip_json_bad(why, whysize, "action %zu: unknown status \"%.32s\"", i,
                                     status);
        if (attempts < 0 || attempts > ATTEMPTS_MAX)
                return trip_json_bad(why, whysize, "action %zu: attempts out of range", i);
        r = copy_checked(a->name, sizeof(a->name), name, state_name_valid(name), "action name", why,
                         whysize);
        r = r ?: copy_checked(a->result, sizeof(a->result), result, true, "result", why, whysize);
        r = r ?: copy_checked(a->key, sizeof(a->key), key, true, "key", why, whysize);
        if (r < 0)
                return r;
        for (size_t k = 0; k < i; k++)
                if (strcmp(s->actions[k].name, a->name) == 0)
                        return trip_json_bad(why, whysize, "action \"%s\" appears twice", a->name);
        if (!key_matches(s, a->name, key))
                return trip_json_bad(why, whysize, "action \"%s\": key does not match the trip",
                                     a->name);
        a->status = (enum state_action_status)st;
        a->attempts = (unsigned)attempts;
        if (a->status == STATE_ACTION_IN_PROGRESS) {
                a->status = STATE_ACTION_PENDING;
                a->resumed = true;
        }
        return 0;
}

static int parse_actions(json_t *j, struct state *s, char *why, size_t whysize)
{
        size_t n = json_array_size(j);
        json_t *v;
        size_t i;
        int r;

        if (!json_is_array(j) || n > STATE_ACTIONS_MAX)
                return trip_json_bad(why, whysize, "actions must be an array of at most %d",
                                     STATE_ACTIONS_MAX);
        if (n > 0 && !s->has_trip)
                return trip_json_bad(why, whysize, "actions without a trip");
        s->actions = calloc(n ? n : 1, sizeof(*s->actions));
        if (!s->actions)
                return -ENOMEM;
        s->n_actions = n;
        json_array_foreach(j, i, v)
        {
                r = parse_action(v, s, i, why, whysize);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_root(json_t *o, const char *batch, struct state *s, char *why, size_t whysize)
{
        json_t *trip, *baselines, *actions, *release = NULL;
        const char *name, *phase;
        enum breaker_phase p;
        json_int_t version;
        json_error_t je;
        int r;

        if (json_unpack_ex(o, &je, JSON_STRICT, "{s:I, s:s, s:s, s?o, s:o, s:o, s:o}", "version",
                           &version, "batch", &name, "phase", &phase, "release", &release, "trip",
                           &trip, "oom_baselines", &baselines, "actions", &actions) < 0)
                return trip_json_bad(why, whysize, "%s", je.text);
        if (version != STATE_VERSION)
                return trip_json_bad(why, whysize, "unsupported version %lld", (long long)version);
        if (strcmp(name, batch) != 0)
                return trip_json_bad(why, whysize, "holds batch \"%.64s\", not \"%s\"", name,
                                     batch);
        if (breaker_phase_from_string(phase, &p) < 0)
                return trip_json_bad(why, whysize, "unknown phase \"%.32s\"", phase);
        s->phase = p;
        r = parse_release(release, s, why, whysize);
        r = r ?: parse_trip(trip, s, why, whysize);
        r = r ?: parse_baselines(baselines, s, why, whysize);
        r = r ?: parse_actions(actions, s, why, whysize);
        if (r < 0)
                return r;
        if (breaker_phase_latched(s->phase) && !s->has_trip)
                return trip_json_bad(why, whysize, "phase %s without a trip", phase);
        return 0;
}

int state_parse(const char *text, size_t len, const char *batch, struct state **ret, char *why,
                size_t whysize)
{
        _cleanup_state_ struct state *s = NULL;
        _cleanup_json_ json_t *o = NULL;
        json_error_t je;
        int r;

        r = state_new(batch, &s);
        if (r < 0)
                return r;
        o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        if (!o)
                return trip_json_bad(why, whysize, "not JSON: %s (line %d)", je.text, je.line);
        r = parse_root(o, batch, s, why, whysize);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

static int corrupt(const char *path, const char *why, struct state_load_error *err)
{
        int r;

        snprintf(err->reason, sizeof(err->reason), "%s", why);
        err->moved_to[0] = '\0';
        r = fileio_move_aside(path, "corrupt", err->moved_to, sizeof(err->moved_to));
        if (r < 0) {
                err->moved_to[0] = '\0';
                snprintf(err->reason, sizeof(err->reason), "%.180s; not moved aside: %s", why,
                         strerror(-r));
        }
        return -EBADMSG;
}

/* Reads and parses path; a bad file is -EBADMSG with the reason in why. */
static int load_file(const char *path, const char *batch, struct state **ret, char *why,
                     size_t whysize)
{
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r;

        r = fileio_read_capped(path, STATE_FILE_MAX, &text, &len);
        if (r == -EFBIG)
                return trip_json_bad(why, whysize, "larger than %d bytes", STATE_FILE_MAX);
        if (r == -EBADF)
                return trip_json_bad(why, whysize, "not a regular file");
        if (r < 0)
                return r;
        return state_parse(text, len, batch, ret, why, whysize);
}

/* The main file is corrupt: moves it aside and falls back on the copy kept by the last save. */
static int load_previous(const char *path, const char *batch, struct state **ret, const char *why,
                         struct state_load_error *err)
{
        char prev[PATH_MAX + sizeof(".prev")], pwhy[STATE_ERROR_MAX];
        int r = corrupt(path, why, err);

        snprintf(prev, sizeof(prev), "%s.prev", path);
        if (load_file(prev, batch, ret, pwhy, sizeof(pwhy)) < 0)
                return r;
        return 1;
}

int state_load(const char *dir, const char *batch, struct state **ret, struct state_load_error *err)
{
        struct state_load_error local;
        char path[PATH_MAX], why[STATE_ERROR_MAX];
        int r;

        if (!state_name_valid(batch))
                return -EINVAL;
        if (!err)
                err = &local;
        if (snprintf(path, sizeof(path), "%s/%s.json", dir, batch) >= (int)sizeof(path))
                return -ENAMETOOLONG;
        /* A crash mid-save leaves a temp file; the renamed file is the truth. */
        (void)fileio_remove_stale_temps(dir, path + strlen(dir) + 1);
        r = load_file(path, batch, ret, why, sizeof(why));
        if (r == -EBADMSG)
                return load_previous(path, batch, ret, why, err);
        return r < 0 ? r : 0;
}

int state_save(const char *dir, const struct state *s)
{
        _cleanup_free_ char *text = NULL;
        char name[POLICY_NAME_MAX + sizeof(".json")], prev[sizeof(name) + sizeof(".prev")];
        int r;

        if (!state_name_valid(s->batch))
                return -EINVAL;
        r = state_format(s, &text);
        if (r < 0)
                return r;
        if (strlen(text) > STATE_FILE_MAX)
                return -EFBIG;
        snprintf(name, sizeof(name), "%s.json", s->batch);
        snprintf(prev, sizeof(prev), "%s.prev", name);
        return fileio_write_atomic_keep(dir, name, prev, text, strlen(text), 0640);
}
