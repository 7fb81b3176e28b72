/* The JSON documents commands print with --json: rows as objects, and their printer. */
#include "cmd/jsonout.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/repo.h"
#include "core/tags.h"
#include "core/util.h"

json_object *json_str_or_null(const char *s) { return s ? json_object_new_string(s) : NULL; }

/* A JSON column as stored, parsed (null: none, or text that is not JSON). */
static json_object *stored_json(const char *s) { return s ? json_tokener_parse(s) : NULL; }

json_object *dep_pairs_to_json(char *const *pairs) {
        json_object *arr = json_object_new_array();
        STRV_FOREACH(p, pairs) {
                const char *colon = strchr(*p, ':');
                json_object *o = json_object_new_object();
                json_object_object_add(o, "name", json_object_new_string_len(*p, colon ? (int)(colon - *p)
                                                                                         : (int)strlen(*p)));
                json_object_object_add(o, "version", colon && colon[1] ? json_object_new_string(colon + 1) : NULL);
                json_object_array_add(arr, o);
        }
        return arr;
}

/* VMCloak's "name:version,name:" record as [{name, version}], in its stored order. */
static json_object *installed_json(const char *installed) {
        _cleanup_strv_free_ char **pairs = NULL;
        _cleanup_free_ char *copy = isempty(installed) ? NULL : strdup(installed);
        char *save = NULL;
        for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok; tok = strtok_r(NULL, ",", &save))
                if (strv_extend(&pairs, tok) < 0)
                        break;
        return dep_pairs_to_json(pairs);
}

/* Schema 4's tags as a JSON list (older rows: empty). */
static json_object *tags_json(const char *stored) {
        json_object *arr = json_object_new_array();
        _cleanup_strv_free_ char **set = NULL;
        if (tags_parse(stored, &set) == 0)
                STRV_FOREACH(t, set)
                        json_object_array_add(arr, json_object_new_string(*t));
        return arr;
}

const char *image_netmode_shown(const struct image *m) {
        if (m->netmode)
                return m->netmode;
        return !m->vm || streq(m->vm, "qemu") || streq(m->vm, "libvirt") ? "bridge" : NULL;
}

json_object *image_to_json(const struct image *m) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_str_or_null(m->name));
        json_object_object_add(o, "path", json_str_or_null(m->path));
        json_object_object_add(o, "osversion", json_str_or_null(m->osversion));
        json_object_object_add(o, "vm", json_str_or_null(m->vm));
        json_object_object_add(o, "mode", json_str_or_null(m->mode));
        json_object_object_add(o, "ip", json_str_or_null(m->ipaddr));
        json_object_object_add(o, "port", json_object_new_int(m->port));
        json_object_object_add(o, "adapter", json_str_or_null(m->adapter));
        json_object_object_add(o, "net", json_str_or_null(image_netmode_shown(m)));
        json_object_object_add(o, "netmask", json_str_or_null(m->netmask));
        json_object_object_add(o, "gateway", json_str_or_null(m->gateway));
        json_object_object_add(o, "cpus", json_object_new_int(m->cpus));
        json_object_object_add(o, "ramsize", json_object_new_int(m->ramsize));
        json_object_object_add(o, "vramsize", json_object_new_int(m->vramsize));
        json_object_object_add(o, "mac", json_str_or_null(m->mac));
        json_object_object_add(o, "installed", installed_json(m->installed));
        json_object_object_add(o, "tags", tags_json(m->tags));
        json_object_object_add(o, "created_at", json_str_or_null(m->created_at));
        /* Schema 3 (older rows: bios, false, false, null). */
        json_object_object_add(o, "firmware", json_object_new_string(image_is_uefi(m) ? "uefi" : "bios"));
        json_object_object_add(o, "secure_boot", json_object_new_boolean(m->secure_boot != 0));
        json_object_object_add(o, "tpm", json_object_new_boolean(m->tpm != 0));
        json_object_object_add(o, "os_build", json_str_or_null(m->os_build));
        json_object_object_add(o, "os_edition", json_str_or_null(m->os_edition));
        json_object_object_add(o, "os_language", json_str_or_null(m->os_language));
        /* Schema 5: the hardware profile (null: QEMU's own machine, VMCloak's rows). */
        json_object_object_add(o, "hardware", json_str_or_null(m->hardware));
        /* Schema 5: its scorecard from cloakcheck IMAGE (null: never checked). */
        json_object_object_add(o, "cloakcheck", stored_json(m->cloakcheck));
        return o;
}

json_object *snapshot_to_json(const struct snapshot *s) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "vmname", json_str_or_null(s->vmname));
        json_object_object_add(o, "image", json_str_or_null(s->image_name));
        json_object_object_add(o, "ip", json_str_or_null(s->ipaddr));
        json_object_object_add(o, "port", json_object_new_int(s->port));
        json_object_object_add(o, "hostname", json_str_or_null(s->hostname));
        json_object_object_add(o, "mac", json_str_or_null(s->mac));
        json_object_object_add(o, "created_at", json_str_or_null(s->created_at));
        json_object_object_add(o, "tags", tags_json(s->tags));
        /* Schema 5: the VM's own hardware identity as stored (null: no profile). */
        json_object_object_add(o, "identity", stored_json(s->identity));
        /* Schema 5: its scorecard (snapshot --cloakcheck, cloakcheck VM; null: none). */
        json_object_object_add(o, "cloakcheck", stored_json(s->cloakcheck));
        /* Schema 6 (issue 14): where a VM of snapshot --connect lives (all null for a local
         * Cuckoo3 VM): its libvirt host, pool, overlay volume, the image's volume, and its
         * running-state snapshot (CAPE's kvm.conf `snapshot`). */
        json_object_object_add(o, "libvirt_uri", json_str_or_null(s->libvirt_uri));
        json_object_object_add(o, "libvirt_pool", json_str_or_null(s->libvirt_pool));
        json_object_object_add(o, "libvirt_volume", json_str_or_null(s->libvirt_volume));
        json_object_object_add(o, "libvirt_base", json_str_or_null(s->libvirt_base));
        json_object_object_add(o, "libvirt_snapshot", json_str_or_null(s->libvirt_snapshot));
        return o;
}

int json_print_put(json_object *o) {
        /* Paths as they are: "/home/u/...", not "\/home\/u\/..." (both valid JSON). */
        const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                                     JSON_C_TO_STRING_NOSLASHESCAPE);
        int r = text && printf("%s\n", text) >= 0 && fflush(stdout) == 0 ? 0 : -EIO;
        json_object_put(o);
        if (r < 0)
                log_error("cannot write the JSON result to stdout");
        return r;
}

json_object *image_json_by_name(struct repo *repo, const char *name) {
        _cleanup_image_ struct image *img = NULL;
        int r = repo_image_get(repo, name, &img);
        if (r < 0) {
                log_error_errno(r, "cannot read image %s back for the JSON result: %m", name);
                return NULL;
        }
        return image_to_json(img);
}

json_object *json_seconds(double s) {
        /* Printed as typed ("12.345"), not as the double's 17 digits. */
        char text[32];
        snprintf(text, sizeof text, "%.3f", s);
        return json_object_new_double_s(s, text);
}

json_object *json_seconds_since(int64_t t0) { return json_seconds((double)(now_ms() - t0) / 1000.0); }
