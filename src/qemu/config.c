/* The QEMU run's lifetime and version helpers. */
#include "qemu/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

void qemu_run_done(struct qemu_run *r) {
        if (!r)
                return;
        free(r->binary);
        free(r->bridge_helper);
        free(r->uefi_code);
        free(r->tpm_socket);
        strv_free(r->extra_args);
        free(r->qmp_socket);
        free(r->incoming);
        free(r->pidfile);
        memset(r, 0, sizeof *r);
}

int qemu_version_cmp(const struct qemu_version *a, unsigned major, unsigned minor, unsigned micro) {
        if (a->major != major)
                return a->major < major ? -1 : 1;
        if (a->minor != minor)
                return a->minor < minor ? -1 : 1;
        if (a->micro != micro)
                return a->micro < micro ? -1 : 1;
        return 0;
}

int qemu_version_parse(const char *s, struct qemu_version *ret) {
        unsigned v[3] = { 0, 0, 0 };
        int n = 0;
        const char *p = s;
        while (n < 3) {
                if (*p < '0' || *p > '9')
                        return -EINVAL;
                unsigned long x = 0;
                while (*p >= '0' && *p <= '9') {
                        x = x * 10 + (unsigned)(*p - '0');
                        if (x > 100000)
                                return -ERANGE;
                        p++;
                }
                v[n++] = (unsigned)x;
                if (*p != '.')
                        break;
                p++;
        }
        if (*p || n < 2)
                return -EINVAL;
        *ret = (struct qemu_version){ v[0], v[1], v[2] };
        return 0;
}
