/* vmcloak restore: a snapshot VM restored the way Cuckoo3 restores it, timed. */
#pragma once

#include <stdbool.h>

#include "pipeline/pipeline.h"

struct agent_client;

struct restore_request {
        const char *vmname;
        bool keep;
        unsigned timeout_s;
        bool vnc;
        unsigned vnc_display;
        const char *vnc_listen;
        const char *exec;              /* run this in the restored guest (bounded by timeout_s, else
                                        * 60 s) and print its output; its non-zero exit code is
                                        * -EREMOTEIO after one line (the restore itself worked) */
        /* Run in the restored guest once its agent answers (cloakcheck VM), or NULL; its error
         * fails the restore. quiet: the timing line goes to the log (stderr), not stdout. */
        int (*in_guest)(struct agent_client *agent, void *userdata);
        void *userdata;
        bool quiet;
        /* Filled when not NULL (--json): the figures the timing line has, and exec's output
         * (then not printed: stdout is the caller's); free with restore_result_done. */
        struct restore_result *result;
};

struct restore_result {
        double running_s, agent_s;     /* from just after machineinfo.json was read */
        char *ip;
        int port;
        bool exec_ran;                 /* exec ran; its output and exit code follow */
        char *exec_stdout, *exec_stderr;
        int exec_exit_code;
};
void restore_result_done(struct restore_result *r);

/* Cuckoo3's restore (cuckoo3-qemu.md): machineinfo.json's start_args with the VM's disk in place
 * of %DISPOSABLE_DISK_PATH% under snapshot=on (QEMU keeps the writes in a temporary overlay in the
 * VM's folder, unlinked at once; Cuckoo3 makes its overlay with qemu-img), the memory file as the
 * incoming migration, then cont; then the agent. Prints the times; with keep, runs until the
 * guest shuts down or Ctrl-C. 0, -EREMOTEIO (exec's command failed), or a negative errno after
 * one line ("restore of VM failed"). */
int pipeline_restore(struct pipeline *pl, const struct restore_request *req);
