/* Writing (and checking, as Cuckoo3 would) machineinfo.json. */
#include "pipeline/machineinfo.h"

#include <errno.h>
#include <json-c/json.h>
#include <string.h>

#include "core/util.h"
#include "core/validate.h"
#include "machine/cuckoo.h"

static json_object *jstr(const char *s) { return s ? json_object_new_string(s) : NULL; }

static json_object *jstrv(char *const *l) {
        json_object *a = json_object_new_array();
        STRV_FOREACH(s, l)
                json_object_array_add(a, json_object_new_string(*s));
        return a;
}

int machineinfo_write(const char *dir, const struct machineinfo *mi) {
        json_object *root = json_object_new_object(), *m = json_object_new_object();
        if (!root || !m)
                return -ENOMEM;
        json_object_object_add(root, "vmcloak_version", NULL);
        json_object_object_add(root, "machinery", json_object_new_string("qemu"));
        json_object_object_add(root, "machinery_version", jstr(mi->machinery_version));
        json_object_object_add(m, "name", jstr(mi->name));
        json_object_object_add(m, "ip", jstr(mi->ip));
        json_object_object_add(m, "agent_port", json_object_new_int(mi->agent_port));
        json_object_object_add(m, "os_name", jstr(mi->os_name));
        json_object_object_add(m, "os_version", jstr(mi->os_version));
        json_object_object_add(m, "architecture", jstr(mi->architecture));
        json_object_object_add(m, "tags", jstrv(mi->tags));
        json_object_object_add(m, "bridge", jstr(mi->bridge));
        json_object_object_add(m, "mac", jstr(mi->mac));
        json_object_object_add(m, "gateway", jstr(mi->gateway));
        json_object_object_add(m, "netmask", jstr(mi->netmask));
        json_object_object_add(m, "disk", jstr(mi->disk));
        json_object_object_add(m, "start_args", jstrv(mi->start_args));
        json_object_object_add(m, "memory_snapshot", jstr(mi->memory_snapshot));
        if (mi->compression)
                json_object_object_add(m, "memory_snapshot_compression", jstr(mi->compression));
        if (mi->net)
                json_object_object_add(m, "net", jstr(mi->net));
        if (mi->hostname)
                json_object_object_add(m, "hostname", jstr(mi->hostname));
        json_object_object_add(root, "machine", m);
        const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                                JSON_C_TO_STRING_SPACED |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE);
        _cleanup_free_ char *path = path_join(dir, "machineinfo.json");
        _cleanup_free_ char *withnl = text ? strdup_printf("%s\n", text) : NULL;
        int r = path && withnl ? write_file_atomic(path, withnl, strlen(withnl), 0644) : -ENOMEM;
        json_object_put(root);
        return r;
}

static const char *const required_keys[] = {
        "name", "ip", "agent_port", "os_name", "os_version", "architecture", "bridge", "disk",
        "memory_snapshot", "tags", "start_args",
};

int machineinfo_validate(json_object *root, const char **ret_reason) {
        json_object *m, *v;
#define FAIL(why) do { *ret_reason = (why); return -EINVAL; } while (0)
        if (!json_object_is_type(root, json_type_object) || !json_object_object_get_ex(root, "machine", &m) ||
            !json_object_is_type(m, json_type_object))
                FAIL("no 'machine' object");
        for (size_t i = 0; i < ELEMENTSOF(required_keys); i++)
                if (!json_object_object_get_ex(m, required_keys[i], &v))
                        FAIL("a required key of 'machine' is missing");
        json_object_object_get_ex(m, "agent_port", &v);
        if (!json_object_is_type(v, json_type_int) || json_object_get_int(v) < 1 || json_object_get_int(v) > 65535)
                FAIL("agent_port is not an integer in 1-65535");
        json_object_object_get_ex(m, "architecture", &v);
        if (!json_object_is_type(v, json_type_string) ||
            (!streq(json_object_get_string(v), "amd64") && !streq(json_object_get_string(v), "x86")))
                FAIL("architecture is not amd64 or x86");
        if (json_object_object_get_ex(m, "mac", &v) && v) {
                uint8_t mac[6];
                const char *s = json_object_get_string(v);
                if (!s || strlen(s) != 17 || s[2] != ':' || parse_mac(s, mac) < 0)
                        FAIL("mac is not in colon notation");
        }
        json_object_object_get_ex(m, "start_args", &v);
        if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0)
                FAIL("start_args is not a non-empty list");
        size_t n = json_object_array_length(v);
        _cleanup_strv_free_ char **args = NULL;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(v, i);
                if (!json_object_is_type(e, json_type_string))
                        FAIL("start_args holds a non-string");
                if (strv_extend(&args, json_object_get_string(e)) < 0)
                        FAIL("out of memory");
        }
        /* The rules on the arguments themselves are the QEMU layer's (it renders them). */
        if (cuckoo_start_args_check(args, ret_reason) < 0)
                return -EINVAL;
        return 0;
#undef FAIL
}
