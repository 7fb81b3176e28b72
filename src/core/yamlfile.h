/* Reading one YAML file whole (libyaml's document API) with its syntax errors as FILE:LINE. */
#pragma once

#include <yaml.h>

/* Read path into doc (the caller deletes it with yaml_document_delete). 0; -EINVAL after one
 * line "PATH:LINE: not valid YAML: ..." (also for an empty file or a second document: a file
 * holds one); a read error after one line naming the file; -ENOMEM. */
int yaml_file_load(const char *path, yaml_document_t *doc);
