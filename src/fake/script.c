/* The fake driver's shared state behind one lock: script, command answers, hook, journal, uploads. */
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/interrupt.h"
#include "core/util.h"
#include "fake/internal.h"

struct upload {
        char *domain;
        char *path;
        struct fake_upload info;
};

/* Everything below sits behind lock; journal_changed is broadcast on every journal line. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t journal_changed = PTHREAD_COND_INITIALIZER;
static bool have_script;
static struct fake_script script;      /* owned copies */
static struct fake_answer *answers;    /* owned copies */
static size_t n_answers;
static fake_hook_fn hook;
static void *hook_userdata;
static char **journal;
static size_t n_journal, cap_journal;
static struct upload *uploads;
static size_t n_uploads;

static char *const default_environ[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "TMPDIR=/tmp",
                                         "LANG=C.UTF-8", NULL };

void fake_script_init(struct fake_script *s) {
        *s = (struct fake_script){
                .boot = {
                        [FAKE_BOOT_INSTALL] = { .boot_ms = 20, .end = FAKE_END_POWEROFF },
                        [FAKE_BOOT_DISK] = { .boot_ms = 20, .end = FAKE_END_AGENT },
                        [FAKE_BOOT_RESTORE] = { .boot_ms = 0, .end = FAKE_END_AGENT },
                },
                .reboot_ms = 20,
                .shutdown_ms = 10,
                .system = "Linux",
                .environ = default_environ,
                .host_version = "8.2.0",
        };
}

/* Free the strings of a script copy made by script_copy (its pointers are owned then). */
static void script_free(struct fake_script *s) {
        for (size_t k = 0; k < FAKE_BOOT_KINDS; k++) {
                free((char *)s->boot[k].die_detail);
                strv_free((char **)s->boot[k].serial_boot);
                strv_free((char **)s->boot[k].serial_reboot);
                strv_free((char **)s->boot[k].serial_end);
        }
        strv_free((char **)s->serial_shutdown);
        free((char *)s->system);
        strv_free((char **)s->environ);
        free((char *)s->host_version);
        memset(s, 0, sizeof *s);
}

/* strv_copy that keeps NULL as NULL; false on ENOMEM. */
static bool copy_strv(char *const *from, char *const **to) {
        *to = NULL;
        if (!from)
                return true;
        *to = strv_copy(from);
        return *to != NULL;
}

static bool copy_str(const char *from, const char **to) {
        *to = from ? strdup(from) : NULL;
        return !from || *to;
}

static int script_copy(const struct fake_script *from, struct fake_script *to) {
        memset(to, 0, sizeof *to);
        to->reboot_ms = from->reboot_ms;
        to->shutdown_ms = from->shutdown_ms;
        bool ok = true;
        for (size_t k = 0; k < FAKE_BOOT_KINDS; k++) {
                const struct fake_boot_script *f = &from->boot[k];
                struct fake_boot_script *t = &to->boot[k];
                t->boot_ms = f->boot_ms;
                t->reboots = f->reboots;
                t->end = f->end;
                ok = ok && copy_str(f->die_detail, &t->die_detail) && copy_strv(f->serial_boot, &t->serial_boot) &&
                     copy_strv(f->serial_reboot, &t->serial_reboot) && copy_strv(f->serial_end, &t->serial_end);
        }
        ok = ok && copy_strv(from->serial_shutdown, &to->serial_shutdown) && copy_str(from->system, &to->system) &&
             copy_strv(from->environ, &to->environ) && copy_str(from->host_version, &to->host_version);
        if (!ok) {
                script_free(to);
                return -ENOMEM;
        }
        return 0;
}

/* The script in force; lock held. Falls back to the defaults (which need no copy). */
static const struct fake_script *current_script(struct fake_script *defaults) {
        if (have_script)
                return &script;
        fake_script_init(defaults);
        return defaults;
}

int fake_set_script(const struct fake_script *s) {
        struct fake_script copy;
        int r = script_copy(s, &copy);
        if (r < 0)
                return r;
        pthread_mutex_lock(&lock);
        if (have_script)
                script_free(&script);
        script = copy;
        have_script = true;
        pthread_mutex_unlock(&lock);
        return 0;
}

int fake_run_load(enum fake_boot kind, bool reboot_powers_off, struct fake_run *ret) {
        memset(ret, 0, sizeof *ret);
        ret->kind = kind;
        ret->reboot_powers_off = reboot_powers_off;
        pthread_mutex_lock(&lock);
        struct fake_script defaults;
        const struct fake_script *s = current_script(&defaults);
        const struct fake_boot_script *b = &s->boot[kind];
        ret->boot.boot_ms = b->boot_ms;
        ret->boot.reboots = b->reboots;
        ret->boot.end = b->end;
        ret->reboot_ms = s->reboot_ms;
        ret->shutdown_ms = s->shutdown_ms;
        bool ok = copy_str(b->die_detail, &ret->boot.die_detail) && copy_strv(b->serial_boot, &ret->boot.serial_boot) &&
                  copy_strv(b->serial_reboot, &ret->boot.serial_reboot) &&
                  copy_strv(b->serial_end, &ret->boot.serial_end) &&
                  copy_strv(s->serial_shutdown, (char *const **)&ret->serial_shutdown);
        pthread_mutex_unlock(&lock);
        if (!ok) {
                fake_run_done(ret);
                return -ENOMEM;
        }
        return 0;
}

void fake_run_done(struct fake_run *r) {
        free((char *)r->boot.die_detail);
        strv_free((char **)r->boot.serial_boot);
        strv_free((char **)r->boot.serial_reboot);
        strv_free((char **)r->boot.serial_end);
        strv_free(r->serial_shutdown);
        memset(r, 0, sizeof *r);
}

int fake_facts(char **ret_system, char ***ret_environ, char **ret_version) {
        pthread_mutex_lock(&lock);
        struct fake_script defaults;
        const struct fake_script *s = current_script(&defaults);
        bool ok = true;
        if (ret_system)
                ok = ok && (*ret_system = strdup(s->system ? s->system : "Linux"));
        if (ret_environ)
                ok = ok && (*ret_environ = strv_copy(s->environ ? s->environ : (char *const[]){ NULL }));
        if (ret_version)
                ok = ok && (*ret_version = strdup(s->host_version ? s->host_version : "8.2.0"));
        pthread_mutex_unlock(&lock);
        return ok ? 0 : -ENOMEM;
}

/* ---- answers ---- */

static void answer_free(struct fake_answer *a) {
        free((char *)a->match);
        free((char *)a->domain);
        free((char *)a->out);
        free((char *)a->err);
}

int fake_add_answer(const struct fake_answer *a) {
        if (isempty(a->match))
                return -EINVAL;
        struct fake_answer c = *a;
        /* '+', not '||': every copy runs, so answer_free() sees only copies or NULLs. */
        if (!copy_str(a->match, &c.match) + !copy_str(a->domain, &c.domain) + !copy_str(a->out, &c.out) +
            !copy_str(a->err, &c.err)) {
                answer_free(&c);
                return -ENOMEM;
        }
        pthread_mutex_lock(&lock);
        struct fake_answer *n = realloc(answers, (n_answers + 1) * sizeof *n);
        if (n) {
                answers = n;
                answers[n_answers++] = c;
        }
        pthread_mutex_unlock(&lock);
        if (!n) {
                answer_free(&c);
                return -ENOMEM;
        }
        return 0;
}

static bool answer_matches(const struct fake_answer *a, const char *domain, const char *command) {
        if (a->domain && !streq(a->domain, domain))
                return false;
        if (a->how == FAKE_MATCH_GLOB)
                return fnmatch(a->match, command, 0) == 0;
        return startswith(command, a->match) != NULL;
}

int fake_answer_lookup(const char *domain, const char *command, struct fake_answer *ret) {
        *ret = (struct fake_answer){ 0 };
        int r = 0;
        pthread_mutex_lock(&lock);
        for (size_t i = 0; i < n_answers; i++)
                if (answer_matches(&answers[i], domain, command)) {
                        *ret = answers[i];
                        ret->match = ret->domain = NULL;
                        if (!copy_str(answers[i].out, &ret->out) + !copy_str(answers[i].err, &ret->err))
                                r = -ENOMEM;
                        break;
                }
        pthread_mutex_unlock(&lock);
        if (r < 0) {
                answer_free(ret);
                *ret = (struct fake_answer){ 0 };
        }
        return r;
}

/* ---- the screen ---- */

static fake_screen_fn screen_fn;
static void *screen_userdata;

void fake_set_screen(fake_screen_fn fn, void *userdata) {
        pthread_mutex_lock(&lock);
        screen_fn = fn;
        screen_userdata = userdata;
        pthread_mutex_unlock(&lock);
}

unsigned fake_screen_level(const char *domain, int64_t ms_since_power_on) {
        pthread_mutex_lock(&lock);
        fake_screen_fn fn = screen_fn;
        void *userdata = screen_userdata;
        pthread_mutex_unlock(&lock);
        return fn ? fn(domain, ms_since_power_on, userdata) & 0xff : 0;
}

/* ---- the hook ---- */

void fake_set_hook(fake_hook_fn fn, void *userdata) {
        pthread_mutex_lock(&lock);
        hook = fn;
        hook_userdata = userdata;
        pthread_mutex_unlock(&lock);
}

enum fake_action fake_hook_call(const char *domain, const char *moment, const char *arg, int *ret_errno) {
        pthread_mutex_lock(&lock);
        fake_hook_fn fn = hook;
        void *userdata = hook_userdata;
        pthread_mutex_unlock(&lock);
        *ret_errno = 0;
        if (!fn)
                return FAKE_CONTINUE;
        struct fake_moment m = { .domain = domain, .name = moment, .arg = arg };
        int e = 0;
        enum fake_action a = fn(&m, &e, userdata);
        switch (a) {
        case FAKE_SIGINT:
        case FAKE_SIGTERM:
                /* The handler of core/interrupt.h runs on this thread and sets the flag every
                 * wait polls. */
                raise(a == FAKE_SIGINT ? SIGINT : SIGTERM);
                return FAKE_CONTINUE;
        case FAKE_FAIL:
                *ret_errno = e == 0 ? EIO : e < 0 ? -e : e;
                return a;
        case FAKE_DIE:
        case FAKE_HANG:
                return a;
        default:
                return FAKE_CONTINUE;
        }
}

/* ---- the journal ---- */

void fake_journal_add(const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        char *line = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!line)
                return;   /* out of memory: the assertion that looks for it will say so */
        pthread_mutex_lock(&lock);
        if (n_journal + 2 > cap_journal) {
                size_t cap = cap_journal ? cap_journal * 2 : 64;
                char **n = realloc(journal, cap * sizeof *n);
                if (!n) {
                        pthread_mutex_unlock(&lock);
                        free(line);
                        return;
                }
                journal = n;
                cap_journal = cap;
        }
        journal[n_journal++] = line;
        journal[n_journal] = NULL;
        pthread_cond_broadcast(&journal_changed);
        pthread_mutex_unlock(&lock);
}

static bool pattern_matches(const char *pattern, const char *line) {
        size_t l = strlen(pattern);
        if (l > 0 && pattern[l - 1] == '*')
                return strncmp(line, pattern, l - 1) == 0;
        return streq(line, pattern);
}

char **fake_journal(void) {
        pthread_mutex_lock(&lock);
        char **l = journal ? strv_copy(journal) : calloc(1, sizeof(char *));
        pthread_mutex_unlock(&lock);
        return l;
}

char *fake_journal_text(void) {
        _cleanup_strv_free_ char **l = fake_journal();
        if (!l)
                return NULL;
        _cleanup_free_ char *s = strv_join(l, "\n");
        return s ? strdup_printf("%s%s", s, *l ? "\n" : "") : NULL;
}

/* lock held */
static ssize_t find_locked(const char *pattern, size_t from) {
        for (size_t i = from; i < n_journal; i++)
                if (pattern_matches(pattern, journal[i]))
                        return (ssize_t)i;
        return -ENOENT;
}

ssize_t fake_journal_find(const char *pattern, size_t from) {
        pthread_mutex_lock(&lock);
        ssize_t r = find_locked(pattern, from);
        pthread_mutex_unlock(&lock);
        return r;
}

size_t fake_journal_count(const char *pattern) {
        size_t n = 0;
        pthread_mutex_lock(&lock);
        for (size_t i = 0; i < n_journal; i++)
                n += pattern_matches(pattern, journal[i]);
        pthread_mutex_unlock(&lock);
        return n;
}

ssize_t fake_journal_wait(const char *pattern, int timeout_ms) {
        int64_t deadline = now_ms() + timeout_ms;
        pthread_mutex_lock(&lock);
        ssize_t r;
        for (;;) {
                r = find_locked(pattern, 0);
                if (r >= 0)
                        break;
                if (interrupted()) {
                        r = -ECANCELED;
                        break;
                }
                int64_t left = deadline - now_ms();
                if (left <= 0) {
                        r = -ETIMEDOUT;
                        break;
                }
                /* Short slices: a signal sets the interrupt flag without waking us. */
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                int64_t slice = left < 20 ? left : 20;
                ts.tv_nsec += (long)(slice * 1000000);
                if (ts.tv_nsec >= 1000000000) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&journal_changed, &lock, &ts);
        }
        pthread_mutex_unlock(&lock);
        return r;
}

/* ---- uploads ---- */

uint64_t fake_hash_update(uint64_t h, const void *data, size_t len) {
        const unsigned char *p = data;
        for (size_t i = 0; i < len; i++) {
                h ^= p[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

uint64_t fake_hash(const void *data, size_t len) { return fake_hash_update(FAKE_HASH_INIT, data, len); }

/* lock held */
static struct upload *upload_find_locked(const char *domain, const char *guest_path) {
        for (size_t i = n_uploads; i > 0; i--)
                if (streq(uploads[i - 1].domain, domain) && streq(uploads[i - 1].path, guest_path))
                        return &uploads[i - 1];
        return NULL;
}

int fake_upload_record(const char *domain, const char *guest_path, uint64_t size, uint64_t hash) {
        int r = 0;
        pthread_mutex_lock(&lock);
        struct upload *u = upload_find_locked(domain, guest_path);
        if (!u) {
                struct upload *n = realloc(uploads, (n_uploads + 1) * sizeof *n);
                char *dn = strdup(domain), *pn = strdup(guest_path);
                if (!n || !dn || !pn) {
                        if (n)
                                uploads = n;
                        free(dn);
                        free(pn);
                        r = -ENOMEM;
                        goto out;
                }
                uploads = n;
                u = &uploads[n_uploads++];
                *u = (struct upload){ .domain = dn, .path = pn };
        }
        u->info = (struct fake_upload){ .size = size, .hash = hash };
out:
        pthread_mutex_unlock(&lock);
        return r;
}

void fake_upload_forget(const char *domain, const char *guest_path) {
        pthread_mutex_lock(&lock);
        struct upload *u = upload_find_locked(domain, guest_path);
        if (u) {
                free(u->domain);
                free(u->path);
                *u = uploads[--n_uploads];
        }
        pthread_mutex_unlock(&lock);
}

int fake_upload_find(const char *domain, const char *guest_path, struct fake_upload *ret) {
        pthread_mutex_lock(&lock);
        struct upload *u = upload_find_locked(domain, guest_path);
        if (u && ret)
                *ret = u->info;
        pthread_mutex_unlock(&lock);
        return u ? 0 : -ENOENT;
}

const char *fake_base(const char *path) {
        if (!path)
                return "";
        const char *b = strrchr(path, '/');
        return b ? b + 1 : path;
}

void fake_reset(void) {
        fake_hosts_reset();
        pthread_mutex_lock(&lock);
        if (have_script)
                script_free(&script);
        have_script = false;
        for (size_t i = 0; i < n_answers; i++)
                answer_free(&answers[i]);
        free(answers);
        answers = NULL;
        n_answers = 0;
        hook = NULL;
        hook_userdata = NULL;
        screen_fn = NULL;
        screen_userdata = NULL;
        for (size_t i = 0; i < n_journal; i++)
                free(journal[i]);
        free(journal);
        journal = NULL;
        n_journal = cap_journal = 0;
        for (size_t i = 0; i < n_uploads; i++) {
                free(uploads[i].domain);
                free(uploads[i].path);
        }
        free(uploads);
        uploads = NULL;
        n_uploads = 0;
        pthread_mutex_unlock(&lock);
}
