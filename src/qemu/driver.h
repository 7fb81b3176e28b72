/* The QEMU driver: machines run as qemu-system-x86_64 children of vmcloak, talked to over QMP. */
#pragma once

#include "machine/driver.h"

/*
 * conn_open finds QEMU (>= 2.11, $VMCLOAK_QEMU or PATH) and resolves the accelerator (a real
 * KVM probe, probe.h). A domain gets the host facts it needs at define time: the bridge
 * helper QEMU will run, free 127.0.0.1 ports for user-mode forwards, the OVMF code and a copy
 * of the variable store template when its nvram file does not exist yet, and a private run
 * folder for the QMP and swtpm sockets. Storage is qemu-img; memory files are QMP migrations
 * through a compressor (memsnap.h); Cuckoo3 start_args come from the same argv builder.
 */
extern const struct vm_driver qemu_driver;
