/* What a libvirt host offers vmcloak, read through the libvirt C API (doctor --connect, issue 14). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "machine/driver.h"

/* libvirt versions as virConnectGetLibVersion() gives them: major * 1000000 + minor * 1000 + micro. */
#define LIBVIRT_VERSION_NUM(ma, mi, mc) ((ma) * 1000000UL + (mi) * 1000UL + (mc))
/* The oldest libvirt daemon vmcloak's domain XML needs: <qemu:override> (device properties
 * through the QEMU namespace, src/libvirt/domxml.c) came in libvirt 8.2.0 (NEWS.rst v8.2.0
 * "qemu: Allow overrides of device properties via the qemu namespace"). CAPE's own
 * LibVirtMachinery._version_check (getVersion() >= 8000) is 0.8.0 of the CAPE host's client
 * library, no floor on the daemon. */
#define LIBVIRT_VERSION_DOMXML LIBVIRT_VERSION_NUM(8, 2, 0)
/* Internal (running-state) snapshots of a domain with pflash/UEFI firmware: created since 10.9.0
 * when its NVRAM is a qcow2 image (<nvram format='qcow2'>), reverted correctly since 10.10.0
 * ("Fix reversion and inactive deletion of internal snapshots with UEFI NVRAM"; the same
 * release populates a qcow2 NVRAM from a raw template). libvirt's NEWS.rst; docs/libvirt.md.
 * The version itself is machine/driver.h's, which snapshot --connect checks too. */
#define LIBVIRT_VERSION_UEFI_INTERNAL_SNAPSHOT                                                   \
        LIBVIRT_VERSION_NUM(VM_LIBVIRT_UEFI_SNAPSHOT_MAJOR, VM_LIBVIRT_UEFI_SNAPSHOT_MINOR, \
                            VM_LIBVIRT_UEFI_SNAPSHOT_MICRO)
/* virDomainRevertToSnapshot on an external snapshot: libvirt 9.9.0 (NEWS.rst). */
#define LIBVIRT_VERSION_EXTERNAL_REVERT LIBVIRT_VERSION_NUM(9, 9, 0)

/* "10.10.0" from a version number (buf of at least 16 bytes). */
const char *libvirt_version_string(unsigned long v, char *buf, size_t size);

enum libvirt_bridge_found {
        LIBVIRT_BRIDGE_NOT_CHECKED = 0,  /* no bridge asked for */
        LIBVIRT_BRIDGE_NETWORK,          /* the bridge of a libvirt network (bridge_network names it) */
        LIBVIRT_BRIDGE_INTERFACE,        /* a host interface libvirt's interface driver lists */
        LIBVIRT_BRIDGE_MISSING,          /* neither */
        LIBVIRT_BRIDGE_UNKNOWN,          /* no network has it and the host cannot list interfaces */
};

struct libvirt_host_report {
        /* The connection; on failure only connect_error is set (libvirt's own message). */
        bool connected;
        char connect_error[512];
        char hostname[256];
        unsigned long libvirt_version;   /* the daemon's (virConnectGetLibVersion) */
        char hv_type[32];                /* virConnectGetType: "QEMU" */
        unsigned long hv_version;        /* virConnectGetVersion: QEMU's, same encoding; 0: unknown */
        /* Domain types the host runs x86_64 guests with (virConnectGetDomainCapabilities). */
        bool type_kvm, type_qemu;
        char caps_error[256];            /* "" unless neither type works */
        /* The storage pool asked for (virStoragePoolLookupByName, virStoragePoolGetInfo). */
        bool pool_exists, pool_active;
        char pool_type[32], pool_path[512];
        uint64_t pool_capacity, pool_available;   /* bytes */
        /* Networks (virConnectListAllNetworks): "name (bridge virbr0, active)" joined by ", ". */
        unsigned n_networks;
        char networks[1024];
        /* The bridge asked for. */
        enum libvirt_bridge_found bridge;
        char bridge_network[128];        /* the network whose bridge it is */
        bool bridge_active;              /* that network or interface is up */
        char bridge_error[256];          /* LIBVIRT_BRIDGE_UNKNOWN: what libvirt said */
};

/*
 * Connect to uri (a libvirt connection URI) and read what doctor --connect reports: versions,
 * domain types, pool (NULL: not checked) and bridge (NULL: not checked). A host that cannot be
 * reached is no error: r->connected false and r->connect_error hold libvirt's message. Every
 * other query failure lands in its own field of r. Always 0 (nothing is logged: the caller words
 * each finding).
 */
int libvirt_host_report(const char *uri, const char *pool, const char *bridge, struct libvirt_host_report *r);
