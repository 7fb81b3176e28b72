/* doctor --connect's view of a libvirt host: versions, domain types, pool, networks, bridge. */
#include "libvirt/hostcheck.h"

#include <errno.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/util.h"

const char *libvirt_version_string(unsigned long v, char *buf, size_t size) {
        snprintf(buf, size, "%lu.%lu.%lu", v / 1000000, v / 1000 % 1000, v % 1000);
        return buf;
}

/* libvirt prints every error on stderr by default; the report carries them instead. */
static void quiet(void *data, virErrorPtr e) {
        (void)data, (void)e;
}

static const char *last_error(void) {
        const char *m = virGetLastErrorMessage();
        return m ? m : "unknown libvirt error";
}

/* The domain types the host can run x86_64 guests with: its domain capabilities for virt type
 * kvm and qemu (virConnectGetDomainCapabilities answers only when the type really works: kvm
 * needs /dev/kvm there, which the plain capabilities XML does not check). */
static void read_domain_types(virConnectPtr c, struct libvirt_host_report *r) {
        _cleanup_free_ char *kvm = virConnectGetDomainCapabilities(c, NULL, "x86_64", NULL, "kvm", 0);
        _cleanup_free_ char *qemu = virConnectGetDomainCapabilities(c, NULL, "x86_64", NULL, "qemu", 0);
        r->type_kvm = kvm != NULL;
        r->type_qemu = qemu != NULL;
        if (!r->type_kvm && !r->type_qemu)
                snprintf(r->caps_error, sizeof r->caps_error, "no x86_64 guests: %s", last_error());
}

static void read_pool(virConnectPtr c, const char *name, struct libvirt_host_report *r) {
        virStoragePoolPtr p = virStoragePoolLookupByName(c, name);
        if (!p)
                return;
        r->pool_exists = true;
        int active = virStoragePoolIsActive(p);
        r->pool_active = active == 1;
        virStoragePoolInfo info;
        if (virStoragePoolGetInfo(p, &info) == 0 && r->pool_active) {
                r->pool_capacity = info.capacity;
                r->pool_available = info.available;
        }
        _cleanup_free_ char *xml = virStoragePoolGetXMLDesc(p, 0);
        xmlDocPtr doc = xml ? xmlReadMemory(xml, (int)strlen(xml), "pool.xml", NULL, XML_PARSE_NONET) : NULL;
        if (doc) {
                xmlNodePtr root = xmlDocGetRootElement(doc);
                xmlChar *type = root ? xmlGetProp(root, (const xmlChar *)"type") : NULL;
                if (type)
                        snprintf(r->pool_type, sizeof r->pool_type, "%s", (const char *)type);
                xmlFree(type);
                xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
                xmlXPathObjectPtr o = ctx ? xmlXPathEvalExpression((const xmlChar *)"string(/pool/target/path)", ctx)
                                          : NULL;
                if (o && o->stringval)
                        snprintf(r->pool_path, sizeof r->pool_path, "%s", (const char *)o->stringval);
                xmlXPathFreeObject(o);
                xmlXPathFreeContext(ctx);
                xmlFreeDoc(doc);
        }
        virStoragePoolFree(p);
}

static void read_networks(virConnectPtr c, const char *bridge, struct libvirt_host_report *r) {
        virNetworkPtr *nets = NULL;
        int n = virConnectListAllNetworks(c, &nets, 0);
        if (n < 0) {
                snprintf(r->networks, sizeof r->networks, "cannot be listed: %s", last_error());
                return;
        }
        r->n_networks = (unsigned)n;
        for (int i = 0; i < n; i++) {
                const char *name = virNetworkGetName(nets[i]);
                _cleanup_free_ char *br = virNetworkGetBridgeName(nets[i]); /* NULL for networks without one */
                bool active = virNetworkIsActive(nets[i]) == 1;
                size_t len = strlen(r->networks);
                snprintf(r->networks + len, sizeof r->networks - len, "%s%s (%s%s, %s)", len ? ", " : "",
                         strempty(name), br ? "bridge " : "no bridge", strempty(br), active ? "active" : "inactive");
                if (bridge && br && streq(br, bridge) && r->bridge != LIBVIRT_BRIDGE_NETWORK) {
                        r->bridge = LIBVIRT_BRIDGE_NETWORK;
                        r->bridge_active = active;
                        snprintf(r->bridge_network, sizeof r->bridge_network, "%s", strempty(name));
                }
                virNetworkFree(nets[i]);
        }
        free(nets);
}

/* A host bridge no libvirt network owns: libvirt's interface driver (virInterfaceLookupByName). */
static void read_interface(virConnectPtr c, const char *bridge, struct libvirt_host_report *r) {
        virInterfacePtr i = virInterfaceLookupByName(c, bridge);
        if (i) {
                r->bridge = LIBVIRT_BRIDGE_INTERFACE;
                r->bridge_active = virInterfaceIsActive(i) == 1;
                virInterfaceFree(i);
                return;
        }
        virErrorPtr e = virGetLastError();
        if (e && e->code == VIR_ERR_NO_INTERFACE) {
                r->bridge = LIBVIRT_BRIDGE_MISSING;
                return;
        }
        r->bridge = LIBVIRT_BRIDGE_UNKNOWN;
        snprintf(r->bridge_error, sizeof r->bridge_error, "%s", last_error());
}

int libvirt_host_report(const char *uri, const char *pool, const char *bridge, struct libvirt_host_report *r) {
        *r = (struct libvirt_host_report){ 0 };
        virSetErrorFunc(NULL, quiet);
        virConnectPtr c = virConnectOpenAuth(uri, virConnectAuthPtrDefault, 0); /* as the driver: SASL/polkit prompts */
        if (!c) {
                snprintf(r->connect_error, sizeof r->connect_error, "%s", last_error());
                return 0;
        }
        r->connected = true;
        _cleanup_free_ char *host = virConnectGetHostname(c);
        snprintf(r->hostname, sizeof r->hostname, "%s", strempty(host));
        if (virConnectGetLibVersion(c, &r->libvirt_version) < 0)
                r->libvirt_version = 0;
        const char *type = virConnectGetType(c);
        snprintf(r->hv_type, sizeof r->hv_type, "%s", strempty(type));
        if (virConnectGetVersion(c, &r->hv_version) < 0)
                r->hv_version = 0;
        read_domain_types(c, r);
        if (pool)
                read_pool(c, pool, r);
        read_networks(c, bridge, r);
        if (bridge && r->bridge == LIBVIRT_BRIDGE_NOT_CHECKED)
                read_interface(c, bridge, r);
        virConnectClose(c);
        return 0;
}
