/* Bridge-mode readiness: the checks `vmcloak doctor --bridge` lists and init/install/snapshot
 * run before starting QEMU, each with one line on what was found and the command that fixes it. */
#pragma once

#include <stddef.h>

enum net_check_status {
        NET_CHECK_OK,
        NET_CHECK_WARN,   /* works, but something is worth knowing (does not fail doctor) */
        NET_CHECK_FAIL,   /* QEMU would fail with "failed to create tun device", "access denied by acl file", ... */
        NET_CHECK_SKIP,   /* not checked because an earlier check failed */
};

struct net_check {
        const char *id;        /* stable, for --json: "bridge-exists", "helper-setuid", ... */
        char title[96];        /* "bridge qemubr0 exists" */
        enum net_check_status status;
        char detail[512];      /* what was found */
        char fix[512];         /* the command or step that fixes it; "" when nothing to fix */
};

#define NET_CHECKS_MAX 8

/* Fill a check's status, fix ("" for none) and detail. */
void net_check_set(struct net_check *c, enum net_check_status st, const char *fix, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* Run every bridge-mode check for `bridge` into out[] (at least NET_CHECKS_MAX entries) and return
 * how many were filled. `qemu_binary` may be NULL (qemu-system-x86_64 from PATH). Never prints. */
size_t net_bridge_checks(const char *bridge, const char *qemu_binary, struct net_check *out);

struct net_report {
        char message[512];     /* one line: what is wrong */
        char fix[512];         /* how to fix it */
};

/* The pre-flight for bridge mode: 0 when QEMU can attach a VM to `bridge`; otherwise -EHOSTUNREACH
 * with the first failing check in *report (the same words doctor prints). Never prints. */
int net_bridge_check(const char *bridge, struct net_report *report);
