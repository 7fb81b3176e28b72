/* Test helper: check a machineinfo.json the way Cuckoo3's import does, plus the fields a
 * snapshot VM must have. Usage: check-machineinfo FILE VMNAME [--tags T1,T2,...]; exit 0 when
 * valid. The tags are checked as Cuckoo3 treats them (below); with --tags they must be exactly
 * those ("" for none), in any order. */
#include <json-c/json.h>
#include <regex.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "pipeline/machineinfo.h"
#include "qemu/argv.h"

/* What PyYAML's YAML 1.1 resolver (yaml/resolver.py) reads as no string: bool, float, int,
 * merge, null, timestamp, value. Written again here, independently of vmcloak's own tag rule. */
static const char *const pyyaml_implicit[] = {
        "^(yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
        ("^([-+]?([0-9][0-9_]*)\\.[0-9_]*([eE][-+][0-9]+)?|\\.[0-9][0-9_]*([eE][-+][0-9]+)?|"
         "[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\\.[0-9_]*|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN))$"),
        "^([-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+)$",
        "^(<<)$",
        "^(~|null|Null|NULL|)$",
        "^[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?",
        "^(=)$",
};

/* `cuckoo machine import qemu` renders each tag unquoted into conf/machineries/qemu.yaml
 * (qemu.yaml.jinja2: "    - {{ tag }}") and Cuckoo3 reads that file back with PyYAML and
 * config.String (str(), strip()): the tag must come back as the same string. */
static const char *yaml_round_trip_problem(const char *tag) {
        size_t n = strlen(tag) + 32;
        char *doc = malloc(n);
        snprintf(doc, n, "tags:\n    - %s\n", tag);
        yaml_parser_t p;
        yaml_document_t d;
        const char *why = NULL;
        yaml_parser_initialize(&p);
        yaml_parser_set_input_string(&p, (const unsigned char *)doc, strlen(doc));
        if (!yaml_parser_load(&p, &d)) {
                free(doc);
                yaml_parser_delete(&p);
                return "is no valid YAML in Cuckoo3's qemu.yaml";
        }
        yaml_node_t *root = yaml_document_get_root_node(&d), *seq = NULL, *item = NULL;
        if (root && root->type == YAML_MAPPING_NODE &&
            root->data.mapping.pairs.top - root->data.mapping.pairs.start == 1)
                seq = yaml_document_get_node(&d, root->data.mapping.pairs.start->value);
        if (seq && seq->type == YAML_SEQUENCE_NODE && seq->data.sequence.items.top - seq->data.sequence.items.start == 1)
                item = yaml_document_get_node(&d, *seq->data.sequence.items.start);
        if (!item || item->type != YAML_SCALAR_NODE)
                why = "is no single item of qemu.yaml's tags list once written there";
        else if (item->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || item->data.scalar.length != strlen(tag) ||
                 memcmp(item->data.scalar.value, tag, strlen(tag)) != 0)
                why = "reads back as another string from qemu.yaml";
        for (size_t i = 0; !why && i < sizeof pyyaml_implicit / sizeof *pyyaml_implicit; i++) {
                regex_t re;
                if (regcomp(&re, pyyaml_implicit[i], REG_EXTENDED | REG_NOSUB) != 0)
                        why = "(checker: a bad regex)";
                else if (regexec(&re, tag, 0, NULL, 0) == 0)
                        why = "is no string to PyYAML (a bool, number, null or date)";
                regfree(&re);
        }
        yaml_document_delete(&d);
        yaml_parser_delete(&p);
        free(doc);
        return why;
}

/* Cuckoo3's handling of tags: config.List drops empty items and strips each one; tasks store a
 * machine's tags joined by ',' and `cuckoo submit --platform windows,10,T1,T2` splits on ','. */
static bool tags_ok(const char *file, json_object *tags, const char *want) {
        if (!json_object_is_type(tags, json_type_array)) {
                fprintf(stderr, "%s: tags is not a list\n", file);
                return false;
        }
        size_t n = json_object_array_length(tags), n_want = 0;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(tags, i);
                const char *t = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : NULL;
                const char *why = !t || !*t                       ? "is no non-empty string"
                                  : strchr(t, ',')                ? "has a ',' (Cuckoo3 splits tags on ',')"
                                  : strspn(t, " \t") || strchr(" \t", t[strlen(t) - 1]) ? "has blanks Cuckoo3 strips"
                                                                                         : yaml_round_trip_problem(t);
                if (why) {
                        fprintf(stderr, "%s: tag %zu '%s' %s\n", file, i + 1, t ? t : "?", why);
                        return false;
                }
                for (size_t j = 0; j < i; j++)
                        if (strcmp(json_object_get_string(json_object_array_get_idx(tags, j)), t) == 0) {
                                fprintf(stderr, "%s: tag '%s' is there twice\n", file, t);
                                return false;
                        }
                if (!want)
                        continue;
                /* ",T1,T2,": each tag must be one of the wanted ones. */
                size_t l = strlen(t);
                const char *p = want;
                bool found = false;
                for (const char *c; !found && (c = strstr(p, t)); p = c + 1)
                        found = (c == want || c[-1] == ',') && (c[l] == ',' || c[l] == 0);
                if (!found) {
                        fprintf(stderr, "%s: tag '%s' is not one of the expected %s\n", file, t, want);
                        return false;
                }
        }
        for (const char *p = want; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : p + strlen(p))
                n_want++;
        if (want && n != n_want) {
                fprintf(stderr, "%s: %zu tags, expected %zu (%s): %s\n", file, n, n_want, want,
                        json_object_to_json_string(tags));
                return false;
        }
        return true;
}

int main(int argc, char **argv) {
        const char *want = NULL;
        if (argc == 5 && strcmp(argv[3], "--tags") == 0)
                want = argv[4];
        else if (argc != 3)
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
                const char *want_v = fields[i][1] ? fields[i][1] : argv[2];
                if (!json_object_object_get_ex(m, fields[i][0], &v) || strcmp(json_object_get_string(v), want_v) != 0) {
                        fprintf(stderr, "%s: %s is not %s\n", argv[1], fields[i][0], want_v);
                        return 1;
                }
        }
        if (!json_object_object_get_ex(m, "mac", &v) || strlen(json_object_get_string(v)) != 17) {
                fprintf(stderr, "%s: no MAC\n", argv[1]);
                return 1;
        }
        json_object_object_get_ex(m, "tags", &v);
        if (!tags_ok(argv[1], v, want))
                return 1;
        json_object_put(root);
        return 0;
}
