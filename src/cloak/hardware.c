/* Hardware profiles: the YAML loader with its checks, the catalog, serial patterns, one machine's
 * identity (JSON for the repository) and its application to a vm_def. */
#include "cloak/hardware.h"

#include <ctype.h>
#include <stddef.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <yaml.h>

#include "core/log.h"
#include "core/paths.h"
#include "core/random.h"
#include "core/util.h"
#include "core/yamlfile.h"

/* ---- freeing ---- */

static void drives_free(struct hw_drive *d, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(d[i].model);
                free(d[i].firmware);
                free(d[i].serial);
        }
        free(d);
}

static void profile_done(struct hw_profile *p) {
        char **strings[] = {
                &p->name, &p->description, &p->vendor, &p->source, &p->bios.vendor, &p->bios.version,
                &p->bios.date, &p->bios.release, &p->system.manufacturer, &p->system.product, &p->system.version,
                &p->system.family, &p->system.sku, &p->system.serial, &p->baseboard.manufacturer,
                &p->baseboard.product, &p->baseboard.version, &p->baseboard.serial, &p->baseboard.asset,
                &p->baseboard.location, &p->chassis.manufacturer, &p->chassis.version, &p->chassis.serial,
                &p->chassis.asset, &p->chassis.sku, &p->processor.socket, &p->processor.manufacturer,
                &p->processor.version, &p->processor.part, &p->memory.manufacturer, &p->memory.part,
                &p->memory.locator, &p->memory.bank, &p->memory.serial, &p->cpu.model, &p->cpu.model_id,
                &p->nic.model, &p->acpi.oem_id, &p->acpi.oem_table_id,
        };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                free(*strings[i]);
        strv_free(p->nic.ouis);
        drives_free(p->disks, p->n_disks);
        drives_free(p->optical, p->n_optical);
        memset(p, 0, sizeof *p);
}

void hw_catalog_done(struct hw_catalog *c) {
        if (!c)
                return;
        for (size_t i = 0; i < c->n_profiles; i++)
                profile_done(&c->profiles[i]);
        free(c->profiles);
        *c = (struct hw_catalog){ 0 };
}

/* ---- reading YAML nodes ---- */

/* One file being read. Every problem is logged and counted, and reading goes on, so one run
 * shows the author every mistake in the file. */
struct ctx {
        const char *source;
        const char *profile;       /* the file's name without .yaml (= the profile's name) */
        yaml_document_t *doc;
        unsigned errors;
        int oom;                   /* -ENOMEM once an allocation failed */
};

static unsigned line_of(const yaml_node_t *n) { return n ? (unsigned)n->start_mark.line + 1 : 1; }

static void bad(struct ctx *c, unsigned line, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void bad(struct ctx *c, unsigned line, const char *field, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *msg = strdup_vprintf(fmt, ap);
        va_end(ap);
        c->errors++;
        if (!msg) {
                c->oom = log_oom();
                return;
        }
        log_error("%s:%u: %s: %s: %s", c->source, line, c->profile, field, msg);
}

static yaml_node_t *node(const struct ctx *c, yaml_node_item_t id) { return yaml_document_get_node(c->doc, id); }

static size_t seq_len(const yaml_node_t *s) { return s->data.sequence.items.top - s->data.sequence.items.start; }

/* A mapping being read: its node, the line of the key that holds it (for "missing" problems)
 * and its dotted path ("bios", "disks[1]"; "" for the top). */
struct section {
        const yaml_node_t *map;
        unsigned line;
        const char *path;
};

static void field_name(const struct section *s, const char *key, char *buf, size_t size) {
        snprintf(buf, size, "%s%s%s", s->path, *s->path ? "." : "", key);
}

static const yaml_node_t *section_get(const struct ctx *c, const struct section *s, const char *key,
                                      const yaml_node_t **ret_key) {
        for (yaml_node_pair_t *p = s->map->data.mapping.pairs.start; p < s->map->data.mapping.pairs.top; p++)
                if (streq_ptr(yaml_scalar(node(c, p->key)), key)) {
                        if (ret_key)
                                *ret_key = node(c, p->key);
                        return node(c, p->value);
                }
        return NULL;
}

/*
 * What a mapping holds, as a table: each key with its kind, where its value goes (an offset into
 * the struct being filled) and its limits. Keys read by their own code (sections, lists, words
 * that become enums) are F_OTHER, so the table is also the list of known keys.
 */
enum fkind {
        F_OTHER,
        F_STR,          /* required, non-empty; max: at most that many ASCII characters (0: any) */
        F_STR_OPT,      /* optional: absent is NULL (QEMU's default), "" stays "" */
        F_UINT,         /* required whole number in [min, max] */
        F_UINT_OPT,
        F_PATTERN,      /* required serial pattern: min random characters, max characters expanded (0: any) */
        F_PATTERN_OPT,
};

struct fspec {
        const char *key;
        enum fkind kind;
        size_t off;
        unsigned min, max;
        const char *what;       /* F_STR with max: what the value is, for the message */
        size_t size;            /* F_UINT*: the field's size (unsigned or uint16_t) */
};

#define F_END { NULL, F_OTHER, 0, 0, 0, NULL, 0 }
#define OTHER(k) { k, F_OTHER, 0, 0, 0, NULL, 0 }
#define STR(T, k, f) { k, F_STR, offsetof(T, f), 0, 0, NULL }
#define STR_MAX(T, k, f, n, w) { k, F_STR, offsetof(T, f), 0, n, w }
#define STR_OPT(T, k, f) { k, F_STR_OPT, offsetof(T, f), 0, 0, NULL }
#define UINT(T, k, f, lo, hi) { k, F_UINT, offsetof(T, f), lo, hi, NULL, sizeof(((T *)0)->f) }
#define UINT_OPT(T, k, f, lo, hi) { k, F_UINT_OPT, offsetof(T, f), lo, hi, NULL, sizeof(((T *)0)->f) }
#define PATTERN(T, k, f, random, len) { k, F_PATTERN, offsetof(T, f), random, len, NULL }
#define PATTERN_OPT(T, k, f, random, len) { k, F_PATTERN_OPT, offsetof(T, f), random, len, NULL }

/* Keys: each a known word, each once. */
static void check_keys(struct ctx *c, const struct section *s, const struct fspec *known) {
        for (yaml_node_pair_t *p = s->map->data.mapping.pairs.start; p < s->map->data.mapping.pairs.top; p++) {
                const yaml_node_t *k = node(c, p->key);
                const char *ks = yaml_scalar(k);
                if (!ks) {
                        bad(c, line_of(k), *s->path ? s->path : "(top)", "a key must be a plain word");
                        continue;
                }
                char f[128];
                field_name(s, ks, f, sizeof f);
                bool twice = false, found = false;
                for (yaml_node_pair_t *q = s->map->data.mapping.pairs.start; q < p && !twice; q++)
                        twice = streq_ptr(yaml_scalar(node(c, q->key)), ks);
                for (const struct fspec *fs = known; fs->key && !found; fs++)
                        found = streq(fs->key, ks);
                if (twice)
                        bad(c, line_of(k), f, "given twice");
                else if (!found) {
                        _cleanup_strv_free_ char **names = NULL;
                        for (const struct fspec *fs = known; fs->key; fs++)
                                if (strv_extend(&names, fs->key) < 0)
                                        c->oom = -ENOMEM;
                        _cleanup_free_ char *list = strv_join(names, ", ");
                        bad(c, line_of(k), f, "unknown key '%s' (known: %s)", ks, strempty(list));
                }
        }
}

/* A sub-mapping of s under key; false (after a line if required) when it is missing or no mapping. */
static bool get_section(struct ctx *c, const struct section *s, const char *key, bool required, char *path_buf,
                        size_t size, struct section *ret) {
        const yaml_node_t *k = NULL;
        const yaml_node_t *v = section_get(c, s, key, &k);
        field_name(s, key, path_buf, size);
        if (!v || yaml_is_null(v)) {
                if (required)
                        bad(c, v ? line_of(v) : s->line, path_buf, "missing (a mapping is required)");
                return false;
        }
        if (v->type != YAML_MAPPING_NODE) {
                bad(c, line_of(v), path_buf, "must be a mapping of keys to values");
                return false;
        }
        *ret = (struct section){ .map = v, .line = line_of(k), .path = path_buf };
        return true;
}

/* Printable one-line text: a control character would break the -smbios value and `list`'s table. */
static bool has_control(const char *s) {
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return true;
        return false;
}

/* A string field: required ones must be there and non-empty; optional ones may be "" (a real
 * table with an empty string) or absent (NULL: QEMU's default). *ret_line: its line. */
static void get_str(struct ctx *c, const struct section *s, const char *key, bool required, char **ret,
                    unsigned *ret_line) {
        char f[128];
        field_name(s, key, f, sizeof f);
        const yaml_node_t *v = section_get(c, s, key, NULL);
        *ret = NULL;
        if (ret_line)
                *ret_line = v ? line_of(v) : s->line;
        if (!v || yaml_is_null(v)) {
                if (required)
                        bad(c, v ? line_of(v) : s->line, f, "missing (required)");
                return;
        }
        const char *str = yaml_scalar(v);
        if (!str) {
                bad(c, line_of(v), f, "must be a string");
                return;
        }
        if (strlen(str) != v->data.scalar.length || has_control(str)) {
                bad(c, line_of(v), f, "holds a control character (one line of text)");
                return;
        }
        if (required && !*str) {
                bad(c, line_of(v), f, "must not be empty");
                return;
        }
        *ret = strdup(str);
        if (!*ret)
                c->oom = log_oom();
}

/* A whole number in [min, max], decimal or 0x hex. present: whether it was given. */
static bool get_uint(struct ctx *c, const struct section *s, const char *key, bool required, unsigned min,
                     unsigned max, unsigned *ret) {
        char f[128];
        field_name(s, key, f, sizeof f);
        const yaml_node_t *v = section_get(c, s, key, NULL);
        if (!v || yaml_is_null(v)) {
                if (required)
                        bad(c, v ? line_of(v) : s->line, f, "missing (required)");
                return false;
        }
        const char *str = yaml_scalar(v);
        bool hex = str && str[0] == '0' && (str[1] == 'x' || str[1] == 'X');
        const char *digits = str ? str + (hex ? 2 : 0) : NULL;
        bool ok = digits && *digits;
        unsigned long long n = 0;
        for (const char *p = digits; ok && *p; p++) {
                int d = hex ? (isxdigit((unsigned char)*p) ? (isdigit((unsigned char)*p) ? *p - '0'
                                                                                          : tolower(*p) - 'a' + 10)
                                                           : -1)
                            : (isdigit((unsigned char)*p) ? *p - '0' : -1);
                ok = d >= 0;
                n = n * (hex ? 16 : 10) + (unsigned)(d < 0 ? 0 : d);
                ok = ok && n <= max;
        }
        if (!ok || n < min) {
                bad(c, line_of(v), f, "'%s' is not a whole number from %u to %u", strempty(str), min, max);
                return false;
        }
        *ret = (unsigned)n;
        return true;
}

/* ---- what values may be ---- */

static bool valid_profile_name(const char *s) {
        size_t n = strlen(s);
        if (n < 1 || n > 48)
                return false;
        for (const char *p = s; *p; p++)
                if (!(*p >= 'a' && *p <= 'z') && !(*p >= '0' && *p <= '9') && *p != '-')
                        return false;
        return true;
}

/* MM/DD/YYYY, a real day: SMBIOS 2.3+ writes the BIOS date so (DSP0134 §7.1). */
static bool valid_date(const char *s) {
        static const unsigned days[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        if (strlen(s) != 10 || s[2] != '/' || s[5] != '/')
                return false;
        for (size_t i = 0; i < 10; i++)
                if (i != 2 && i != 5 && !isdigit((unsigned char)s[i]))
                        return false;
        unsigned m = (unsigned)atoi(s), d = (unsigned)atoi(s + 3), y = (unsigned)atoi(s + 6);
        if (m < 1 || m > 12 || d < 1 || d > days[m - 1] || y < 1980 || y > 2099)
                return false;
        return !(m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
}

/* "major.minor", each 0..255: QEMU's -smbios type=0,uefi=...,release= (two SMBIOS bytes). */
static bool valid_release(const char *s) {
        unsigned a, b;
        char tail;
        int used = 0;
        if (!isdigit((unsigned char)s[0]) || sscanf(s, "%3u.%3u%n%c", &a, &b, &used, &tail) != 2)
                return false;
        return (size_t)used == strlen(s) && a <= 255 && b <= 255 && !strstr(s, "+") && !strstr(s, " ");
}

/* "F8:B1:56": upper-case hex, neither multicast nor locally administered (the MAC is made of it,
 * and a real vendor's MAC has both bits clear). */
static const char *oui_problem(const char *s) {
        if (strlen(s) != 8 || s[2] != ':' || s[5] != ':')
                return "is not an OUI written XX:XX:XX";
        for (size_t i = 0; i < 8; i++)
                if (i != 2 && i != 5 && !(isdigit((unsigned char)s[i]) || (s[i] >= 'A' && s[i] <= 'F')))
                        return "is not an OUI written XX:XX:XX in upper-case hex";
        unsigned first = (unsigned)strtoul(s, NULL, 16);
        if (first & 0x03)
                return "is a multicast or locally administered prefix, no vendor's OUI";
        return NULL;
}

static bool is_random_class(char ch) { return ch == '#' || ch == '@' || ch == '?' || ch == '%' || ch == '&'; }

/* Walk a pattern: its random characters and its length once expanded (system_len for {system}).
 * NULL when it is good, else what is wrong. */
static const char *pattern_problem(const char *pat, bool system_allowed, size_t system_len, unsigned *ret_random,
                                   size_t *ret_len) {
        unsigned random = 0;
        size_t len = 0;
        for (const char *p = pat; *p; p++) {
                if (*p == ',')
                        return "holds a comma (write another character)";
                if (*p == '\\') {
                        if (!p[1])
                                return "ends in a lone '\\' (it escapes the next character)";
                        if (p[1] == ',')
                                return "holds a comma (write another character)";
                        p++;
                        len++;
                } else if (*p == '{') {
                        if (!startswith(p, "{system}"))
                                return "has a '{' that is not {system} (write \\{ for the character)";
                        if (!system_allowed)
                                return "uses {system} where there is no system serial yet";
                        p += strlen("{system}") - 1;
                        len += system_len;
                        /* The system serial differs between clones: it is as good as its own randomness. */
                        random += 4;
                } else {
                        random += is_random_class(*p);
                        len++;
                }
        }
        if (ret_random)
                *ret_random = random;
        if (ret_len)
                *ret_len = len;
        return NULL;
}

/* A serial pattern field; min_random: how many random characters it needs, max_len its expanded
 * length (0: any). */
static void check_pattern(struct ctx *c, const char *field, unsigned line, const char *pat, bool system_allowed,
                          size_t system_len, unsigned min_random, size_t max_len) {
        unsigned random;
        size_t len;
        const char *why = pattern_problem(pat, system_allowed, system_len, &random, &len);
        if (why)
                bad(c, line, field, "pattern '%s' %s", pat, why);
        else if (random < min_random)
                bad(c, line, field, "pattern '%s' has %u random characters; it needs at least %u (# @ ? %% &) so "
                    "that clones differ", pat, random, min_random);
        else if (max_len && len > max_len)
                bad(c, line, field, "pattern '%s' gives %zu characters; at most %zu fit", pat, len, max_len);
}

static bool printable_ascii(const char *s) {
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if (*p < 0x20 || *p > 0x7e)
                        return false;
        return true;
}

/* ---- sections ---- */

#define ATA_MODEL_MAX 40
#define ATA_FIRMWARE_MAX 8
#define ATA_SERIAL_MAX 20
#define MIN_RANDOM 4

static size_t system_len(const struct hw_profile *p) {
        size_t len = 0;
        if (p->system.serial && !pattern_problem(p->system.serial, false, 0, NULL, &len))
                return len;
        return 0;
}

/* The line of key's value, or of the section's key when it is missing. */
static unsigned value_line(const struct ctx *c, const struct section *s, const char *key) {
        const yaml_node_t *v = section_get(c, s, key, NULL);
        return v ? line_of(v) : s->line;
}

/* Every field of a table into base; p: the profile, whose system serial {system} stands for
 * (the system section itself cannot use it). */
static void read_fields(struct ctx *c, const struct section *s, void *base, const struct fspec *specs,
                        const struct hw_profile *p) {
        check_keys(c, s, specs);
        for (const struct fspec *fs = specs; fs->key; fs++) {
                char f[128];
                field_name(s, fs->key, f, sizeof f);
                unsigned line = value_line(c, s, fs->key);
                char **str = (char **)((char *)base + fs->off);
                switch (fs->kind) {
                case F_OTHER:
                        break;
                case F_STR:
                case F_STR_OPT:
                        get_str(c, s, fs->key, fs->kind == F_STR, str, NULL);
                        if (*str && fs->max && (strlen(*str) > fs->max || !printable_ascii(*str)))
                                bad(c, line, f, "'%s' is no %s (at most %u ASCII characters)", *str, fs->what,
                                    fs->max);
                        break;
                case F_UINT:
                case F_UINT_OPT: {
                        unsigned v = 0;
                        get_uint(c, s, fs->key, fs->kind == F_UINT, fs->min, fs->max, &v);
                        if (fs->size == sizeof(uint16_t))
                                *(uint16_t *)((char *)base + fs->off) = (uint16_t)v;
                        else
                                *(unsigned *)((char *)base + fs->off) = v;
                        break;
                }
                case F_PATTERN:
                case F_PATTERN_OPT:
                        get_str(c, s, fs->key, fs->kind == F_PATTERN, str, NULL);
                        if (*str && !printable_ascii(*str))
                                bad(c, line, f, "pattern '%s' holds a character that is not ASCII", *str);
                        else if (*str)
                                check_pattern(c, f, line, *str, !streq(s->path, "system"), system_len(p), fs->min,
                                              fs->max);
                        break;
                }
        }
}

static const struct fspec disk_fields[] = {
        STR_MAX(struct hw_drive, "model", model, ATA_MODEL_MAX, "ATA model string"),
        STR_MAX(struct hw_drive, "firmware", firmware, ATA_FIRMWARE_MAX, "ATA firmware revision"),
        PATTERN(struct hw_drive, "serial", serial, MIN_RANDOM, ATA_SERIAL_MAX),
        UINT_OPT(struct hw_drive, "rotation_rate", rotation_rate, 1, 20000),
        F_END,
};
static const struct fspec optical_fields[] = {
        STR_MAX(struct hw_drive, "model", model, ATA_MODEL_MAX, "ATA model string"),
        STR_MAX(struct hw_drive, "firmware", firmware, ATA_FIRMWARE_MAX, "ATA firmware revision"),
        PATTERN_OPT(struct hw_drive, "serial", serial, 0, ATA_SERIAL_MAX),
        F_END,
};

/* A list of drives (disks or optical). */
static void parse_drives(struct ctx *c, const struct section *top, const char *key, const struct fspec *fields,
                         const struct hw_profile *p, struct hw_drive **ret, size_t *ret_n) {
        const yaml_node_t *v = section_get(c, top, key, NULL);
        if (!v || yaml_is_null(v)) {
                bad(c, v ? line_of(v) : top->line, key, "missing (a list of drives is required)");
                return;
        }
        if (v->type != YAML_SEQUENCE_NODE || seq_len(v) == 0) {
                bad(c, line_of(v), key, "must be a list of at least one drive");
                return;
        }
        size_t n = seq_len(v);
        *ret = calloc(n, sizeof **ret);
        if (!*ret) {
                c->oom = log_oom();
                return;
        }
        *ret_n = n;
        for (size_t i = 0; i < n; i++) {
                const yaml_node_t *item = node(c, v->data.sequence.items.start[i]);
                char path[64];
                snprintf(path, sizeof path, "%s[%zu]", key, i);
                if (!item || item->type != YAML_MAPPING_NODE) {
                        bad(c, line_of(item), path, "must be a mapping with model, firmware and serial");
                        continue;
                }
                struct section s = { .map = item, .line = line_of(item), .path = path };
                read_fields(c, &s, &(*ret)[i], fields, p);
        }
}

static void check_bios(struct ctx *c, const struct section *s, struct hw_profile *p) {
        if (p->bios.date && !valid_date(p->bios.date))
                bad(c, value_line(c, s, "date"), "bios.date", "'%s' is not MM/DD/YYYY", p->bios.date);
        if (p->bios.release && !valid_release(p->bios.release))
                bad(c, value_line(c, s, "release"), "bios.release", "'%s' is not \"major.minor\" (each 0 to 255)",
                    p->bios.release);
}

static void check_cpu(struct ctx *c, const struct section *s, struct hw_profile *p) {
        /* Both travel inside QEMU's -cpu value, where a comma starts the next option. */
        if (p->cpu.model && strpbrk(p->cpu.model, ", ="))
                bad(c, value_line(c, s, "model"), "cpu.model",
                    "'%s' is no QEMU CPU model name (see qemu-system-x86_64 -cpu help)", p->cpu.model);
        if (p->cpu.model_id && strchr(p->cpu.model_id, ','))
                bad(c, value_line(c, s, "model_id"), "cpu.model_id",
                    "'%s' holds a comma, which QEMU's -cpu model-id= cannot carry", p->cpu.model_id);
        static const char *const three[] = { "family", "model_number", "stepping" };
        size_t given = 0;
        const char *first = NULL;
        for (size_t i = 0; i < ELEMENTSOF(three); i++)
                if (section_get(c, s, three[i], NULL)) {
                        given++;
                        first = first ? first : three[i];
                }
        if (given != 0 && given != ELEMENTSOF(three)) {
                char f[32];
                snprintf(f, sizeof f, "cpu.%s", first);
                bad(c, value_line(c, s, first), f, "give family, model_number and stepping all three or none");
        }
}

static void check_nic(struct ctx *c, const struct section *s, struct hw_profile *p) {
        static const char *const models[] = { "e1000e", "e1000", "rtl8139", NULL };
        const yaml_node_t *v = section_get(c, s, "ouis", NULL);
        if (!v || yaml_is_null(v))
                bad(c, v ? line_of(v) : s->line, "nic.ouis", "missing (a list of the vendor's OUIs is required)");
        else if (v->type != YAML_SEQUENCE_NODE || seq_len(v) == 0)
                bad(c, line_of(v), "nic.ouis", "must be a list of at least one OUI (\"F8:B1:56\")");
        else if (!(p->nic.ouis = calloc(seq_len(v) + 1, sizeof *p->nic.ouis)))
                c->oom = log_oom();
        else
                for (size_t i = 0, n = 0; i < seq_len(v); i++) {
                        const yaml_node_t *it = node(c, v->data.sequence.items.start[i]);
                        const char *o = yaml_scalar(it);
                        const char *why = o ? oui_problem(o) : "is no string";
                        if (why)
                                bad(c, line_of(it), "nic.ouis", "'%s' %s", strempty(o), why);
                        else if (!(p->nic.ouis[n++] = strdup(o)))
                                c->oom = log_oom();
                }
        if (p->nic.model && !strv_contains((char *const *)models, p->nic.model))
                bad(c, value_line(c, s, "model"), "nic.model", "'%s' is none of e1000e, e1000, rtl8139", p->nic.model);
        const yaml_node_t *vk = section_get(c, s, "subsystem_vendor", NULL);
        const yaml_node_t *dk = section_get(c, s, "subsystem_device", NULL);
        if (!!vk != !!dk)
                bad(c, line_of(vk ? vk : dk), vk ? "nic.subsystem_vendor" : "nic.subsystem_device",
                    "give subsystem_vendor and subsystem_device both or neither");
        else if (vk && p->nic.model && !streq(p->nic.model, "e1000e"))
                bad(c, line_of(vk), "nic.subsystem_vendor",
                    "PCI subsystem ids need model e1000e (QEMU 7.2's %s cannot take them)", p->nic.model);
}

/* A section of the profile: its fields, and the checks that need more than one field. */
struct sect {
        const char *key;
        const struct fspec *fields;
        void (*check)(struct ctx *c, const struct section *s, struct hw_profile *p);
};

#define P struct hw_profile
static const struct fspec bios_fields[] = {
        STR(P, "vendor", bios.vendor), STR(P, "version", bios.version), STR(P, "date", bios.date),
        STR_OPT(P, "release", bios.release), F_END,
};
static const struct fspec system_fields[] = {
        STR(P, "manufacturer", system.manufacturer), STR(P, "product", system.product),
        STR_OPT(P, "version", system.version), STR_OPT(P, "family", system.family), STR_OPT(P, "sku", system.sku),
        PATTERN(P, "serial", system.serial, MIN_RANDOM, 0), F_END,
};
static const struct fspec baseboard_fields[] = {
        STR(P, "manufacturer", baseboard.manufacturer), STR(P, "product", baseboard.product),
        STR_OPT(P, "version", baseboard.version), PATTERN(P, "serial", baseboard.serial, MIN_RANDOM, 0),
        STR_OPT(P, "asset", baseboard.asset), STR_OPT(P, "location", baseboard.location), F_END,
};
static const struct fspec chassis_fields[] = {
        STR(P, "manufacturer", chassis.manufacturer), UINT(P, "type", chassis.type, 1, 36),
        STR_OPT(P, "version", chassis.version), PATTERN(P, "serial", chassis.serial, 0, 0),
        STR_OPT(P, "asset", chassis.asset), STR_OPT(P, "sku", chassis.sku), F_END,
};
static const struct fspec processor_fields[] = {
        STR(P, "socket", processor.socket), STR(P, "manufacturer", processor.manufacturer),
        STR(P, "version", processor.version), UINT(P, "max_speed", processor.max_speed_mhz, 100, 10000),
        UINT(P, "current_speed", processor.current_speed_mhz, 100, 10000), STR_OPT(P, "part", processor.part),
        F_END,
};
static const struct fspec memory_fields[] = {
        STR(P, "manufacturer", memory.manufacturer), STR(P, "part", memory.part),
        UINT(P, "speed", memory.speed_mts, 100, 10000), STR(P, "locator", memory.locator),
        STR_OPT(P, "bank", memory.bank), PATTERN(P, "serial", memory.serial, 0, 0), F_END,
};
static const struct fspec cpu_fields[] = {
        STR(P, "model", cpu.model), STR_MAX(P, "model_id", cpu.model_id, 48, "CPUID brand string"),
        UINT_OPT(P, "family", cpu.family, 1, 0x10f), UINT_OPT(P, "model_number", cpu.model_number, 0, 255),
        UINT_OPT(P, "stepping", cpu.stepping, 0, 15), UINT_OPT(P, "threads_per_core", cpu.threads_per_core, 1, 2),
        F_END,
};
static const struct fspec defaults_fields[] = {
        UINT(P, "cpus", cpus, 1, 64), UINT(P, "ram_mb", ram_mb, 1024, 262144), UINT(P, "disk_gb", disk_gb, 32, 8192),
        F_END,
};
static const struct fspec nic_fields[] = {
        OTHER("ouis"), STR(P, "model", nic.model), UINT_OPT(P, "subsystem_vendor", nic.subsystem_vendor, 1, 0xffff),
        UINT_OPT(P, "subsystem_device", nic.subsystem_device, 1, 0xffff), F_END,
};
/* ACPI 6.4 §5.2.6: the table header has 6 and 8 bytes for them. */
static const struct fspec acpi_fields[] = {
        STR_MAX(P, "oem_id", acpi.oem_id, 6, "ACPI OEM ID"),
        STR_MAX(P, "oem_table_id", acpi.oem_table_id, 8, "ACPI OEM table ID"), F_END,
};
static const struct fspec top_fields[] = {
        STR(P, "name", name), STR(P, "description", description), STR(P, "vendor", vendor), OTHER("form"),
        UINT(P, "year", year, 2005, 2030), OTHER("bios"), OTHER("system"), OTHER("baseboard"), OTHER("chassis"),
        OTHER("processor"), OTHER("memory"), OTHER("cpu"), OTHER("defaults"), OTHER("nic"), OTHER("disks"),
        OTHER("optical"), OTHER("acpi"), OTHER("pointer"), F_END,
};
#undef P

/* In order: baseboard and the rest may use {system}, known once the system section is read. */
static const struct sect sections[] = {
        { "bios", bios_fields, check_bios },
        { "system", system_fields, NULL },
        { "baseboard", baseboard_fields, NULL },
        { "chassis", chassis_fields, NULL },
        { "processor", processor_fields, NULL },
        { "memory", memory_fields, NULL },
        { "cpu", cpu_fields, check_cpu },
        { "defaults", defaults_fields, NULL },
        { "nic", nic_fields, check_nic },
        { "acpi", acpi_fields, NULL },
};

/* A word of a fixed set into its index; -1 after a line when it is none of them. */
static int get_word(struct ctx *c, const struct section *top, const char *key, const char *const *words,
                    const char *expected) {
        _cleanup_free_ char *w = NULL;
        unsigned line;
        get_str(c, top, key, true, &w, &line);
        for (size_t i = 0; w && words[i]; i++)
                if (streq(words[i], w))
                        return (int)i;
        if (w)
                bad(c, line, key, "'%s' is %s", w, expected);
        return -1;
}

static void parse_profile(struct ctx *c, const yaml_node_t *root, struct hw_profile *p) {
        static const char *const forms[] = { "desktop", "laptop", "mini", "all-in-one", NULL };
        static const char *const pointers[] = { "ps2", "tablet", NULL };
        if (root->type != YAML_MAPPING_NODE) {
                bad(c, line_of(root), "(top)", "a profile is a mapping of keys to values");
                return;
        }
        struct section top = { .map = root, .line = line_of(root), .path = "" };
        read_fields(c, &top, p, top_fields, p);
        p->line = value_line(c, &top, "name");
        if (p->name && !valid_profile_name(p->name))
                bad(c, p->line, "name", "'%s' may hold only a-z, 0-9 and '-' (1 to 48 characters)", p->name);
        else if (p->name && !streq(p->name, c->profile))
                bad(c, p->line, "name", "'%s' does not match the file's name %s.yaml (a profile is in <name>.yaml)",
                    p->name, c->profile);
        int form = get_word(c, &top, "form", forms, "none of desktop, laptop, mini, all-in-one");
        p->form = form < 0 ? HW_FORM_DESKTOP : (enum hw_form)form;
        for (size_t i = 0; i < ELEMENTSOF(sections); i++) {
                char path[32];
                struct section s;
                if (!get_section(c, &top, sections[i].key, true, path, sizeof path, &s))
                        continue;
                read_fields(c, &s, p, sections[i].fields, p);
                if (sections[i].check)
                        sections[i].check(c, &s, p);
        }
        parse_drives(c, &top, "disks", disk_fields, p, &p->disks, &p->n_disks);
        parse_drives(c, &top, "optical", optical_fields, p, &p->optical, &p->n_optical);
        int pointer = get_word(c, &top, "pointer", pointers, "neither ps2 nor tablet");
        p->pointer = pointer < 0 ? HW_POINTER_PS2 : (enum hw_pointer)pointer;
}

/* Read one file into p. 0, -EINVAL after its problems, -ENOMEM. */
static int load_profile(const char *path, struct hw_profile *p) {
        *p = (struct hw_profile){ 0 };
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        _cleanup_free_ char *stem = endswith(base, ".yaml") ? strndup(base, strlen(base) - strlen(".yaml"))
                                                            : strdup(base);
        if (!stem || !(p->source = strdup(path)))
                return log_oom();
        yaml_document_t doc;
        int r = yaml_file_load(path, &doc);
        if (r < 0)
                return r;
        struct ctx c = { .source = path, .profile = stem, .doc = &doc };
        parse_profile(&c, yaml_document_get_root_node(&doc), p);
        yaml_document_delete(&doc);
        if (c.oom)
                return c.oom;
        return c.errors ? -EINVAL : 0;
}

/* ---- the catalog ---- */

static int cmp_profile(const void *a, const void *b) {
        return strcmp(((const struct hw_profile *)a)->name, ((const struct hw_profile *)b)->name);
}

/* Add p (taken); replace: a profile of the same name is replaced (the user's folder over the
 * shipped one), else it is an error. */
static int catalog_add(struct hw_catalog *c, struct hw_profile *p, bool replace) {
        for (size_t i = 0; i < c->n_profiles; i++)
                if (streq(c->profiles[i].name, p->name)) {
                        if (!replace) {
                                log_error("%s:%u: %s: name: also defined in %s (a name is given once)", p->source,
                                          p->line, p->name, c->profiles[i].source);
                                profile_done(p);
                                return -EINVAL;
                        }
                        log_debug("%s replaces the shipped hardware profile %s", p->source, c->profiles[i].source);
                        profile_done(&c->profiles[i]);
                        c->profiles[i] = *p;
                        return 0;
                }
        struct hw_profile *m = realloc(c->profiles, (c->n_profiles + 1) * sizeof *m);
        if (!m) {
                profile_done(p);
                return log_oom();
        }
        c->profiles = m;
        c->profiles[c->n_profiles++] = *p;
        return 0;
}

/* The paths of dir's profiles (core/yamlfile.h's rules). */
static int list_profiles(const char *dir, char ***ret) {
        _cleanup_strv_free_ char **names = NULL;
        int r = yaml_file_list(dir, "hardware profiles", &names);
        if (r < 0)
                return r;
        for (size_t i = 0; names && names[i]; i++) {
                char *p = path_join(dir, names[i]);
                if (!p)
                        return log_oom();
                free(names[i]);
                names[i] = p;
        }
        *ret = TAKE_PTR(names);
        return 0;
}

/* Load files into c; every file is read (so every problem is shown) before failing. */
static int load_into(struct hw_catalog *c, char *const *files, bool replace) {
        int ret = 0;
        STRV_FOREACH(f, files) {
                struct hw_profile p;
                int r = load_profile(*f, &p);
                if (r == 0)
                        r = catalog_add(c, &p, replace);
                else
                        profile_done(&p);
                if (r == -ENOMEM)
                        return r;
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

static int catalog_finish(struct hw_catalog *c, int r, struct hw_catalog *ret) {
        if (r < 0) {
                hw_catalog_done(c);
                return r;
        }
        if (c->n_profiles)
                qsort(c->profiles, c->n_profiles, sizeof *c->profiles, cmp_profile);
        *ret = *c;
        return 0;
}

int hw_catalog_load(const char *user_dir, struct hw_catalog *ret) {
        struct hw_catalog c = { 0 };
        _cleanup_free_ char *shipped = paths_data_file("hardware");
        if (!shipped)
                return log_oom();
        if (!is_dir(shipped)) {
                log_error("vmcloak's hardware profiles %s are missing: reinstall vmcloak or point VMCLOAK_DATADIR at "
                          "its data folder", shipped);
                return -ENOENT;
        }
        _cleanup_strv_free_ char **files = NULL;
        int r = list_profiles(shipped, &files);
        if (r == 0)
                r = load_into(&c, files, false);
        if (r == 0 && user_dir && path_exists(user_dir)) {
                _cleanup_strv_free_ char **user = NULL;
                if (!is_dir(user_dir)) {
                        log_error("%s is not a folder; your hardware profiles go into it as NAME.yaml files",
                                  user_dir);
                        r = -ENOTDIR;
                } else if ((r = list_profiles(user_dir, &user)) == 0)
                        r = load_into(&c, user, true);
        }
        return catalog_finish(&c, r, ret);
}

int hw_catalog_load_files(char *const *files, struct hw_catalog *ret) {
        struct hw_catalog c = { 0 };
        return catalog_finish(&c, load_into(&c, files, false), ret);
}

const struct hw_profile *hw_catalog_find(const struct hw_catalog *c, const char *name) {
        if (!c || !name)
                return NULL;
        size_t lo = 0, hi = c->n_profiles;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int k = strcmp(name, c->profiles[mid].name);
                if (k == 0)
                        return &c->profiles[mid];
                if (k < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}

const struct hw_profile *hw_catalog_random(const struct hw_catalog *c) {
        if (!c || c->n_profiles == 0)
                return NULL;
        return &c->profiles[random_u32_below((uint32_t)c->n_profiles)];
}

const struct hw_profile *hw_catalog_pick(const struct hw_catalog *c, const char *name_or_random) {
        if (streq_ptr(name_or_random, "random")) {
                const struct hw_profile *p = hw_catalog_random(c);
                if (!p)
                        log_error("there is no hardware profile to pick from (data/hardware is empty)");
                return p;
        }
        const struct hw_profile *p = hw_catalog_find(c, name_or_random);
        if (p)
                return p;
        _cleanup_strv_free_ char **names = NULL;
        for (size_t i = 0; c && i < c->n_profiles; i++)
                if (strv_extend(&names, c->profiles[i].name) < 0) {
                        log_oom();
                        return NULL;
                }
        _cleanup_free_ char *list = strv_join(names, ", ");
        log_error("unknown hardware profile '%s' (known: %s; or random; see 'vmcloak list hardware')",
                  strempty(name_or_random), isempty(list) ? "none" : list);
        return NULL;
}

const char *hw_form_to_string(enum hw_form f) {
        switch (f) {
        case HW_FORM_DESKTOP: return "desktop";
        case HW_FORM_LAPTOP: return "laptop";
        case HW_FORM_MINI: return "mini";
        case HW_FORM_ALL_IN_ONE: return "all-in-one";
        }
        return "unknown";
}

const char *hw_pointer_to_string(enum hw_pointer p) {
        switch (p) {
        case HW_POINTER_PS2: return "ps2";
        case HW_POINTER_TABLET: return "tablet";
        }
        return "unknown";
}

/* ---- serial patterns ---- */

static char random_char(char cls) {
        static const char digits[] = "0123456789", upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                          alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", hex_up[] = "0123456789ABCDEF",
                          hex_low[] = "0123456789abcdef";
        const char *set = cls == '#' ? digits : cls == '@' ? upper : cls == '?' ? alnum : cls == '%' ? hex_up : hex_low;
        return set[random_u32_below((uint32_t)strlen(set))];
}

int hw_serial_expand(const char *pattern, const char *system_serial, char **ret) {
        *ret = NULL;
        if (!pattern)
                return -EINVAL;
        size_t syslen = system_serial ? strlen(system_serial) : 0;
        size_t len;
        if (pattern_problem(pattern, system_serial != NULL, syslen, NULL, &len))
                return -EINVAL;
        char *out = malloc(len + 1);
        if (!out)
                return -ENOMEM;
        size_t k = 0;
        for (const char *p = pattern; *p; p++) {
                if (*p == '\\')
                        out[k++] = *++p;
                else if (*p == '{') {
                        memcpy(out + k, system_serial, syslen);
                        k += syslen;
                        p += strlen("{system}") - 1;
                } else
                        out[k++] = is_random_class(*p) ? random_char(*p) : *p;
        }
        out[k] = 0;
        *ret = out;
        return 0;
}

/* ---- identity ---- */

/* A version 4 UUID (RFC 4122 §4.4), lower-case; dashes: false gives systemd's machine-id form. */
static char *random_uuid(bool dashes) {
        uint8_t b[16];
        if (random_bytes(b, sizeof b) < 0)
                return NULL;
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        char hex[33];
        for (size_t i = 0; i < 16; i++)
                snprintf(hex + 2 * i, 3, "%02x", b[i]);
        if (!dashes)
                return strdup(hex);
        return strdup_printf("%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* The IEEE OUI a disk's maker puts into its WWN, told from the ATA model's prefix; 0: unknown. */
static uint32_t disk_vendor_oui(const char *model) {
        if (!model)
                return 0;
        if ((model[0] == 'S' && model[1] == 'T' && isdigit((unsigned char)model[2])) ||
            strncasecmp(model, "Seagate", 7) == 0)
                return 0x000c50;
        if (strncmp(model, "WDC", 3) == 0 || (model[0] == 'W' && model[1] == 'D' && isalnum((unsigned char)model[2])))
                return 0x0014ee;
        if (strncasecmp(model, "Samsung", 7) == 0)
                return 0x002538;
        if (strncasecmp(model, "Toshiba", 7) == 0)
                return 0x000039;
        return 0;
}

/* NAA 5 (IEEE Registered, SPC-4 §7.8.6.6.4): 4 bits NAA, 24 bits OUI, 36 bits the vendor's. */
static uint64_t random_wwn(const char *model) {
        uint32_t oui = disk_vendor_oui(model);
        if (!oui)
                return 0;
        uint64_t v = 0;
        if (random_bytes(&v, sizeof v) < 0)
                return 0;
        return (UINT64_C(5) << 60) | ((uint64_t)oui << 36) | (v & UINT64_C(0xfffffffff));
}

/* First names of the places sandboxes pretend to be: RegisteredOwner is what setup asked for. */
static const char *const owner_names[] = {
        "John", "Michael", "David", "James", "Robert", "Mark", "Paul", "Daniel", "Thomas", "Peter",
        "Sarah", "Laura", "Anna", "Maria", "Emma", "Julia", "Lisa", "Karen", "Susan", "Jennifer",
        "Chris", "Alex", "Martin", "Stefan", "Andrew", "Kevin", "Brian", "Linda", "Nicole", "Jessica",
};

static const struct hw_drive *drive_by_model(const struct hw_drive *d, size_t n, const char *model) {
        for (size_t i = 0; model && i < n; i++)
                if (streq(d[i].model, model))
                        return &d[i];
        return NULL;
}

static int strdup_or_null(char **ret, const char *s) {
        *ret = NULL;
        return s && !(*ret = strdup(s)) ? -ENOMEM : 0;
}

int hw_identity_new(const struct hw_profile *p, const struct hw_identity *keep, struct hw_identity *ret) {
        /* The loader guarantees both lists; a profile built by hand without them has no machine. */
        if (p->n_disks == 0 || p->n_optical == 0)
                return -EINVAL;
        struct hw_identity id = { 0 };
        int r = 0;
        if (!(id.profile = strdup(p->name)))
                r = -ENOMEM;
        if (r == 0)
                r = hw_serial_expand(p->system.serial, NULL, &id.system_serial);
        if (r == 0 && !(id.uuid = random_uuid(true)))
                r = -ENOMEM;
        if (r == 0)
                r = hw_serial_expand(p->baseboard.serial, id.system_serial, &id.baseboard_serial);
        if (r == 0)
                r = hw_serial_expand(p->chassis.serial, id.system_serial, &id.chassis_serial);
        if (r == 0)
                r = hw_serial_expand(p->memory.serial, id.system_serial, &id.memory_serial);

        /* A VM's disk is its image's: the same model and firmware, its own serial. */
        const struct hw_drive *disk = keep ? drive_by_model(p->disks, p->n_disks, keep->disk_model) : NULL;
        if (!disk)
                disk = &p->disks[random_u32_below((uint32_t)p->n_disks)];
        const char *disk_model = keep && keep->disk_model ? keep->disk_model : disk->model;
        if (r == 0)
                r = strdup_or_null(&id.disk_model, disk_model);
        if (r == 0)
                r = strdup_or_null(&id.disk_firmware, keep && keep->disk_firmware ? keep->disk_firmware
                                                                                   : disk->firmware);
        if (r == 0)
                r = hw_serial_expand(disk->serial, id.system_serial, &id.disk_serial);
        id.disk_wwn = random_wwn(disk_model);

        const struct hw_drive *opt = keep ? drive_by_model(p->optical, p->n_optical, keep->optical_model) : NULL;
        if (!opt)
                opt = &p->optical[random_u32_below((uint32_t)p->n_optical)];
        if (r == 0)
                r = strdup_or_null(&id.optical_model, keep && keep->optical_model ? keep->optical_model : opt->model);
        if (r == 0)
                r = strdup_or_null(&id.optical_firmware, keep && keep->optical_firmware ? keep->optical_firmware
                                                                                        : opt->firmware);
        if (r == 0 && opt->serial)
                r = hw_serial_expand(opt->serial, id.system_serial, &id.optical_serial);

        /* The OUI is the vendor's (the loader refused multicast and local prefixes); the rest is ours. */
        size_t n_ouis = strv_length(p->nic.ouis);
        if (r == 0 && n_ouis) {
                uint8_t b[3];
                const char *oui = p->nic.ouis[random_u32_below((uint32_t)n_ouis)];
                if ((r = random_bytes(b, sizeof b)) == 0) {
                        id.mac = strdup_printf("%.8s:%02x:%02x:%02x", oui, b[0], b[1], b[2]);
                        if (!id.mac)
                                r = -ENOMEM;
                        for (char *m = id.mac; m && *m; m++)
                                *m = (char)tolower((unsigned char)*m);
                }
        }
        if (r == 0 && (!(id.machine_id = random_uuid(false)) || !(id.machine_guid = random_uuid(true))))
                r = -ENOMEM;
        if (r == 0 && !(id.owner = strdup(owner_names[random_u32_below(ELEMENTSOF(owner_names))])))
                r = -ENOMEM;
        id.install_date = (int64_t)time(NULL) - 60 * 86400 - (int64_t)random_u32_below(840 * 86400 + 1);
        if (r < 0) {
                hw_identity_done(&id);
                return r == -ENOMEM ? log_oom() : r;
        }
        *ret = id;
        return 0;
}

/* Every string of an identity with its JSON key, so done, to_json and from_json cannot miss one. */
#define IDENTITY_STRINGS(id)                                                                                  \
        { "profile", &(id)->profile }, { "system_serial", &(id)->system_serial }, { "uuid", &(id)->uuid },    \
        { "baseboard_serial", &(id)->baseboard_serial }, { "chassis_serial", &(id)->chassis_serial },       \
        { "memory_serial", &(id)->memory_serial }, { "disk_model", &(id)->disk_model },                     \
        { "disk_firmware", &(id)->disk_firmware }, { "disk_serial", &(id)->disk_serial },                   \
        { "optical_model", &(id)->optical_model }, { "optical_firmware", &(id)->optical_firmware },         \
        { "optical_serial", &(id)->optical_serial }, { "mac", &(id)->mac }, { "machine_id", &(id)->machine_id }, \
        { "machine_guid", &(id)->machine_guid }, { "owner", &(id)->owner }

struct id_string {
        const char *key;
        char **value;
};

void hw_identity_done(struct hw_identity *id) {
        if (!id)
                return;
        const struct id_string s[] = { IDENTITY_STRINGS(id) };
        for (size_t i = 0; i < ELEMENTSOF(s); i++)
                free(*s[i].value);
        *id = (struct hw_identity){ 0 };
}

/* Optional in an identity: a drive without a serial, a NIC without a MAC (a profile always has one). */
static bool optional_key(const char *key) { return streq(key, "optical_serial"); }

int hw_identity_to_json(const struct hw_identity *id, char **ret) {
        struct hw_identity *m = (struct hw_identity *)id;
        const struct id_string s[] = { IDENTITY_STRINGS(m) };
        json_object *o = json_object_new_object();
        if (!o)
                return log_oom();
        for (size_t i = 0; i < ELEMENTSOF(s); i++)
                json_object_object_add(o, s[i].key, *s[i].value ? json_object_new_string(*s[i].value) : NULL);
        /* Hex in a string: a 64-bit WWN does not survive a JSON reader that reads numbers as doubles. */
        char wwn[24];
        snprintf(wwn, sizeof wwn, "0x%016" PRIx64, id->disk_wwn);
        json_object_object_add(o, "disk_wwn", id->disk_wwn ? json_object_new_string(wwn) : NULL);
        json_object_object_add(o, "install_date", json_object_new_int64(id->install_date));
        const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        *ret = text ? strdup(text) : NULL;
        json_object_put(o);
        return *ret ? 0 : log_oom();
}

static int id_bad(const char *key, const char *what) {
        log_error("the stored hardware identity is damaged: '%s' %s (create the VM again)", key, what);
        return -EINVAL;
}

int hw_identity_from_json(const char *text, struct hw_identity *ret) {
        struct hw_identity id = { 0 };
        const struct id_string s[] = { IDENTITY_STRINGS(&id) };
        json_object *o = text ? json_tokener_parse(text) : NULL;
        int r = 0;
        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                log_error("the stored hardware identity is damaged: it is no JSON object (create the VM again)");
                return -EINVAL;
        }
        for (size_t i = 0; r == 0 && i < ELEMENTSOF(s); i++) {
                json_object *v = NULL;
                if (!json_object_object_get_ex(o, s[i].key, &v) || !v) {
                        if (!optional_key(s[i].key))
                                r = id_bad(s[i].key, "is missing");
                } else if (!json_object_is_type(v, json_type_string))
                        r = id_bad(s[i].key, "is no string");
                else if (!(*s[i].value = strdup(json_object_get_string(v))))
                        r = log_oom();
        }
        json_object *v = NULL;
        if (r == 0 && json_object_object_get_ex(o, "disk_wwn", &v) && v) {
                const char *w = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
                char *end = NULL;
                errno = 0;
                id.disk_wwn = w && startswith(w, "0x") ? strtoull(w + 2, &end, 16) : 0;
                if (!w || !end || *end || errno || end == w + 2)
                        r = id_bad("disk_wwn", "is no hex number (\"0x5000c500...\")");
        }
        if (r == 0) {
                if (!json_object_object_get_ex(o, "install_date", &v) || !json_object_is_type(v, json_type_int))
                        r = id_bad("install_date", "is no whole number of seconds");
                else
                        id.install_date = json_object_get_int64(v);
        }
        json_object_put(o);
        if (r < 0) {
                hw_identity_done(&id);
                return r;
        }
        *ret = id;
        return 0;
}

/* ---- applying ---- */

/* Each string of d set to the profile's or identity's value, the old one freed. */
struct assign {
        char **to;
        const char *from;
};

static int assign_all(const struct assign *a, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (free_and_strdup(a[i].to, a[i].from) < 0)
                        return log_oom();
        return 0;
}

/* QEMU 7.2 fills a version the command line leaves out of types 1, 2 and 3 with the machine type
 * ("pc-q35-7.2", hw/smbios/smbios.c smbios_set_defaults): a profile that has none gets an empty
 * one, which QEMU writes as no string, as a real table without it has. */
static const char *version_or_empty(const char *v) { return v ? v : ""; }

int hw_apply(const struct hw_profile *p, const struct hw_identity *id, struct vm_def *d) {
        struct vm_smbios *sm = &d->id.smbios;
        if (d->n_cdroms == 0 && vm_def_add_cdrom(d, NULL) < 0)
                return log_oom();
        struct vm_cdrom *cd = &d->cdroms[0];
        const struct assign a[] = {
                { &sm->bios.vendor, p->bios.vendor },
                { &sm->bios.version, p->bios.version },
                { &sm->bios.date, p->bios.date },
                { &sm->bios.release, p->bios.release },
                { &sm->system.manufacturer, p->system.manufacturer },
                { &sm->system.product, p->system.product },
                { &sm->system.version, version_or_empty(p->system.version) },
                { &sm->system.serial, id->system_serial },
                { &sm->system.uuid, id->uuid },
                { &sm->system.sku, p->system.sku },
                { &sm->system.family, p->system.family },
                { &sm->baseboard.manufacturer, p->baseboard.manufacturer },
                { &sm->baseboard.product, p->baseboard.product },
                { &sm->baseboard.version, version_or_empty(p->baseboard.version) },
                { &sm->baseboard.serial, id->baseboard_serial },
                { &sm->baseboard.asset, p->baseboard.asset },
                { &sm->baseboard.location, p->baseboard.location },
                { &sm->chassis.manufacturer, p->chassis.manufacturer },
                { &sm->chassis.version, version_or_empty(p->chassis.version) },
                { &sm->chassis.serial, id->chassis_serial },
                { &sm->chassis.asset, p->chassis.asset },
                { &sm->chassis.sku, p->chassis.sku },
                { &sm->processor.socket, p->processor.socket },
                { &sm->processor.manufacturer, p->processor.manufacturer },
                { &sm->processor.version, p->processor.version },
                { &sm->processor.part, p->processor.part },
                { &sm->memory.locator, p->memory.locator },
                { &sm->memory.bank, p->memory.bank },
                { &sm->memory.manufacturer, p->memory.manufacturer },
                { &sm->memory.serial, id->memory_serial },
                { &sm->memory.part, p->memory.part },
                { &d->id.cpu.model, p->cpu.model },
                { &d->id.cpu.model_id, p->cpu.model_id },
                { &d->id.acpi.oem_id, p->acpi.oem_id },
                { &d->id.acpi.oem_table_id, p->acpi.oem_table_id },
                { &d->disk.model, id->disk_model },
                { &d->disk.firmware, id->disk_firmware },
                { &d->disk.serial, id->disk_serial },
                { &cd->model, id->optical_model },
                { &cd->firmware, id->optical_firmware },
                { &cd->serial, id->optical_serial },
                { &d->nic.mac, id->mac },
        };
        int r = assign_all(a, ELEMENTSOF(a));
        if (r < 0)
                return r;
        /* The rotation rate belongs to the drive model the identity has (the image's). */
        d->disk.rotation_rate = 0;
        for (size_t i = 0; i < p->n_disks; i++)
                if (streq(p->disks[i].model, id->disk_model))
                        d->disk.rotation_rate = p->disks[i].rotation_rate;
        if (!d->nic.model && !(d->nic.model = strdup(p->nic.model)))
                return log_oom();
        sm->chassis.type = p->chassis.type;
        sm->processor.max_speed_mhz = p->processor.max_speed_mhz;
        sm->processor.current_speed_mhz = p->processor.current_speed_mhz;
        sm->memory.speed_mts = p->memory.speed_mts;
        d->id.cpu.family = p->cpu.family;
        d->id.cpu.model_number = p->cpu.model_number;
        d->id.cpu.stepping = p->cpu.stepping;
        d->id.cpu.threads_per_core = p->cpu.threads_per_core;
        d->id.cpu.hide_kvm = true;
        /* Applied twice (install, then modify), the feature stays one entry. */
        bool have = false;
        for (size_t i = 0; i < d->id.cpu.n_features; i++)
                if (streq(d->id.cpu.features[i].name, "hypervisor")) {
                        d->id.cpu.features[i].enabled = false;
                        have = true;
                }
        if (!have && vm_def_add_cpu_feature(d, "hypervisor", false) < 0)
                return log_oom();
        d->disk.wwn = id->disk_wwn;
        bool e1000e = streq(d->nic.model, "e1000e");
        d->nic.subsystem_vendor = e1000e ? p->nic.subsystem_vendor : 0;
        d->nic.subsystem_device = e1000e ? p->nic.subsystem_device : 0;
        d->pointer = p->pointer == HW_POINTER_PS2 ? VM_POINTER_PS2 : VM_POINTER_TABLET;
        d->vmport_off = true;
        return 0;
}
