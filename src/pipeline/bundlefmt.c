/* bundle.json and the start_args path rewriting of export/import --bundle (pure). */
#include "pipeline/bundlefmt.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* The columns of a row that travel, by name (the repository's column names). */
enum col_type { COL_STR, COL_INT };
struct col {
        const char *key;
        size_t off;
        enum col_type type;
};
#define S(t, f) { #f, offsetof(struct t, f), COL_STR }
#define I(t, f) { #f, offsetof(struct t, f), COL_INT }
static const struct col image_cols[] = {
        S(image, name), S(image, path), S(image, osversion), S(image, servicepack), S(image, mode), S(image, vm),
        S(image, ipaddr), I(image, port), S(image, adapter), S(image, netmask), S(image, gateway), I(image, cpus),
        I(image, ramsize), I(image, vramsize), S(image, paravirtprovider), S(image, mac), S(image, installed),
        S(image, netmode), S(image, dns), S(image, created_at), S(image, firmware), I(image, secure_boot),
        I(image, tpm), S(image, os_build), S(image, os_edition), S(image, os_language), S(image, tags),
        S(image, hardware), S(image, identity), S(image, cloakcheck),
};
static const struct col snapshot_cols[] = {
        S(snapshot, vmname), S(snapshot, ipaddr), I(snapshot, port), S(snapshot, hostname), S(snapshot, mac),
        S(snapshot, created_at), S(snapshot, tags), S(snapshot, identity), S(snapshot, cloakcheck),
        S(snapshot, libvirt_uri), S(snapshot, libvirt_pool), S(snapshot, libvirt_volume),
        S(snapshot, libvirt_base), S(snapshot, libvirt_snapshot),
};
#undef S
#undef I

static json_object *row_to_json(const void *row, const struct col *cols, size_t n) {
        json_object *o = json_object_new_object();
        for (size_t i = 0; o && i < n; i++) {
                const char *p = (const char *)row + cols[i].off;
                if (cols[i].type == COL_INT)
                        json_object_object_add(o, cols[i].key, json_object_new_int(*(const int *)p));
                else if (*(char *const *)p)
                        json_object_object_add(o, cols[i].key, json_object_new_string(*(char *const *)p));
        }
        return o;
}

/* Unknown keys are skipped (a newer writer of the same format may add columns). */
static int row_from_json(json_object *o, void *row, const struct col *cols, size_t n) {
        for (size_t i = 0; i < n; i++) {
                json_object *v;
                if (!json_object_object_get_ex(o, cols[i].key, &v) || json_object_is_type(v, json_type_null))
                        continue;
                char *p = (char *)row + cols[i].off;
                if (cols[i].type == COL_INT) {
                        if (!json_object_is_type(v, json_type_int))
                                return -EINVAL;
                        *(int *)p = json_object_get_int(v);
                } else {
                        if (!json_object_is_type(v, json_type_string))
                                return -EINVAL;
                        if (!(*(char **)p = strdup(json_object_get_string(v))))
                                return -ENOMEM;
                }
        }
        return 0;
}

static void row_free_strings(void *row, const struct col *cols, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (cols[i].type == COL_STR) {
                        char **p = (char **)((char *)row + cols[i].off);
                        free(*p);
                        *p = NULL;
                }
}

bool bundle_member_name_ok(const char *name) {
        const char *rest = startswith(name, "vm/");
        if (!rest)
                rest = startswith(name, "image/");
        if (!rest || !*rest)
                return false;
        for (const char *c = rest; *c;) {
                size_t l = strcspn(c, "/");
                if (l == 0 || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                c += l;
                if (*c == '/')
                        c++;
                if (!*c && c[-1] == '/')
                        return false;
        }
        return true;
}

static bool sha256_hex_ok(const char *s) {
        if (!s || strlen(s) != 64)
                return false;
        for (; *s; s++)
                if (!strchr("0123456789abcdef", *s))
                        return false;
        return true;
}

int bundle_manifest_add_file(struct bundle_manifest *m, const char *name, uint64_t size, const char *sha256) {
        struct bundle_file *n = realloc(m->files, (m->n_files + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        m->files = n;
        struct bundle_file *f = &n[m->n_files];
        *f = (struct bundle_file){ .name = strdup(name), .size = size };
        if (!f->name)
                return -ENOMEM;
        snprintf(f->sha256, sizeof f->sha256, "%s", sha256);
        m->n_files++;
        return 0;
}

const struct bundle_file *bundle_manifest_find(const struct bundle_manifest *m, const char *name) {
        for (size_t i = 0; i < m->n_files; i++)
                if (streq(m->files[i].name, name))
                        return &m->files[i];
        return NULL;
}

static json_object *jstr(const char *s) { return s ? json_object_new_string(s) : NULL; }

int bundle_manifest_to_json(const struct bundle_manifest *m, char **ret) {
        json_object *root = json_object_new_object(), *files = json_object_new_array();
        if (!root || !files) {
                json_object_put(root);
                json_object_put(files);
                return -ENOMEM;
        }
        json_object_object_add(root, "format", json_object_new_int(m->format));
        json_object_object_add(root, "vmcloak_version", jstr(m->vmcloak_version));
        json_object_object_add(root, "home", jstr(m->home));
        json_object_object_add(root, "vmdir", jstr(m->vmdir));
        json_object_object_add(root, "vm", row_to_json(&m->vm, snapshot_cols, ELEMENTSOF(snapshot_cols)));
        json_object_object_add(root, "image", row_to_json(&m->image, image_cols, ELEMENTSOF(image_cols)));
        json_object_object_add(root, "image_sha256", json_object_new_string(m->image_sha256));
        json_object_object_add(root, "image_size", json_object_new_int64((int64_t)m->image_size));
        json_object_object_add(root, "with_image", json_object_new_boolean(m->with_image));
        for (size_t i = 0; i < m->n_files; i++) {
                json_object *f = json_object_new_object();
                if (!f)
                        break;
                json_object_object_add(f, "name", json_object_new_string(m->files[i].name));
                json_object_object_add(f, "size", json_object_new_int64((int64_t)m->files[i].size));
                json_object_object_add(f, "sha256", json_object_new_string(m->files[i].sha256));
                json_object_array_add(files, f);
        }
        json_object_object_add(root, "files", files);
        const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                                        JSON_C_TO_STRING_NOSLASHESCAPE);
        *ret = text ? strdup_printf("%s\n", text) : NULL;
        json_object_put(root);
        return *ret ? 0 : -ENOMEM;
}

static const char *get_str(json_object *o, const char *key) {
        json_object *v;
        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v)
                       : NULL;
}

static int dup_str(json_object *o, const char *key, char **ret) {
        const char *s = get_str(o, key);
        if (!s)
                return -EINVAL;
        return (*ret = strdup(s)) ? 0 : -ENOMEM;
}

int bundle_manifest_from_json(const char *text, struct bundle_manifest *ret, char *reason, size_t size) {
        *ret = (struct bundle_manifest){ 0 };
        json_tokener *tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        json_object *root = json_tokener_parse_ex(tok, text, (int)strlen(text));
        bool complete = json_tokener_get_error(tok) == json_tokener_success;
        json_tokener_free(tok);
        int r = 0;
        json_object *v, *vm, *img, *files;
#define FAIL(...) do { r = reason_fail(reason, size, __VA_ARGS__); goto done; } while (0)
        if (!root || !complete || !json_object_is_type(root, json_type_object))
                FAIL("bundle.json is no JSON object");
        if (!json_object_object_get_ex(root, "format", &v) || !json_object_is_type(v, json_type_int) ||
            json_object_get_int(v) < 1)
                FAIL("bundle.json has no format version");
        ret->format = json_object_get_int(v);
        if (ret->format > BUNDLE_FORMAT) {
                r = -EPROTONOSUPPORT;
                goto done;
        }
        if (!json_object_object_get_ex(root, "vm", &vm) || !json_object_is_type(vm, json_type_object) ||
            !json_object_object_get_ex(root, "image", &img) || !json_object_is_type(img, json_type_object))
                FAIL("bundle.json has no vm or image row");
        if ((r = row_from_json(vm, &ret->vm, snapshot_cols, ELEMENTSOF(snapshot_cols))) == -EINVAL)
                FAIL("bundle.json's vm row has a value of the wrong type");
        if (r < 0)
                goto done;
        if ((r = row_from_json(img, &ret->image, image_cols, ELEMENTSOF(image_cols))) == -EINVAL)
                FAIL("bundle.json's image row has a value of the wrong type");
        if (r < 0)
                goto done;
        if (isempty(ret->vm.vmname) || isempty(ret->image.name))
                FAIL("bundle.json names no VM or no image");
        if ((r = dup_str(root, "home", &ret->home)) == -EINVAL || (r == 0 && (r = dup_str(root, "vmdir", &ret->vmdir)) == -EINVAL))
                FAIL("bundle.json has no home or vmdir");
        if (r < 0)
                goto done;
        if (get_str(root, "vmcloak_version") && !(ret->vmcloak_version = strdup(get_str(root, "vmcloak_version")))) {
                r = -ENOMEM;
                goto done;
        }
        const char *h = get_str(root, "image_sha256");
        if (!sha256_hex_ok(h))
                FAIL("bundle.json has no image_sha256");
        snprintf(ret->image_sha256, sizeof ret->image_sha256, "%s", h);
        if (!json_object_object_get_ex(root, "image_size", &v) || !json_object_is_type(v, json_type_int) ||
            json_object_get_int64(v) <= 0)
                FAIL("bundle.json has no image_size");
        ret->image_size = (uint64_t)json_object_get_int64(v);
        ret->with_image = json_object_object_get_ex(root, "with_image", &v) && json_object_get_boolean(v);
        if (!json_object_object_get_ex(root, "files", &files) || !json_object_is_type(files, json_type_array))
                FAIL("bundle.json has no files list");
        for (size_t i = 0; i < json_object_array_length(files); i++) {
                json_object *f = json_object_array_get_idx(files, i), *sz;
                const char *name = get_str(f, "name"), *sum = get_str(f, "sha256");
                if (!name || !bundle_member_name_ok(name) || !sha256_hex_ok(sum) ||
                    !json_object_object_get_ex(f, "size", &sz) || !json_object_is_type(sz, json_type_int) ||
                    json_object_get_int64(sz) < 0)
                        FAIL("bundle.json's files list has a bad entry (#%zu)", i + 1);
                if (bundle_manifest_find(ret, name))
                        FAIL("bundle.json lists %s twice", name);
                if ((r = bundle_manifest_add_file(ret, name, (uint64_t)json_object_get_int64(sz), sum)) < 0)
                        goto done;
        }
        if (!bundle_manifest_find(ret, "vm/disk.qcow2") || !bundle_manifest_find(ret, "vm/machineinfo.json"))
                FAIL("bundle.json lists no vm/disk.qcow2 or vm/machineinfo.json");
        if (ret->with_image) {
                _cleanup_free_ char *disk = strdup_printf("image/%s.qcow2", ret->image.name);
                const struct bundle_file *f = disk ? bundle_manifest_find(ret, disk) : NULL;
                if (!disk) {
                        r = -ENOMEM;
                        goto done;
                }
                if (!f || f->size != ret->image_size || !streq(f->sha256, ret->image_sha256))
                        FAIL("bundle.json says the image travels with the VM, but lists no %s of the image's size and SHA-256", disk);
        }
#undef FAIL
done:
        json_object_put(root);
        if (r < 0 && r != -EPROTONOSUPPORT) {
                int format = ret->format;
                bundle_manifest_done(ret);
                ret->format = format;
        }
        return r;
}

void bundle_manifest_done(struct bundle_manifest *m) {
        free(m->vmcloak_version);
        free(m->home);
        free(m->vmdir);
        row_free_strings(&m->vm, snapshot_cols, ELEMENTSOF(snapshot_cols));
        row_free_strings(&m->image, image_cols, ELEMENTSOF(image_cols));
        for (size_t i = 0; i < m->n_files; i++)
                free(m->files[i].name);
        free(m->files);
        *m = (struct bundle_manifest){ 0 };
}

/* --- start_args --- */

/* QEMU's option escaping: a comma doubled. */
static char *escape_commas(const char *s) {
        size_t n = strlen(s), commas = 0;
        for (const char *c = s; *c; c++)
                commas += *c == ',';
        char *o = malloc(n + commas + 1), *p = o;
        if (!o)
                return NULL;
        for (const char *c = s; *c; c++) {
                *p++ = *c;
                if (*c == ',')
                        *p++ = ',';
        }
        *p = 0;
        return o;
}

/* The length of escaped folder e when arg names a path under it at pos, else 0. */
static size_t names_at(const char *arg, size_t pos, const char *e) {
        if (pos > 0) {
                char b = arg[pos - 1];
                /* A ',' before is a separator when the commas before it are odd in number. */
                size_t k = 0;
                while (b == ',' && k < pos && arg[pos - 1 - k] == ',')
                        k++;
                if (b != '=' && b != ':' && !(b == ',' && k % 2 == 1))
                        return 0;
        }
        size_t l = strlen(e);
        if (l == 0 || strncmp(arg + pos, e, l) != 0)
                return 0;
        char a = arg[pos + l];
        if (a == 0 || a == '/' || (a == ',' && arg[pos + l + 1] != ','))
                return l;
        return 0;
}

/* A folder without its trailing slashes, escaped. */
static char *escaped_dir(const char *dir) {
        _cleanup_free_ char *d = strdup(dir);
        if (!d)
                return NULL;
        size_t l = strlen(d);
        while (l > 1 && d[l - 1] == '/')
                d[--l] = 0;
        return escape_commas(d);
}

int bundle_rewrite_arg(const char *arg, char *const *from, char *const *to, char **ret, unsigned *ret_n) {
        size_t n = strv_length(from);
        _cleanup_strv_free_ char **ef = NULL, **et = NULL;
        for (size_t i = 0; i < n; i++) {
                if (strv_push(&ef, escaped_dir(from[i])) < 0 || strv_push(&et, escaped_dir(to[i])) < 0)
                        return -ENOMEM;
        }
        size_t len = strlen(arg), cap = len + 1, o = 0;
        for (size_t i = 0; i < n; i++)
                cap += strlen(et[i]) * (len / (strlen(ef[i]) ? strlen(ef[i]) : 1) + 1);
        _cleanup_free_ char *out = malloc(cap);
        if (!out)
                return -ENOMEM;
        unsigned moved = 0;
        for (size_t pos = 0; pos < len;) {
                size_t l = 0, i;
                for (i = 0; i < n && !(l = names_at(arg, pos, ef[i])); i++)
                        ;
                if (l) {
                        size_t tl = strlen(et[i]);
                        memcpy(out + o, et[i], tl);
                        o += tl;
                        pos += l;
                        moved++;
                        continue;
                }
                out[o++] = arg[pos++];
        }
        out[o] = 0;
        *ret = TAKE_PTR(out);
        if (ret_n)
                *ret_n = moved;
        return 0;
}
