/* vmcloak cloakcheck: run the cloak detector in a snapshot VM, an image or a running guest and
 * print its scorecard. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cloak/scorecard.h"
#include "cmd/args.h"
#include "cmd/checks.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "cmd/vmopts.h"
#include "core/log.h"
#include "core/util.h"
#include "pipeline/cloakcheck.h"

/* Exit code of --fail-on-detected: the check ran, and a tell the command line can hide shows. */
#define EXIT_DETECTED 3

static struct cloakcheck_request req;
static bool fail_on_detected;

static int check_agent_addr(const struct args *a, const char *value, const char *what) {
        (void)a;
        if (!*value) {
                log_error("%s needs the guest's agent address, IP[:PORT]", what);
                return -EINVAL;
        }
        return 0;
}

static const struct optdef opts[] = {
        OPT_BOOL(0, "fail-on-detected", &fail_on_detected,
                 "Exit with code 3 when a check that a QEMU command line can hide is detected"),
        OPT_STRING(0, "agent", &req.agent, "IP[:PORT]",
                   "Check the running guest whose Cuckoo agent answers there (no VM is started)",
                   .def = "port 8000", .check = check_agent_addr),
        OPT_STRING(0, "os", &req.os, "OS", "With --agent: the guest's OS, linux or windows (or an OS profile)"),
        /* pipeline/cloakcheck.c's waits: the detector's run, an image's boot (its OS's install
         * timeout), a VM's restore (pipeline_restore's), --agent's first answer. */
        VM_RUN_OPTS_TIMEOUT(req.vm, "the detector: 300; an image's boot: the OS's (linux 300); a VM: restore's (120, "
                                    "its agent 60); --agent's first answer: 30"),
        { NULL },
};

static const struct posdef pos[] = {
        { "VM|IMAGE", check_existing },
        { NULL },
};

static const struct cmd_spec spec = {
        "cloakcheck", "[OPTIONS] VM|IMAGE  |  --agent IP[:PORT] --os OS",
        "Run the cloak detector in a VM, an image or a running guest and print its scorecard.",
        "VM: the snapshot VM is restored as 'vmcloak restore' does and stopped again. IMAGE: the image\n"
        "boots on a throw-away overlay (nothing of it is kept). The scorecard is stored with the VM\n"
        "or image (repository.db). --agent checks a guest vmcloak did not start. Each check\n"
        "says what the guest saw and whether it is hidden, detected (a VM tell) or skipped; a '*'\n"
        "marks a tell a QEMU 7.2 command line cannot hide. --json prints the scorecard as JSON.\n"
        "Exit code 0 when the detector ran (the scorecard is the result), 1 on failure, 3 with\n"
        "--fail-on-detected when a hideable check is detected.",
        opts, 0, 1, .pos = pos,
};

static int check(const struct args *a) {
        if (a->npos == 1 && req.agent) {
                log_error("give either a VM or image name or --agent, not both");
                return -EINVAL;
        }
        if (a->npos == 0 && !req.agent) {
                log_error("name a snapshot VM or an image to check (or --agent IP[:PORT] --os OS for a running guest)");
                return -EINVAL;
        }
        if (req.agent && !req.os) {
                log_error("--agent needs --os linux or --os windows: the detector depends on the guest's OS");
                return -EINVAL;
        }
        if (!req.agent && req.os) {
                log_error("--os is for --agent only: a VM's or image's OS is known");
                return -EINVAL;
        }
        req.name = a->npos ? a->pos[0] : NULL;
        return 0;
}

static int run(const struct cmd_env *env) {
        _cleanup_(scorecard_done) struct scorecard sc = { 0 };
        int r = pipeline_cloakcheck(env->pl, &req, &sc);
        if (r < 0)
                return 1;
        if (global.json) {
                _cleanup_free_ char *json = NULL;
                if (scorecard_to_json(&sc, &json) < 0)
                        return 1;
                printf("%s\n", json);
        } else if (scorecard_print(&sc, stdout, log_use_color() && isatty(STDOUT_FILENO)) < 0) {
                return 1;
        }
        if (fflush(stdout) != 0)
                return 1;
        if (!fail_on_detected)
                return 0;
        _cleanup_free_ char *which = NULL;
        size_t n = 0;
        for (size_t i = 0; i < sc.n_checks; i++)
                if (sc.checks[i].verdict == CLOAK_DETECTED && !cloak_check_limit(sc.checks[i].name)) {
                        char *w = strdup_printf("%s%s%s", strempty(which), which ? ", " : "", sc.checks[i].name);
                        if (!w) {
                                log_oom();
                                return 1;
                        }
                        free(which);
                        which = w;
                        n++;
                }
        if (n == 0)
                return 0;
        /* stderr: stdout holds the scorecard (JSON with --json) and stays parseable. */
        log_error("--fail-on-detected: %zu check%s a QEMU command line can hide %s detected: %s", n, n == 1 ? "" : "s",
                  n == 1 ? "is" : "are", which);
        return EXIT_DETECTED;
}

const struct cmd_def cmd_cloakcheck = { .spec = &spec, .check = check, .run = run };
