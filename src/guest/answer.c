/* Shell answer files: single quotes are the one quoting form with no special characters inside. */
#include "guest/answer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/util.h"


static bool shell_name_ok(const char *k) {
        if (!k || !*k || (*k >= '0' && *k <= '9'))
                return false;
        for (const char *p = k; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
                        return false;
        return true;
}

int answer_file_render(const char *const *keys, const char *const *values, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        _cleanup_fclose_ FILE *f = open_memstream(&buf, &len);
        if (!f)
                return log_oom();
        fputs("# vmcloak answer file: sourced by the guest installer's shell.\n", f);
        for (size_t i = 0; keys[i]; i++) {
                if (!shell_name_ok(keys[i])) {
                        log_error("answer file: '%s' is not a shell variable name", keys[i]);
                        return -EINVAL;
                }
                _cleanup_free_ char *q = shell_quote(strempty(values[i]));
                if (!q)
                        return log_oom();
                fprintf(f, "%s=%s\n", keys[i], q);
        }
        if (fflush(f) != 0 || ferror(f))
                return log_oom();
        fclose(TAKE_PTR(f));
        *ret = TAKE_PTR(buf);
        return 0;
}
