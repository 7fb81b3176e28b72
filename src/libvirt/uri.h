/* libvirt connection URIs: which one applies, and whether it names this machine. */
#pragma once

#include <stdbool.h>

/* The URI a connection uses: uri when set, else $VMCLOAK_LIBVIRT_URI when set and not empty,
 * else "qemu:///system" (libvirt's system instance of the QEMU driver). A pointer into its
 * arguments or the environment: not a new string. */
const char *libvirt_uri_choose(const char *uri);

/* Whether a libvirt URI reaches a daemon on this machine: a URI without a host part
 * ("qemu:///system", "qemu+unix:///system", "qemu:///session", "qemu:///embed?root=..."), the
 * rule of libvirt's remote driver (it opens the local UNIX socket when the URI has no server;
 * libvirt.org/uri.html). A URI with a host is remote even when it is 127.0.0.1 (a daemon
 * reached over TCP or SSH may be another mount namespace or machine: its files are not ours).
 * Parsed with libxml2's xmlParseURI, as libvirt does. *ret_local; 0, or -EINVAL when uri is
 * not a URI (no line: the caller names it). */
int libvirt_uri_is_local(const char *uri, bool *ret_local);
