/* vmcloak restore: restore a snapshot VM the way Cuckoo3 does and time it. */
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/checks.h"
#include "cmd/cmd.h"
#include "core/log.h"
#include "pipeline/restore.h"

static struct restore_request req;

static int check_exec(const struct args *a, const char *value, const char *what) {
        (void)a;
        if (!*value) {
                log_error("%s needs a command to run in the restored guest", what);
                return -EINVAL;
        }
        return 0;
}

static const struct optdef opts[] = {
        OPT_BOOL(0, "keep", &req.keep, "Leave the restored VM running (stop it with Ctrl-C)"),
        OPT_STRING(0, "exec", &req.exec, "COMMAND", "Run COMMAND in the restored guest and print its output",
                   .check = check_exec),
        OPT_UINT(0, "timeout", &req.timeout_s, 1, 86400, "SECONDS", "Give up when a step takes longer",
                 .def = "120 (restore), 60 (agent)"),
        OPT_BOOL(0, "vrde", &req.vnc, "Enable VNC"),
        OPT_UINT(0, "vrde-port", &req.vnc_display, 0, 65535 - 5900, "N",
                 "VNC display number; QEMU listens on TCP 5900+N", .def_value = "3389"),
        OPT_IPV4(0, "vnc-listen", &req.vnc_listen, "ADDR", "Address VNC listens on", .def_value = "127.0.0.1"),
        { NULL },
};

static const struct posdef pos[] = {
        { "VMNAME", check_vm_existing },
        { NULL },
};

static const struct cmd_spec spec = {
        "restore", "[OPTIONS] VMNAME",
        "Restore snapshot VMNAME (disposable disk + memory file), wait for its agent, report the time.",
        "Restores the way Cuckoo3 does: machineinfo.json's start_args with the VM's disk in place of\n"
        "%DISPOSABLE_DISK_PATH% (its -drive gets snapshot=on: QEMU keeps the writes in a temporary\n"
        "overlay in the VM's folder, as Cuckoo3's disposable one, and drops them; Cuckoo3 makes its\n"
        "overlay with qemu-img first), -incoming \"exec:lz4 -c -d <\n"
        "memory.snapshot\" (decompressor chosen by the file's magic), then cont. The VM is stopped again\n"
        "and its changes discarded unless --keep.\n"
        "Prints \"running after X s, agent answering after Y s\": both counted from just after\n"
        "machineinfo.json is read (QEMU's start, the memory load, cont; then the agent's first HTTP\n"
        "answer), comparable with QEMU started paused and quit plus a bare decompression of the file\n"
        "(bench/restore-limit.py).", opts, 1, 1, .pos = pos,
};

static int check(const struct args *a) {
        req.vmname = a->pos[0];
        return 0;
}

static int run(const struct cmd_env *env) { return exit_code_for(pipeline_restore(env->pl, &req)); }

const struct cmd_def cmd_restore = { .spec = &spec, .check = check, .run = run };
