/* vmcloak createiso: an OS profile's unattended install media, written to a file; no VM, no row. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "pipeline/pipeline.h"

struct os_profile;

struct createiso_request {
        const struct os_profile *profile;
        const char *out;               /* where the ISO goes */
        const char *ip;
        unsigned prefix;
        const char *gateway;
        const char *dns, *dns2;
        uint16_t agent_port;
        const char *resolution;
        const char *tempdir;           /* NULL: ~/.vmcloak/iso */
        const char *kernel, *modules;  /* linux */
        /* windows: the install source (an ISO or VMCloak's mounted tree), edition, key, account,
         * locale, and the NIC's MAC the bootstrap sets the address on (NULL: a random one, printed:
         * init --iso of the ISO must be given the same --mac, --ip and --port) */
        const char *iso, *iso_mount, *serial_key, *product, *mac;
        const char *hostname, *user, *password, *locale, *kblayout, *timezone;
        bool no_tpm;
};

/* Refuses an address an image or snapshot uses (as VMCloak does), builds the media in a work
 * folder (removed whatever happens) and moves the ISO to req->out. */
int pipeline_createiso(struct pipeline *pl, const struct createiso_request *req);
