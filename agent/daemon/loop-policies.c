/* SPDX-License-Identifier: MIT */
/* Policy files: finding them, loading them at start, and reloading them on SIGHUP. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include "log.h"
#include "loop-internal.h"
#include "notify.h"
#include "policy-load.h"
#include "units.h"
#include "util.h"

static struct batch *find_batch_by_path(struct loop *l, const char *path)
{
        for (size_t i = 0; i < l->n; i++)
                if (!strcmp(batch_policy(l->batches[i])->path, path))
                        return l->batches[i];
        return NULL;
}

struct file_list {
        char **v;
        size_t n;
};

static void file_list_free(struct file_list *fl)
{
        for (size_t i = 0; i < fl->n; i++)
                free(fl->v[i]);
        free(fl->v);
        fl->v = NULL;
        fl->n = 0;
}

static int file_list_add(struct file_list *fl, const char *dir, const char *name)
{
        char **v = realloc(fl->v, (fl->n + 1) * sizeof(*v));

        if (!v)
                return -ENOMEM;
        fl->v = v;
        if (dir ? asprintf(&v[fl->n], "%s/%s", dir, name) < 0 : !(v[fl->n] = strdup(name)))
                return -ENOMEM;
        fl->n++;
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* --policy files, then the *.ini files of --policy-dir in name order. */
static int list_policy_files(const struct loop_config *cfg, struct file_list *fl)
{
        struct dirent *de;
        DIR *d;
        int r = 0;

        for (size_t i = 0; i < cfg->n_policy_files && r >= 0; i++)
                r = file_list_add(fl, NULL, cfg->policy_files[i]);
        if (r < 0 || !cfg->policy_dir)
                return r;
        d = opendir(cfg->policy_dir);
        if (!d) {
                r = -errno; /* before logging, which may change errno */
                log_error("cannot read the policy directory %s: %s", cfg->policy_dir, strerror(-r));
                return r;
        }
        while (r >= 0 && (de = readdir(d))) {
                size_t n = strlen(de->d_name);

                if (de->d_name[0] != '.' && n > 4 && !strcmp(de->d_name + n - 4, ".ini"))
                        r = file_list_add(fl, cfg->policy_dir, de->d_name);
        }
        closedir(d);
        if (fl->n > 1)
                qsort(fl->v + cfg->n_policy_files, fl->n - cfg->n_policy_files, sizeof(char *),
                      cmp_str);
        return r;
}

/* Keeps an invalid file's first error for status and /metrics, one with a line if any. */
static void note_error(struct loop *l, const char *path, const struct policy_diags *diags, int r)
{
        const struct policy_diag *d = NULL;
        char *e;

        if (l->n_policy_errors == LOOP_POLICY_ERRORS_MAX)
                return;
        for (size_t i = 0; i < diags->n; i++)
                if (!diags->v[i].warning && (!d || (d->line == 0 && diags->v[i].line > 0)))
                        d = &diags->v[i];
        e = l->policy_errors[l->n_policy_errors++];
        if (d && d->line > 0)
                snprintf(e, sizeof(l->policy_errors[0]), "%s:%d: %s", path, d->line, d->message);
        else if (d)
                snprintf(e, sizeof(l->policy_errors[0]), "%s: %s", path, d->message);
        else
                snprintf(e, sizeof(l->policy_errors[0]), "%s: %s", path, strerror(-r));
}

/* Loads one file, logging every problem as FILE:LINE: message. */
static int load_policy(struct loop *l, const char *path, struct policy **ret, struct stat *ret_st)
{
        struct policy_diags diags = { 0 };
        struct policy *p = NULL;
        int r;

        r = policy_load(path, 0, &p, &diags);
        if (r < 0)
                note_error(l, path, &diags, r);
        for (size_t i = 0; i < diags.n; i++) {
                const struct policy_diag *d = &diags.v[i];
                char line[1024];

                log_msg(d->warning ? LOG_LEVEL_WARNING : LOG_LEVEL_ERR, "%s",
                        policy_diag_format(d, path, line, sizeof(line)));
        }
        if (diags.n_dropped)
                log_error("%s: %zu more problems not shown", path, diags.n_dropped);
        policy_diags_clear(&diags);
        if (r < 0)
                return r;
        if (stat(path, ret_st) < 0) {
                policy_free(p);
                return -errno;
        }
        if (l->cfg->dry_run)
                p->dry_run = true;
        *ret = p;
        return 0;
}

static int add_batch(struct loop *l, struct policy *p, const struct stat *st)
{
        struct batch *b = NULL;
        const char *path = p->path;
        char every[32];
        int r;

        if (loop_find_batch(l, p->name)) {
                log_error("%s: batch %s is already defined by %s; ignoring this file", path,
                          p->name, batch_policy(loop_find_batch(l, p->name))->path);
                policy_free(p);
                return -EEXIST;
        }
        if (l->n == LOOP_BATCHES_MAX) {
                log_error("%s: more than %d batches; ignoring this file", path, LOOP_BATCHES_MAX);
                policy_free(p);
                return -E2BIG;
        }
        r = batch_new(p, st, &l->env, loop_now_ms(l), &b);
        if (r < 0)
                return r;
        l->batches[l->n++] = b;
        units_format_duration(batch_policy(b)->interval_ms, every, sizeof(every));
        log_full(LOG_LEVEL_NOTICE, LOG_FIELDS(.batch = batch_name(b), .phase = "armed"),
                 "batch %s: armed from %s (%zu targets, %zu rules, %zu actions, every %s%s)",
                 batch_name(b), batch_policy(b)->path, batch_policy(b)->n_targets,
                 batch_policy(b)->n_rules, batch_policy(b)->n_actions, every,
                 batch_policy(b)->dry_run ? ", dry run" : "");
        return 0;
}

/* At start: --policy files must load; a bad file in --policy-dir is logged and skipped. */
int loop_load_all(struct loop *l)
{
        struct file_list fl = { 0 };
        int r = list_policy_files(l->cfg, &fl);

        l->n_policy_errors = 0;
        for (size_t i = 0; r >= 0 && i < fl.n; i++) {
                bool explicit = i < l->cfg->n_policy_files;
                struct policy *p;
                struct stat st;
                int k = load_policy(l, fl.v[i], &p, &st);

                if (k >= 0)
                        k = add_batch(l, p, &st);
                if (k < 0 && explicit)
                        r = k;
                else if (k < 0)
                        log_error("%s: not loaded; fix it and reload (systemctl reload "
                                  "oombreaker)",
                                  fl.v[i]);
        }
        file_list_free(&fl);
        return r;
}

static void drop_batch(struct loop *l, size_t i)
{
        log_full(LOG_LEVEL_NOTICE, LOG_FIELDS(.batch = batch_name(l->batches[i])),
                 "batch %s: its policy file is gone; no longer watched (state file kept)",
                 batch_name(l->batches[i]));
        batch_free(l->batches[i]);
        memmove(&l->batches[i], &l->batches[i + 1], (l->n - i - 1) * sizeof(l->batches[0]));
        l->n--;
}

static bool listed(const struct file_list *fl, const char *path)
{
        for (size_t i = 0; i < fl->n; i++)
                if (!strcmp(fl->v[i], path))
                        return true;
        return false;
}

void loop_rescan(struct loop *l)
{
        struct file_list fl = { 0 };

        l->rescan_due_ms = 0;
        if (list_policy_files(l->cfg, &fl) < 0) {
                log_error("reload failed: keeping every batch as it is");
                file_list_free(&fl);
                return;
        }
        l->n_policy_errors = 0;
        for (size_t i = l->n; i-- > 0;)
                if (!listed(&fl, batch_policy(l->batches[i])->path))
                        drop_batch(l, i);
        for (size_t i = 0; i < fl.n; i++) {
                struct batch *old = find_batch_by_path(l, fl.v[i]);
                struct policy *p;
                struct stat st;

                if (old && stat(fl.v[i], &st) == 0 && batch_same_file(old, &st))
                        continue;
                if (load_policy(l, fl.v[i], &p, &st) < 0) {
                        if (old)
                                log_error("%s: invalid; batch %s keeps its previous policy",
                                          fl.v[i], batch_name(old));
                        continue;
                }
                if (old && !strcmp(batch_name(old), p->name))
                        batch_update_policy(old, p, &st, loop_now_ms(l));
                else if (old) {
                        log_error("%s: the batch name changed from %s to %s; keeping %s", fl.v[i],
                                  batch_name(old), p->name, batch_name(old));
                        policy_free(p);
                } else
                        add_batch(l, p, &st);
        }
        file_list_free(&fl);
        l->publish = true;
}

/* SIGHUP: new batches are armed, removed ones dropped, changed ones updated in place. */
void loop_reload(struct loop *l)
{
        notify_reloading();
        log_notice("reloading policies");
        loop_rescan(l);
        notify_ready();
}

void loop_watch_policy_dir(struct loop *l)
{
        char reason[EVENTS_REASON_MAX];
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &l->policy_watch };
        int r;

        if (!l->cfg->policy_dir || l->efd < 0)
                return;
        r = events_policy_dir_open(l->cfg->policy_dir, 0, reason, &l->policy_watch);
        if (r >= 0 && epoll_ctl(l->efd, EPOLL_CTL_ADD, l->policy_watch.fd, &ev) < 0) {
                r = -errno;
                snprintf(reason, sizeof(reason), "epoll: %s", strerror(-r));
                events_source_close(&l->policy_watch);
        }
        if (r < 0)
                log_warning("%s: not watched (%s): changes need a reload (SIGHUP)",
                            l->cfg->policy_dir, reason);
}

void loop_policy_dir_event(struct loop *l, uint32_t revents, int64_t now)
{
        struct events_fired f;

        if (events_dispatch(&l->policy_watch, (short)revents, &f) <= 0)
                return;
        if (f.gone) {
                log_warning("%s: the policy directory is gone; no longer watched",
                            l->cfg->policy_dir);
                events_source_close(&l->policy_watch);
        }
        if (l->rescan_due_ms == 0)
                l->rescan_due_ms = now + LOOP_RESCAN_DEBOUNCE_MS;
}
