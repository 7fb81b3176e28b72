/* The pipeline's connection to its driver, opened once on first use. */
#include "pipeline/pipeline.h"

#include <stddef.h>

int pipeline_connect(struct pipeline *p, enum vm_accel accel) {
        if (p->conn)
                return 0;
        struct vm_conn_opts o = { .accel = accel, .uri = p->uri, .pool = p->pool };
        return vm_conn_open(p->driver, &o, &p->conn);
}

void pipeline_done(struct pipeline *p) {
        vm_conn_close(p->conn);
        p->conn = NULL;
}
