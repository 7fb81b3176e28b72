/* Writing (and checking, as Cuckoo3 would) machineinfo.json. */
#include "pipeline/machineinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <string.h>
#include <unistd.h>

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
        json_object_put(root);
        if (!path || !withnl)
                return -ENOMEM;
        /* Created, never replaced: one that exists is a VM's (Cuckoo3 may have imported it). The
         * folder is new and its VM not yet recorded, so nobody reads the file half-written. */
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        _cleanup_unlink_ char *made = TAKE_PTR(path);
        int r = write_all(fd, withnl, strlen(withnl));
        if (r < 0)
                return r;
        if (fsync(fd) < 0 || close(TAKE_FD(fd)) < 0)
                return -errno;
        DISARM(made);
        return 0;
}

/* Every key machineinfo_write() writes; restore reads no other. */
static const char *const root_keys[] = { "vmcloak_version", "machinery", "machinery_version", "machine" };
static const char *const machine_keys[] = {
        "name", "ip", "agent_port", "os_name", "os_version", "architecture", "tags", "bridge", "mac", "gateway",
        "netmask", "disk", "start_args", "memory_snapshot", "memory_snapshot_compression", "net", "hostname",
};

static bool key_in(const char *key, const char *const *keys, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (streq(key, keys[i]))
                        return true;
        return false;
}

int machineinfo_unknown_keys(json_object *root, char **ret) {
        *ret = NULL;
        _cleanup_strv_free_ char **l = NULL;
        json_object *m = NULL;
        if (json_object_is_type(root, json_type_object)) {
                json_object_object_foreach(root, k, v) {
                        (void)v;
                        if (!key_in(k, root_keys, ELEMENTSOF(root_keys)) && strv_extend(&l, k) < 0)
                                return -ENOMEM;
                }
                json_object_object_get_ex(root, "machine", &m);
        }
        if (json_object_is_type(m, json_type_object)) {
                json_object_object_foreach(m, k, v) {
                        (void)v;
                        if (!key_in(k, machine_keys, ELEMENTSOF(machine_keys)) &&
                            strv_extendf(&l, "machine.%s", k) < 0)
                                return -ENOMEM;
                }
        }
        if (!l)
                return 0;
        *ret = strv_join(l, ", ");
        return *ret ? 0 : -ENOMEM;
}

/* A file name in the VM's folder, as VMCloak and vmcloak write them ("disk.qcow2"). */
static bool plain_file_name(json_object *v) {
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        return s && *s && !strchr(s, '/') && !streq(s, ".") && !streq(s, "..");
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
        /* Another machinery's VM (libvirt, ...) is restored by its own tool. */
        if (json_object_object_get_ex(root, "machinery", &v) &&
            (!json_object_is_type(v, json_type_string) || !streq(json_object_get_string(v), "qemu")))
                FAIL("machinery is not qemu");
        for (size_t i = 0; i < ELEMENTSOF(required_keys); i++)
                if (!json_object_object_get_ex(m, required_keys[i], &v))
                        FAIL("a required key of 'machine' is missing");
        json_object_object_get_ex(m, "ip", &v);
        if (!json_object_is_type(v, json_type_string))
                FAIL("ip is not a string");
        /* Cuckoo3's machine config reads tags with config.List (common/cuckoo/common/config.py):
         * null, one string or a list; anything else stops its import. */
        json_object_object_get_ex(m, "tags", &v);
        if (v && !json_object_is_type(v, json_type_array) && !json_object_is_type(v, json_type_string))
                FAIL("tags is not a list");
        json_object_object_get_ex(m, "disk", &v);
        if (!plain_file_name(v))
                FAIL("disk is not a file name in the VM's folder");
        json_object_object_get_ex(m, "memory_snapshot", &v);
        if (!plain_file_name(v))
                FAIL("memory_snapshot is not a file name in the VM's folder");
        if (json_object_object_get_ex(m, "net", &v) &&
            (!json_object_is_type(v, json_type_string) ||
             (!streq(json_object_get_string(v), "bridge") && !streq(json_object_get_string(v), "user"))))
                FAIL("net is neither bridge nor user");
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
