/* libvirt connection URIs (uri.h). */
#include "libvirt/uri.h"

#include <errno.h>
#include <libxml/uri.h>
#include <stdlib.h>

#include "core/util.h"

const char *libvirt_uri_choose(const char *uri) {
        if (!isempty(uri))
                return uri;
        const char *env = getenv("VMCLOAK_LIBVIRT_URI");
        return isempty(env) ? "qemu:///system" : env;
}

int libvirt_uri_is_local(const char *uri, bool *ret_local) {
        if (isempty(uri))
                return -EINVAL;
        xmlURIPtr u = xmlParseURI(uri);
        if (!u)
                return -EINVAL;
        bool ok = !isempty(u->scheme);
        *ret_local = isempty(u->server);
        xmlFreeURI(u);
        return ok ? 0 : -EINVAL;
}
