/* vmcloak list images|snapshots|deps|hardware: tables for people, VMCloak's lines for its scripts, JSON. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "cmd/jsonout.h"
#include "core/log.h"
#include "core/repo.h"
#include "core/tags.h"
#include "core/util.h"
#include "deps/catalog.h"
#include "pipeline/tags.h"

/* How the lists print: like `ls`, the layout for people on a terminal and the one scripts parse
 * (VMCloak's, spec §2.14, so its users' scripts keep working) on a pipe; --format forces one. */
enum list_format {
        LIST_FORMAT_AUTO,     /* vmcloak when stdout is not a terminal, table when it is */
        LIST_FORMAT_VMCLOAK,
        LIST_FORMAT_TABLE,
        LIST_FORMAT_JSON,     /* the same as the global --json */
};

static int list_format_from_string(const char *s, enum list_format *ret) {
        static const char *const names[] = { "auto", "vmcloak", "table", "json" };
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(s, names[i])) {
                        *ret = (enum list_format)i;
                        return 0;
                }
        return -EINVAL;
}

OPT_ENUM_DECLARE(opt_list_format, enum list_format);
OPT_ENUM_DEFINE(opt_list_format, enum list_format, list_format_from_string, "auto, vmcloak, table or json");

static bool arg_name_only;
static const char *arg_files_dir;
static char **arg_hw_files;
static enum list_format arg_format;

static const struct optdef opts[] = {
        OPT_BOOL(0, "name-only", &arg_name_only, "Print only names, one per line"),
        OPT_ENUM(0, "format", &arg_format, opt_list_format, "FORMAT",
                 "vmcloak (VMCloak's lines), table or json (= --json); auto: vmcloak on a pipe, table on a terminal",
                 .def_value = "auto"),
        OPT_STRING(0, "files-dir", &arg_files_dir, "DIR", "deps: a folder of files you brought (shown as user-supplied when the name matches)"),
        OPT_LIST(0, "file", &arg_hw_files, "PATH", "hardware: read this profile file instead of the catalog (check one you write)"),
        { NULL },
};

static const struct cmd_spec spec = {
        "list", "[--name-only] images|snapshots|deps|hardware", "List images, snapshots, dependencies or hardware profiles.",
        "images, snapshots, deps: VMCloak's own lines when stdout is a pipe or a file (its users' scripts\n"
        "parse them), an aligned table with more columns on a terminal (deps: VMCloak's lines, each entry\n"
        "followed by its description, versions, OS, tags, settings and where its files are); --format\n"
        "forces one.\n"
        "hardware: the profiles init --hardware takes, shipped and from ~/.vmcloak/hardware.d (one there\n"
        "replaces a shipped one of its name); --json gives every field.",
        opts, 1, 1,
};

/* A table cell: "-" for a value not stored (NULL, "", 0), as every column shows it. */
static const char *dash(const char *s) { return isempty(s) ? "-" : s; }

static const char *int_cell(char buf[static 16], int v, const char *unit) {
        if (v <= 0)
                return "-";
        snprintf(buf, 16, "%d%s", v, unit);
        return buf;
}

/* The tags column: as stored ("dotnet,office"), "-" for none. */
static const char *tags_cell(const char *stored) { return isempty(stored) ? "-" : stored; }

static const char *image_tags_cell(const struct image *m) { return tags_cell(m->tags); }

/* The hardware column: the profile's name, "-" for QEMU's own machine (no profile). */
static const char *hardware_cell(const struct image *m) { return isempty(m->hardware) ? "-" : m->hardware; }

/* Wide enough for the longest cell, so the column after it stays aligned. */
static int column_width(struct image *const *l, size_t n, const char *head,
                        const char *(*cell)(const struct image *)) {
        size_t w = strlen(head);
        for (size_t i = 0; i < n; i++)
                if (strlen(cell(l[i])) > w)
                        w = strlen(cell(l[i]));
        return (int)w;
}

/* Each image's tags as its VMs get them (pipeline/tags.h: the stored ones ∪ the catalog tags of
 * what it has installed, which VMCloak's images never stored), so the column says what Cuckoo3
 * will route to them. A catalog that does not load leaves the stored tags, with a warning. */
static int image_tags_effective(struct image **l, size_t n) {
        bool any = false;
        for (size_t i = 0; i < n; i++)
                any = any || !isempty(l[i]->installed);
        if (!any)
                return 0;
        struct dep_catalog *cat = NULL;
        if (dep_catalog_load_default(&cat) < 0) {
                log_warning("the tags shown are only those stored with each image: the dependency catalog did not "
                            "load (see above)");
                return 0;
        }
        int r = 0;
        for (size_t i = 0; i < n && r == 0; i++) {
                _cleanup_strv_free_ char **set = NULL;
                char *text = NULL;
                r = vm_tags_compute(l[i], cat, NULL, &set);
                if (r == 0 && (r = tags_format(set, &text)) == 0) {
                        free(l[i]->tags);
                        l[i]->tags = text;
                }
        }
        dep_catalog_free(cat);
        return r;
}

/* --- VMCloak's layout (spec §2.14; facts read from cert-ee/vmcloak a591ae0 vmcloak/main.py
 * list_images/list_snapshots and repository.py): Python's print() joins its arguments with one
 * space and writes None as "None"; the platform is the vm column's module name ("QEMU"). */

static const char *py_str(const char *s) { return s ? s : "None"; }

static const char *platform_name(const char *vm) {
        if (streq_ptr(vm, "qemu"))
                return "QEMU";
        if (streq_ptr(vm, "libvirt"))
                return "LibVirt";
        if (streq_ptr(vm, "virtualbox"))
                return "VirtualBox";
        return py_str(vm); /* a platform VMCloak has no module for: it would fail, we show the column */
}

static int cmp_image_id(const void *a, const void *b) {
        int64_t x = (*(struct image *const *)a)->id, y = (*(struct image *const *)b)->id;
        return x < y ? -1 : x > y;
}

struct dep_pair {
        const char *dep, *version;
};

/* By name as Python compares str (code points: strcmp on UTF-8), then version (for a stable order). */
static int cmp_pair(const void *a, const void *b) {
        const struct dep_pair *x = a, *y = b;
        int c = strcmp(x->dep, y->dep);
        return c ? c : strcmp(x->version, y->version);
}

/* "\t - dep | version=v" per installed dependency, by name (VMCloak: a set of (dep, version)
 * sorted by dep; "\t - dep " with its trailing space when the version is empty). */
static int print_installed_vmcloak(const char *installed) {
        if (isempty(installed))
                return 0;
        _cleanup_free_ char *copy = strdup(installed);
        size_t n = 1;
        for (const char *c = installed; *c; c++)
                n += *c == ',';
        _cleanup_free_ struct dep_pair *pairs = calloc(n, sizeof *pairs);
        if (!copy || !pairs)
                return log_oom();
        n = 0;
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                char *colon = strchr(tok, ':');
                if (colon)
                        *colon++ = 0;
                pairs[n++] = (struct dep_pair){ tok, colon ? colon : "" };
        }
        qsort(pairs, n, sizeof *pairs, cmp_pair);
        for (size_t i = 0; i < n; i++) {
                if (i > 0 && cmp_pair(&pairs[i], &pairs[i - 1]) == 0)
                        continue; /* a set: each pair once */
                if (*pairs[i].version)
                        printf("\t - %s | version=%s\n", pairs[i].dep, pairs[i].version);
                else
                        printf("\t - %s \n", pairs[i].dep);
        }
        return 0;
}

/* VMCloak lists images in the table's order (no ORDER BY: SQLite's rowid order). */
static int list_images_vmcloak(struct image **l, size_t n) {
        if (n > 1)
                qsort(l, n, sizeof *l, cmp_image_id);
        for (size_t i = 0; i < n; i++) {
                printf("* %s | %s | %s | Adapter: %s\n", py_str(l[i]->name), platform_name(l[i]->vm),
                       py_str(l[i]->ipaddr), py_str(l[i]->adapter));
                int r = print_installed_vmcloak(l[i]->installed);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Per image (by name, then VM name: the repository's order, as VMCloak sorts them) the header
 * "<image> <ip>(<adapter>) (<platform>)", then "- <vmname> <ip>" per VM. A VM whose image row
 * is gone (VMCloak would stop with a traceback) comes under "None None(None) (None)". */
static int list_snapshots_vmcloak(struct repo *repo, struct snapshot **l, size_t n) {
        struct image **imgs = NULL;
        size_t n_imgs = 0;
        int r = repo_image_list(repo, &imgs, &n_imgs);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                bool first = i == 0 || !streq_ptr(l[i]->image_name, l[i - 1]->image_name);
                if (first) {
                        const struct image *img = NULL;
                        for (size_t k = 0; k < n_imgs && !img; k++)
                                if (imgs[k]->id == l[i]->image_id)
                                        img = imgs[k];
                        printf("%s %s(%s) (%s)\n", py_str(l[i]->image_name), py_str(img ? img->ipaddr : NULL),
                               py_str(img ? img->adapter : NULL), img ? platform_name(img->vm) : "None");
                }
                printf("- %s %s\n", py_str(l[i]->vmname), py_str(l[i]->ipaddr));
        }
        image_list_free(imgs, n_imgs);
        return 0;
}

static int list_images(struct repo *repo, bool name_only, bool vmcloak_layout) {
        struct image **l;
        size_t n;
        int r = repo_image_list(repo, &l, &n);
        if (r < 0)
                return r;
        if (vmcloak_layout && !name_only && !global.json) {
                r = list_images_vmcloak(l, n);
                image_list_free(l, n);
                return r;
        }
        if (!name_only && (r = image_tags_effective(l, n)) < 0) {
                image_list_free(l, n);
                return r;
        }
        if (global.json) {
                json_object *arr = json_object_new_array();
                /* --name-only --json: an array of the names, as list deps and list hardware give. */
                for (size_t i = 0; i < n; i++)
                        json_object_array_add(arr, name_only ? json_str_or_null(l[i]->name) : image_to_json(l[i]));
                r = json_print_put(arr);
        } else if (name_only) {
                for (size_t i = 0; i < n; i++)
                        printf("%s\n", l[i]->name);
        } else if (n == 0) {
                printf("No images. Create one with 'vmcloak init'.\n");
        } else {
                int tw = column_width(l, n, "TAGS", image_tags_cell);
                int hw = column_width(l, n, "HARDWARE", hardware_cell);
                printf("%-20s %-9s %-15s %-12s %-6s %4s %6s %-11s %-*s %-*s %s\n", "NAME", "OS", "IP", "ADAPTER",
                       "NET", "CPUS", "RAM", "MODE", hw, "HARDWARE", tw, "TAGS", "INSTALLED");
                for (size_t i = 0; i < n; i++) {
                        struct image *m = l[i];
                        char cpus[16], ram[16];
                        printf("%-20s %-9s %-15s %-12s %-6s %4s %6s %-11s %-*s %-*s %s\n", dash(m->name),
                               dash(m->osversion), dash(m->ipaddr), dash(m->adapter), dash(image_netmode_shown(m)),
                               int_cell(cpus, m->cpus, ""), int_cell(ram, m->ramsize, "M"), dash(m->mode), hw,
                               hardware_cell(m), tw, tags_cell(m->tags), dash(m->installed));
                }
        }
        image_list_free(l, n);
        return r;
}

static int list_snapshots(struct repo *repo, bool name_only, bool vmcloak_layout) {
        struct snapshot **l;
        size_t n;
        int r = repo_snapshot_list(repo, -1, &l, &n);
        if (r < 0)
                return r;
        if (vmcloak_layout && !name_only && !global.json) {
                r = list_snapshots_vmcloak(repo, l, n);
                snapshot_list_free(l, n);
                return r;
        }
        if (global.json) {
                json_object *arr = json_object_new_array();
                for (size_t i = 0; i < n; i++)
                        json_object_array_add(arr, name_only ? json_str_or_null(l[i]->vmname) : snapshot_to_json(l[i]));
                r = json_print_put(arr);
        } else if (name_only) {
                for (size_t i = 0; i < n; i++)
                        printf("%s\n", l[i]->vmname);
        } else if (n == 0) {
                printf("No snapshots. Create some with 'vmcloak snapshot'.\n");
        } else {
                /* HOST: "local" (a Cuckoo3 VM in ~/.vmcloak/vms/qemu) or the libvirt URI it lives on. */
                int tw = (int)strlen("TAGS");
                for (size_t i = 0; i < n; i++) {
                        int w = (int)strlen(tags_cell(l[i]->tags));
                        tw = w > tw ? w : tw;
                }
                printf("%-20s %-20s %-15s %5s %-17s %-17s %-*s %s\n", "VMNAME", "IMAGE", "IP", "PORT", "HOSTNAME",
                       "MAC", tw, "TAGS", "HOST");
                for (size_t i = 0; i < n; i++) {
                        struct snapshot *s = l[i];
                        printf("%-20s %-20s %-15s %5d %-17s %-17s %-*s %s\n", dash(s->vmname),
                               s->image_name ? s->image_name : "(deleted)", dash(s->ipaddr), s->port,
                               dash(s->hostname), dash(s->mac), tw, tags_cell(s->tags),
                               s->libvirt_uri ? s->libvirt_uri : "local");
                }
        }
        snapshot_list_free(l, n);
        return r;
}

static int check(const struct args *a) {
        const char *what = a->pos[0];
        if (!streq(what, "images") && !streq(what, "snapshots") && !streq(what, "deps") &&
            !streq(what, "dependencies") && !streq(what, "vms") && !streq(what, "hardware")) {
                log_error("unknown list '%s': use 'vmcloak list images', 'vmcloak list snapshots', "
                          "'vmcloak list deps' or 'vmcloak list hardware'", what);
                return -EINVAL;
        }
        if (arg_files_dir && !streq(what, "deps") && !streq(what, "dependencies")) {
                log_error("--files-dir goes with 'list deps'");
                return -EINVAL;
        }
        if (arg_hw_files && !streq(what, "hardware")) {
                log_error("--file goes with 'list hardware'");
                return -EINVAL;
        }
        if (global.json && arg_format != LIST_FORMAT_AUTO && arg_format != LIST_FORMAT_JSON) {
                log_error("--json and --format %s disagree: give one of them",
                          arg_format == LIST_FORMAT_TABLE ? "table" : "vmcloak");
                return -EINVAL;
        }
        return 0;
}

static int run(const struct cmd_env *env) {
        const char *what = env->args->pos[0];
        enum list_format f = arg_format;
        if (global.json)
                f = LIST_FORMAT_JSON;
        else if (f == LIST_FORMAT_AUTO)
                f = isatty(STDOUT_FILENO) ? LIST_FORMAT_TABLE : LIST_FORMAT_VMCLOAK;
        global.json = f == LIST_FORMAT_JSON;
        /* hardware has no VMCloak layout (VMCloak has no such list): its table for both. */
        bool vm = f == LIST_FORMAT_VMCLOAK;
        int r = streq(what, "images")                               ? list_images(env->repo, arg_name_only, vm)
                : streq(what, "deps") || streq(what, "dependencies") ? cmd_list_deps(arg_name_only, arg_files_dir, vm)
                : streq(what, "hardware")                            ? cmd_list_hardware(arg_name_only, arg_hw_files)
                                                                     : list_snapshots(env->repo, arg_name_only, vm);
        return exit_code_for(r);
}

const struct cmd_def cmd_list = { .spec = &spec, .check = check, .run = run };
