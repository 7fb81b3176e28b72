/* Running one VM for a pipeline step: host probes (once), a vm_config for an image or a
 * snapshot VM, start with logs in the VM's folder, the agent connection, clean power-off. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "qemu/config.h"
#include "qemu/probe.h"

struct image;
struct os_profile;
struct vm;
struct agent_client;

/* VM knobs every VM-starting command takes (src/cmd/vmopts.h). */
struct vm_options {
        enum vm_accel accel;          /* requested: AUTO, KVM or TCG */
        bool visible;                 /* -display gtk */
        bool vnc;
        unsigned vnc_display;         /* VMCloak's --vrde-port: TCP 5900+N */
        const char *vnc_listen;
        const char *serial;           /* file (default), file:PATH, pty, unix:PATH, none */
        char **shares;                /* TAG=DIR[,rw] */
        char **qemu_args;
        unsigned timeout_s;           /* 0: the step's default */
};

/* QEMU binary, version and the resolved accelerator, probed once per process. */
struct host_env {
        struct qemu_binary qemu;
        enum vm_accel accel;
};
int host_env_get(enum vm_accel requested, const struct host_env **ret);

/* A free TCP port on 127.0.0.1 (for user-mode forwards). */
int free_local_port(uint16_t *ret);

struct guest {
        char *name;
        char *logdir;
        char *qemu_log;
        struct vm_config cfg;
        struct vm_runtime rt;
        struct vm *vm;
        struct agent_client *agent;
        const struct os_profile *profile;
        bool user_net;
        char *agent_host;             /* where the agent is reached */
        uint16_t agent_port;
        int64_t started_ms;
};

/* Fill g for image img (its disk, or disk_path when set: an install overlay or a snapshot
 * VM's overlay), logging into logdir (created). The VM does not start yet. */
int guest_prepare(struct guest *g, const char *name, const struct image *img, const struct os_profile *p,
                  const struct vm_options *o, const char *disk_path, const char *logdir);
/* Start QEMU; then connect the agent client (not waiting for the agent). */
int guest_start(struct guest *g);
/* Wait for the agent with a progress line; on timeout, says where the logs are. */
int guest_wait_agent(struct guest *g, unsigned timeout_s, const char *what);
/* Run a profile command template with {key} values; exit code must be 0. */
int guest_run(struct guest *g, const char *tmpl, const char *const *keys, const char *const *values,
              int timeout_ms, char **ret_stdout);
/* Power the guest off through the agent and wait for QEMU to exit; falls back to ACPI and then
 * to stopping QEMU. 0 only when the guest shut down by itself (a clean disk). */
int guest_poweroff(struct guest *g, unsigned timeout_s);
/* Kill QEMU if it runs, free everything. */
void guest_done(struct guest *g);

/* Ensure a directory for logs and truncate old qemu/serial logs in it. */
int logdir_prepare(const char *dir);
/* "init: the guest's agent did not answer ...; logs: DIR" */
void guest_log_hint(const struct guest *g);
