/* Reading one YAML file whole (libyaml's document API) with its syntax errors as FILE:LINE. */
#pragma once

#include <stdbool.h>
#include <string.h>
#include <yaml.h>

/* Read path into doc (the caller deletes it with yaml_document_delete). 0; -EINVAL after one
 * line "PATH:LINE: not valid YAML: ..." (also for an empty file or a second document: a file
 * holds one); a read error after one line naming the file; -ENOMEM. */
int yaml_file_load(const char *path, yaml_document_t *doc);

/* The names of the regular NAME.yaml files in dir, sorted (messages and overrides do not depend
 * on readdir's order); hidden files (editors' leftovers) and folders are skipped, a NAME.yml or a
 * FIFO named NAME.yaml is skipped with a warning naming what (e.g. "catalog entries"). 0 (*ret
 * NULL for none), or a negative errno after one line. */
int yaml_file_list(const char *dir, const char *what, char ***ret);

/* A scalar node's text; NULL for any other node (or none). */
static inline const char *yaml_scalar(const yaml_node_t *n) {
        return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* YAML 1.1's null: an empty or ~/null plain scalar. A quoted '' is an empty string. */
static inline bool yaml_is_null(const yaml_node_t *n) {
        const char *s = yaml_scalar(n);
        if (!s || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return false;
        return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
               strcmp(s, "NULL") == 0;
}
