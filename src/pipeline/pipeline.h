/* What every pipeline step works with: the repository and the driver that runs the machines. */
#pragma once

#include <stdbool.h>

#include "machine/driver.h"

struct repo;

/*
 * The command layer fills repo and driver (the QEMU driver; tests use the fake driver) and
 * calls pipeline_done() at the end. The connection to the driver's host is opened on first
 * use, once per process, with the accelerator the command asked for: a step that starts no
 * machine never probes QEMU or KVM.
 */
struct pipeline {
        struct repo *repo;
        const struct vm_driver *driver;
        const char *uri;               /* the driver's host; NULL: this machine */
        const char *pool;              /* its storage pool (libvirt); NULL: the driver's default */
        struct vm_conn *conn;          /* pipeline_connect() */
        /* What reaches the libvirt hosts VMs live on (issue 14: snapshot --connect, and rows
         * with snapshot.libvirt_uri for delvm): the command layer sets libvirt_driver, tests the
         * fake driver; NULL: such VMs are refused with one line. */
        const struct vm_driver *host_driver;
};

/* Open the connection (a no-op when open). Prints one line on failure. */
int pipeline_connect(struct pipeline *p, enum vm_accel accel);
void pipeline_done(struct pipeline *p);
