/* Reading one YAML file whole with its syntax errors as FILE:LINE (the dependency catalog, the
 * hardware profiles). */
#include "core/yamlfile.h"

#include <errno.h>

#include "core/log.h"
#include "core/util.h"

int yaml_file_load(const char *path, yaml_document_t *doc) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = read_full_file(path, &text, &len);
        if (r < 0)
                return log_error_errno(r, "cannot read %s: %m", path);
        yaml_parser_t p;
        if (!yaml_parser_initialize(&p))
                return log_oom();
        yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
        if (!yaml_parser_load(&p, doc)) {
                if (p.error == YAML_MEMORY_ERROR)
                        r = log_oom();
                else {
                        log_error("%s:%zu: not valid YAML: %s%s%s%s", path, p.problem_mark.line + 1,
                                  strempty(p.problem), p.context ? " (" : "", strempty(p.context),
                                  p.context ? ")" : "");
                        r = -EINVAL;
                }
                yaml_parser_delete(&p);
                return r;
        }
        /* One document per file: a second one would be silently ignored. */
        yaml_document_t next;
        if (yaml_parser_load(&p, &next)) {
                bool more = yaml_document_get_root_node(&next) != NULL;
                size_t line = next.start_mark.line + 1;
                yaml_document_delete(&next);
                if (more) {
                        yaml_document_delete(doc);
                        yaml_parser_delete(&p);
                        log_error("%s:%zu: a second YAML document; a file holds one", path, line);
                        return -EINVAL;
                }
        } else {
                log_error("%s:%zu: not valid YAML: %s", path, p.problem_mark.line + 1, strempty(p.problem));
                yaml_document_delete(doc);
                yaml_parser_delete(&p);
                return -EINVAL;
        }
        yaml_parser_delete(&p);
        if (!yaml_document_get_root_node(doc)) {
                yaml_document_delete(doc);
                log_error("%s:1: the file is empty", path);
                return -EINVAL;
        }
        return 0;
}
