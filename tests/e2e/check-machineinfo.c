/* Test helper: check a machineinfo.json the way Cuckoo3's import does, plus the fields a
 * snapshot VM must have. Usage: check-machineinfo FILE VMNAME; exit 0 when valid. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/machineinfo.h"
#include "qemu/argv.h"

int main(int argc, char **argv) {
        if (argc != 3)
                return 2;
        json_object *root = json_object_from_file(argv[1]), *m, *v;
        if (!root) {
                fprintf(stderr, "cannot parse %s\n", argv[1]);
                return 1;
        }
        const char *why = NULL;
        if (machineinfo_validate(root, &why) < 0) {
                fprintf(stderr, "%s: %s\n", argv[1], why);
                return 1;
        }
        json_object_object_get_ex(root, "machine", &m);
        static const char *const fields[][2] = { { "name", NULL }, { "os_name", "linux" }, { "architecture", "amd64" },
                                                 { "disk", "disk.qcow2" }, { "memory_snapshot", "memory.snapshot" } };
        for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
                const char *want = fields[i][1] ? fields[i][1] : argv[2];
                if (!json_object_object_get_ex(m, fields[i][0], &v) || strcmp(json_object_get_string(v), want) != 0) {
                        fprintf(stderr, "%s: %s is not %s\n", argv[1], fields[i][0], want);
                        return 1;
                }
        }
        if (!json_object_object_get_ex(m, "mac", &v) || strlen(json_object_get_string(v)) != 17) {
                fprintf(stderr, "%s: no MAC\n", argv[1]);
                return 1;
        }
        json_object_put(root);
        return 0;
}
