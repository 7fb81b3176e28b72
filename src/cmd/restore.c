/* vmcloak restore: restore a snapshot VM the way Cuckoo3 does and time it. */
#include <errno.h>
#include <stddef.h>

#include "cmd/args.h"
#include "cmd/checks.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "cmd/jsonout.h"
#include "core/log.h"
#include "core/util.h"
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

/* --json: the timing line's figures and --exec's output (docs/json.md). */
static int print_json(const struct restore_result *res) {
        json_object *o = json_object_new_object(), *ex = NULL;
        json_object_object_add(o, "vmname", json_object_new_string(req.vmname));
        json_object_object_add(o, "ip", json_str_or_null(res->ip));
        json_object_object_add(o, "port", json_object_new_int(res->port));
        json_object_object_add(o, "running_after_s", json_seconds(res->running_s));
        json_object_object_add(o, "agent_after_s", json_seconds(res->agent_s));
        if (res->exec_ran) {
                ex = json_object_new_object();
                json_object_object_add(ex, "command", json_object_new_string(req.exec));
                json_object_object_add(ex, "exit_code", json_object_new_int(res->exec_exit_code));
                json_object_object_add(ex, "stdout", json_object_new_string(strempty(res->exec_stdout)));
                json_object_object_add(ex, "stderr", json_object_new_string(strempty(res->exec_stderr)));
        }
        json_object_object_add(o, "exec", ex);
        return json_print_put(o);
}

static int run(const struct cmd_env *env) {
        struct restore_result res = { 0 };
        if (global.json)
                req.result = &res;
        int r = pipeline_restore(env->pl, &req);
        /* A command of --exec that failed still has its result (exit 1 all the same). */
        if (global.json && (r == 0 || (r == -EREMOTEIO && res.exec_ran))) {
                int p = print_json(&res);
                r = r < 0 ? r : p;
        }
        restore_result_done(&res);
        return exit_code_for(r);
}

const struct cmd_def cmd_restore = { .spec = &spec, .check = check, .run = run };
