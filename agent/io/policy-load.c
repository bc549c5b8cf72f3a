/* SPDX-License-Identifier: MIT */
/*
 * Loading a policy file: the edges of the policy layer. The core parses the text; here we
 * read the file, run inih over it, and check what only the file system can tell.
 */
#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "policy-load.h"
#include "token.h"
#include "release.h"
#include "sha256.h"
#include "util.h"

static void configure_inih(void)
{
#ifdef HAVE_INI_RUNTIME_OPTIONS
        ini_allow_multiline = false;
        ini_max_line = POLICY_LINE_MAX + 2;
        ini_stop_on_first_error = false;
        ini_allow_no_value = false;
#endif
}

/*
 * Reads action a's token_file into *ret (malloc'd, or NULL when it cannot be read): the
 * same judge as at send time (token.h). For `check` a file that is missing or that this
 * user cannot open is a warning: it may exist only on the node the policy runs on.
 */
static void load_token(const struct policy_action *a, unsigned flags, struct policy_diags *diags,
                       char **ret)
{
        char token[TOKEN_MAX], why[512];
        int r = token_read(a->token_file, token, sizeof(token), why, sizeof(why));
        bool warn = (flags & POLICY_LOAD_CHECK) && (r == -ENOENT || r == -ENOTDIR || r == -EACCES);

        if (r < 0) {
                policy_diags_add(diags, a->token_file_line, warn, "%s", why);
                return;
        }
        *ret = strdup(token);
        explicit_bzero(token, sizeof(token));
        if (!*ret)
                policy_diags_add(diags, a->token_file_line, false, "token_file %s: %s",
                                 a->token_file, strerror(ENOMEM));
}

/* Reads every action's token into tokens[] (n_actions of them, each NULL or malloc'd). */
static void load_tokens(const struct policy *p, unsigned flags, struct policy_diags *diags,
                        char **tokens)
{
        for (size_t i = 0; i < p->n_actions; i++) {
                const struct policy_action *a = &p->actions[i];

                if (a->token_file && a->token_file_line > 0)
                        load_token(a, flags, diags, &tokens[i]);
        }
}

/* Hands tokens[] to p's actions, or wipes and frees them when p is NULL. Frees the array. */
static void give_tokens(struct policy *p, char **tokens, size_t n)
{
        for (size_t i = 0; tokens && i < n; i++) {
                if (p) {
                        p->actions[i].token = tokens[i];
                        continue;
                }
                if (tokens[i])
                        explicit_bzero(tokens[i], strlen(tokens[i]));
                free(tokens[i]);
        }
        free(tokens);
}

/* A policy without `release` keys its actions by its bytes: the same file, the same key. */
static void release_of_text(const char *text, size_t len, char ret[POLICY_NAME_MAX + 1])
{
        unsigned char md[SHA256_DIGEST_SIZE];

        sha256(text, len, md);
        release_from_sha256(md, ret);
}

/* Parses text; st, when given, is the file's, whose mode is checked too. */
static int parse(const char *text, size_t len, const char *name, unsigned flags,
                 const struct stat *st, struct policy **ret, struct policy_diags *diags)
{
        struct policy_parser *ps = NULL;
        struct policy *p_done;
        const struct policy *p;
        char **tokens = NULL;
        size_t n = 0;
        int r;

        r = policy_parser_new(text, len, name, diags, &ps);
        if (r < 0)
                return r;
        if (st && !(flags & POLICY_LOAD_NO_MODE_CHECKS) && (st->st_mode & 022))
                policy_diags_add(diags, 0, false,
                                 "refusing a policy file writable by group or others (mode "
                                 "%04o; run chmod go-w)",
                                 (unsigned)(st->st_mode & 07777));
        configure_inih();
        r = ini_parse_stream(policy_parser_read_line, ps, policy_parser_set_key, ps);
        p = policy_parser_end(ps, r);
        if (!(flags & POLICY_LOAD_NO_MODE_CHECKS) && p->n_actions > 0) {
                n = p->n_actions;
                tokens = calloc(n, sizeof(*tokens));
                if (!tokens)
                        policy_diags_add(diags, 0, false, "cannot read the token files: %s",
                                         strerror(ENOMEM));
                else
                        load_tokens(p, flags, diags, tokens);
        }
        r = policy_parser_finish(ps, &p_done);
        give_tokens(r >= 0 ? p_done : NULL, tokens, n);
        if (r < 0)
                return r;
        if (!p_done->release[0])
                release_of_text(text, len, p_done->release);
        *ret = p_done;
        return 0;
}

int policy_parse_text(const char *text, size_t len, const char *name, unsigned flags,
                      struct policy **ret, struct policy_diags *diags)
{
        return parse(text, len, name, flags, NULL, ret, diags);
}

int policy_parse_string(const char *text, const char *name, unsigned flags, struct policy **ret,
                        struct policy_diags *diags)
{
        return parse(text, strlen(text), name, flags, NULL, ret, diags);
}

int policy_load(const char *path, unsigned flags, struct policy **ret, struct policy_diags *diags)
{
        _cleanup_free_ char *text = NULL;
        struct stat st;
        size_t len = 0;
        int r;

        r = fileio_read_capped_stat(path, POLICY_FILE_MAX, &text, &len, &st);
        if (r == -EBADF || r == -EFBIG) {
                policy_diags_add(diags, 0, false, "not a regular file of at most %d bytes",
                                 POLICY_FILE_MAX);
                return -EINVAL;
        }
        if (r < 0) {
                policy_diags_add(diags, 0, false, "cannot read: %s", strerror(-r));
                return r;
        }
        return parse(text, len, path, flags, &st, ret, diags);
}
