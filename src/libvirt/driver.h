/* The libvirt driver: machines on any libvirt host through the libvirt C API (issue 14). */
#pragma once

#include "machine/driver.h"

/*
 * vm_conn_opts.uri is a libvirt connection URI ("qemu:///system", "qemu+ssh://root@host/system",
 * "qemu+tcp://127.0.0.1:16509/system"); NULL: $VMCLOAK_LIBVIRT_URI, else qemu:///system.
 * vm_conn_opts.pool names the storage pool (NULL: "vmcloak", created as a directory pool under
 * the host's /var/lib/libvirt/images/vmcloak when the host has none). Domains are rendered by
 * libvirt/domxml.h; type 'kvm' when the host's domain capabilities offer KVM, else 'qemu'.
 * Lifecycle and reboot events come from libvirt's event loop (virEventRegisterDefaultImpl, one
 * thread per process). The rules are those of machine/driver.h; libvirt's own error text is
 * part of each one-line error (virGetLastErrorMessage).
 *
 * Host-side files the driver makes: SMBIOS type 0/3 tables as volumes NAME-smbios-type0.bin
 * and NAME-smbios-type3.bin (removed with the domain, by vm_conn_domain_remove too). A
 * user-mode VM is refused on a host that is not this machine (its forwarded ports would be on
 * that host's 127.0.0.1): -EINVAL, "use a bridged image". UEFI: the OVMF code the host's domain
 * capabilities list, and libvirt's per-domain NVRAM when vm_def.nvram is NULL. Not supported
 * (-EOPNOTSUPP): memory files (save_memory, start from memory_image), Cuckoo3 start_args,
 * screenshots, the disk ops by path (volumes instead). docs/architecture.md has the details.
 */
extern const struct vm_driver libvirt_driver;
