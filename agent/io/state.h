/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The per-batch state file: <state dir>/<batch>.json (DESIGN.md "Breaker state machine").
 *
 * It holds what must survive a crash or restart: the phase, the trip (id, time, reason),
 * the OOM-kill baselines taken at arming, and every action's status, attempts and
 * idempotency key. It never holds a token: no field of these structs can carry one.
 * Writes are atomic (temp file, fsync, rename, fsync of the directory) and keep the file they
 * replace as <batch>.json.prev; a corrupt file is moved aside and reported, never trusted,
 * and that previous copy is loaded in its place, so a tripped batch keeps its actions.
 */

#include <stdbool.h>
#include <stddef.h>
#include <limits.h>
#include <stdint.h>
#include <time.h>

#include "breaker.h"
#include "policy.h"
#include "release.h"

#define STATE_DIR_DEFAULT "/var/lib/oombreaker"
#define STATE_FILE_MAX    (1024 * 1024) /* bigger files are corrupt */
#define STATE_VERSION     1
/* A key is RELEASE_KEY_MAX long; files written before issue 16 hold <trip_id>-<name>. */
#define STATE_LEGACY_KEY_MAX (BREAKER_TRIP_ID_MAX + 1 + POLICY_NAME_MAX)
#define STATE_KEY_MAX \
        (RELEASE_KEY_MAX > STATE_LEGACY_KEY_MAX ? RELEASE_KEY_MAX : STATE_LEGACY_KEY_MAX)
#define STATE_RESULT_MAX    255 /* last result text, truncated */
#define STATE_BASELINES_MAX POLICY_TARGETS_MAX
#define STATE_ACTIONS_MAX   POLICY_ACTIONS_MAX
#define STATE_ERROR_MAX     256

enum state_action_status {
        STATE_ACTION_PENDING,
        STATE_ACTION_IN_PROGRESS, /* an attempt was started; at load it resumes as pending */
        STATE_ACTION_DONE,
        STATE_ACTION_FAILED,
        _STATE_ACTION_STATUS_MAX,
};

/* OOM kills counted when the batch was armed, so a restart does not re-count old kills. */
struct state_baseline {
        char instance[POLICY_NAME_MAX + 1];
        uint64_t oom_kills;
};

struct state_action {
        char name[POLICY_NAME_MAX + 1];
        enum state_action_status status;
        unsigned attempts;
        char result[STATE_RESULT_MAX + 1]; /* last attempt's outcome, "" before the first */
        char key[STATE_KEY_MAX + 1];       /* Idempotency-Key (core/release.h), kept as made */
        bool stop_on_failure; /* on_failure = stop: a failure ends the chain (a gate) */
        bool resumed;         /* not stored: was in progress when the file was loaded */
};

/*
 * The release part of the keys and how many resets it has seen. It follows the policy's
 * release: when that changes, id becomes it and the generation starts again at 0; `reset
 * --release ID` sets id until then. Files written before issue 16 have none (set false).
 */
struct state_release {
        bool set;
        char policy[POLICY_NAME_MAX + 1]; /* the policy's release this record counts for */
        char id[POLICY_NAME_MAX + 1];     /* the release in the key: policy, or --release ID */
        unsigned generation;              /* resets since id was set */
};

struct state {
        char batch[POLICY_NAME_MAX + 1];
        struct state_release release;
        enum breaker_phase phase;
        bool has_trip;                    /* trip is valid */
        struct breaker_trip trip;         /* with its id and time; conditions with data only */
        struct state_baseline *baselines; /* n_baselines, at most STATE_BASELINES_MAX */
        size_t n_baselines;
        struct state_action *actions; /* n_actions in policy file order */
        size_t n_actions;
};

/* Filled by state_load() when it returns -EBADMSG, for the caller to log. */
struct state_load_error {
        char reason[STATE_ERROR_MAX]; /* what was wrong with the file */
        char moved_to[PATH_MAX];      /* where it now lies; "" if it could not be moved */
};

/*
 * Allocates an armed state for batch (a valid policy name), with no trip, baselines or
 * actions. Returns 0 and *ret (free with state_free()), -EINVAL for a bad name, -ENOMEM.
 */
int state_new(const char *batch, struct state **ret);

/* Frees a state; NULL is fine. Returns NULL. */
struct state *state_free(struct state *s);

/*
 * Loads <dir>/<batch>.json. Returns 0 and *ret (free with state_free()); -ENOENT when
 * there is no state file; other -errno when it cannot be read. A corrupt file (bad JSON,
 * wrong schema, unknown phase, over STATE_FILE_MAX bytes, not a regular file) is moved
 * aside to <file>.corrupt-<unix time> and *err says why and where; then the copy the last
 * save kept, <file>.prev, is loaded instead: 1 and *ret, or -EBADMSG when it is missing or
 * corrupt too. Actions in progress at load come back pending, with their key, and resumed
 * set. Temp files a crash left mid-save are removed first.
 */
int state_load(const char *dir, const char *batch, struct state **ret,
               struct state_load_error *err);

/*
 * Atomically replaces <dir>/<batch>.json with s: a temp file in dir (mode 0640), write,
 * fsync, the old file kept as <batch>.json.prev, rename, fsync of dir. On failure the old
 * file is intact and no temp file is left. Returns 0 or -errno.
 */
int state_save(const char *dir, const struct state *s);

/*
 * Makes a new trip id for batch: the batch (with '.' and '_' turned into '-'), the UTC
 * time of wall_s and 64 random bits from getrandom(), joined by '-'. Returns 0 or -errno.
 */
int state_trip_id_new(const char *batch, time_t wall_s, char ret[BREAKER_TRIP_ID_MAX + 1]);

/*
 * Records trip in s: phase tripped, the trip with a new id, wall_s as its time and only its
 * conditions that had data, and one pending action per policy action pa[0..n_actions)
 * (file order, with its on_failure) keyed release_key(batch, release, generation, name)
 * after state_release_follow(s, policy_release). Only s in memory changes: the caller
 * saves it. Returns 0, -EBUSY if s already holds a trip (the latch), -EINVAL for bad names
 * or too many actions, or -errno from state_trip_id_new().
 */
int state_begin_trip(struct state *s, const struct breaker_trip *trip, time_t wall_s,
                     const struct policy_action *pa, size_t n_actions, const char *policy_release);

/*
 * Makes s's release record count for policy_release: unchanged when it already does, else
 * id = policy_release and generation 0. Returns 0, or -EINVAL for an invalid release.
 */
int state_release_follow(struct state *s, const char *policy_release);

/*
 * Counts a `reset` in s's release record: it follows policy_release, then new_release
 * (`reset --release ID`; NULL for none) becomes its id at generation 0, or else the
 * generation grows by one. Returns 0, or -EINVAL (s unchanged) for an invalid release,
 * -EOVERFLOW past UINT_MAX resets.
 */
int state_release_reset(struct state *s, const char *policy_release, const char *new_release);

/*
 * Forgets the trip, its actions and the baselines and returns s to armed (`reset`).
 */
void state_clear_trip(struct state *s);

/*
 * The action to run now: the first in file order that is neither done nor failed. A failed
 * action with stop_on_failure (a gate) ends the chain: NULL then, as when every action has
 * finished or there is no trip.
 */
struct state_action *state_next_pending(const struct state *s);

/*
 * Marks the start of an attempt of a: in progress, one more attempt. Save before sending,
 * so a crash after sending resumes with the same key.
 */
void state_action_begin_attempt(struct state_action *a);

/* Takes back an attempt begun but not sent (its save failed): pending, one attempt less. */
void state_action_undo_attempt(struct state_action *a);

/*
 * Records the outcome of a's attempt: status (pending to retry, done, failed) and result
 * text (truncated to STATE_RESULT_MAX), then sets the phase: tripped while the chain has an
 * action to run, then rolled_back when every action is done, failed when one failed.
 * Returns 0, or -EINVAL for an in-progress status.
 */
int state_action_finish(struct state *s, struct state_action *a, enum state_action_status status,
                        const char *result);

/* Sets the OOM-kill baseline of instance. Returns 0, -EINVAL, -E2BIG past the cap, -ENOMEM. */
int state_baseline_set(struct state *s, const char *instance, uint64_t oom_kills);

/* Looks up instance's baseline. Returns 0 and *ret, or -ENOENT. */
int state_baseline_get(const struct state *s, const char *instance, uint64_t *ret);

/*
 * The file's JSON text for s (what state_save() writes). Returns 0 and *ret (caller
 * frees), -EINVAL when s holds an invalid name or a non-finite number, -ENOMEM.
 */
int state_format(const struct state *s, char **ret);

/*
 * Parses and validates a state file's text for batch. Returns 0 and *ret (free with
 * state_free()), or -EBADMSG with a short reason in why (whysize bytes), -ENOMEM.
 * In-progress actions come back pending with resumed set.
 */
int state_parse(const char *text, size_t len, const char *batch, struct state **ret, char *why,
                size_t whysize);

/* True for a name the file may hold: [A-Za-z0-9._-]{1,POLICY_NAME_MAX}. */
bool state_name_valid(const char *s);

/* True when t's names are valid, its metrics known and its numbers finite, so it can be stored. */
bool state_trip_valid(const struct breaker_trip *t);
/* "pending", "in_progress", "done", "failed"; NULL if out of range. */
const char *state_action_status_to_string(enum state_action_status st);
/* Returns the status named s, or -EINVAL. */
int state_action_status_from_string(const char *s);
