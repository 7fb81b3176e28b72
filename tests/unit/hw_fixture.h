/* The fixed identity the per-profile golden tests give every machine (cloak_argv, libvirt_domxml). */
#pragma once

#include <ctype.h>
#include <stdint.h>
#include <string.h>

#include "cloak/hardware.h"
#include "core/util.h"

/* Each per-VM field a fixed value of its real form (not random), the drives the profile's first,
 * the MAC on the profile's first OUI. The WWN is one fixed NAA 5 value (Seagate's OUI) whatever
 * the drive: this checks the rendering; which OUI hw_identity_new puts there is tested in
 * cloak_hardware.c. */
static inline void hw_fixed_identity(const struct hw_profile *p, struct hw_identity *id) {
        *id = (struct hw_identity){
                .profile = strdup(p->name),
                .system_serial = strdup("7XK2Q13"),
                .uuid = strdup("4c4c4544-0042-3510-8052-b7c04f4e3132"),
                .baseboard_serial = strdup("/7XK2Q13/CN7016379A00QK/"),
                .chassis_serial = strdup("7XK2Q13"),
                .memory_serial = strdup("3A1F09C2"),
                .disk_model = strdup(p->disks[0].model),
                .disk_firmware = strdup(p->disks[0].firmware),
                .disk_serial = strdup("Z9A0K3TQ"),
                .disk_wwn = UINT64_C(0x5000c500a1b2c3d4),
                .optical_model = strdup(p->optical[0].model),
                .optical_firmware = strdup(p->optical[0].firmware),
                .optical_serial = p->optical[0].serial ? strdup("K8EA4M21") : NULL,
                .mac = strdup_printf("%.8s:1a:2b:3c", p->nic.ouis[0]),
                .machine_id = strdup("0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
                .machine_guid = strdup("1b4e28ba-2fa1-41d2-883f-0016d3cca427"),
                .owner = strdup("Laura"),
                .install_date = 1700000000,
        };
        for (char *m = id->mac; *m; m++)
                *m = (char)tolower((unsigned char)*m);
}

/* The fixed machine of the profile goldens (disk @TMP@/disk.qcow2, bridge qemubr0, the profile's
 * CPUs and RAM) made into the profile's machine by hw_apply. 0 or hw_apply's error. */
static inline int hw_fixed_def(const struct hw_profile *p, struct vm_def *d) {
        struct hw_identity id;
        hw_fixed_identity(p, &id);
        vm_def_init(d);
        d->name = strdup(p->name);
        d->cpus = p->cpus;
        d->ram_mb = p->ram_mb;
        d->disk.path = strdup("@TMP@/disk.qcow2");
        d->net.type = VM_NET_BRIDGE;
        d->net.bridge = strdup("qemubr0");
        int r = hw_apply(p, &id, d);
        hw_identity_done(&id);
        return r;
}
