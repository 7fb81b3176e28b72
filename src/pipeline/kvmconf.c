/* kvm.conf (CAPEv2) and kvm.yaml (Cuckoo3) for libvirt domains vmcloak made. */
#include "pipeline/kvmconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/tags.h"
#include "core/util.h"
#include "guest/profile.h"

/* CAPE's OS tag (kvm.conf.default: "One of the following OS version tags MUST be included for
 * Windows VMs: winxp, win7, win10, win11"; web.conf's [packages] also knows win8) from the OS
 * profile's os_version. */
static const char *cape_os_tag(const char *os_version) {
        static const struct { const char *version, *tag; } map[] = {
                { "7", "win7" }, { "8", "win8" }, { "8.1", "win8" }, { "10", "win10" }, { "11", "win11" },
        };
        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                if (os_version && streq(os_version, map[i].version))
                        return map[i].tag;
        return NULL;
}

static const char *cape_arch(const char *arch) {
        return streq(arch, "amd64") ? "x64" : arch;
}

/* What CAPE's Config (lib/cuckoo/common/config.py) would not hand back as the string written:
 * it tries getboolean (but for "0"/"1") and getint on every value. */
static bool cape_misreads(const char *v) {
        static const char *const booleans[] = { "yes", "no", "true", "false", "on", "off" };
        for (size_t i = 0; i < ELEMENTSOF(booleans); i++)
                if (strcasecmp(v, booleans[i]) == 0)
                        return true;
        if (streq(v, "0") || streq(v, "1"))
                return false;
        /* Python's int(): blanks around, a sign, digits with single '_' between them ("1_2"
         * is 12), so what strtol would stop at counts too. */
        const char *p = v;
        while (isspace((unsigned char)*p))
                p++;
        if (*p == '+' || *p == '-')
                p++;
        if (!isdigit((unsigned char)*p))
                return false;
        while (isdigit((unsigned char)*p) || (*p == '_' && isdigit((unsigned char)p[1])))
                p++;
        while (isspace((unsigned char)*p))
                p++;
        return !*p;
}

/* A value that survives configparser as it is: one line, no leading or trailing blanks. */
static int check_value(const char *machine, const char *key, const char *v, bool string_key) {
        if (isempty(v)) {
                log_error("machine %s has no %s: kvm.conf needs one", machine, key);
                return -EINVAL;
        }
        if (strpbrk(v, "\r\n") || isspace((unsigned char)v[0]) || isspace((unsigned char)v[strlen(v) - 1])) {
                log_error("machine %s: its %s '%s' has a line break or edge blanks, which the machinery's reader "
                          "would cut", machine, key, v);
                return -EINVAL;
        }
        if (string_key && cape_misreads(v)) {
                log_error("machine %s: CAPE reads the %s '%s' as a boolean or a number, not a name; rename it", machine,
                          key, v);
                return -EINVAL;
        }
        return 0;
}

/* configparser's BasicInterpolation: a literal '%' is written '%%'. */
static void put_ini(FILE *f, const char *key, const char *v) {
        fprintf(f, "%s = ", key);
        for (const char *p = v; *p; p++) {
                if (*p == '%')
                        fputc('%', f);
                fputc(*p, f);
        }
        fputc('\n', f);
}

static int machine_tags(const struct kvmconf_machine *m, bool cape, char ***ret) {
        _cleanup_strv_free_ char **t = NULL;
        /* The OS and arch tags first: what CAPE's scheduler filters on. */
        if (cape && m->os_tag && strv_extend(&t, m->os_tag) < 0)
                return -ENOMEM;
        if (cape && streq(m->arch, "amd64") && strv_extend(&t, "x64") < 0)
                return -ENOMEM;
        for (char *const *p = m->tags; p && *p; p++)
                if (!strv_contains(t, *p) && strv_extend(&t, *p) < 0)
                        return -ENOMEM;
        *ret = TAKE_PTR(t);
        return 0;
}

static int check_machines(const struct kvmconf *c, enum kvmconf_format fmt) {
        if (c->n_machines == 0) {
                log_error("no machine to write into the kvm machinery's configuration");
                return -EINVAL;
        }
        int r;
        if ((r = check_value("(all)", "dsn", c->dsn, false)) < 0)
                return r;
        for (size_t i = 0; i < c->n_machines; i++) {
                const struct kvmconf_machine *m = &c->machines[i];
                const char *n = strempty(m->name);
                if ((r = check_value(n, "name", m->name, fmt == KVMCONF_CAPE)) < 0 ||
                    (r = check_value(n, "label", m->label, fmt == KVMCONF_CAPE)) < 0 ||
                    (r = check_value(n, "platform", m->platform, false)) < 0 ||
                    (r = check_value(n, "ip", m->ip, false)) < 0 ||
                    (r = check_value(n, "arch", m->arch, false)) < 0 ||
                    (r = check_value(n, "interface", m->interface, fmt == KVMCONF_CAPE)) < 0 ||
                    (m->snapshot && (r = check_value(n, "snapshot", m->snapshot, fmt == KVMCONF_CAPE)) < 0))
                        return r;
                if (fmt == KVMCONF_CUCKOO3 && (r = check_value(n, "os_version", m->os_version, false)) < 0)
                        return r;
                if (fmt == KVMCONF_CAPE) {
                        /* Its own section and configparser's default section; a ',' would split
                         * the machines list, ']' end the section header. */
                        if (streq(m->name, "kvm") || streq(m->name, "DEFAULT") || strpbrk(m->name, ",[]")) {
                                log_error("machine %s: CAPE's kvm.conf cannot have a machine of that name (its own "
                                          "[kvm] or [DEFAULT] section, or a ',' or bracket); rename the VM", m->name);
                                return -EINVAL;
                        }
                        if (streq(m->platform, "windows") && !m->os_tag) {
                                log_error("machine %s: CAPE needs a Windows OS tag (winxp, win7, win10, win11) and "
                                          "vmcloak knows none for Windows %s", m->name, strempty(m->os_version));
                                return -EINVAL;
                        }
                }
                for (size_t j = 0; j < i; j++)
                        if (streq(c->machines[j].name, m->name)) {
                                log_error("machine %s is named twice", m->name);
                                return -EINVAL;
                        }
        }
        return 0;
}

static int render_cape(const struct kvmconf *c, FILE *f) {
        const char *iface = c->interface ? c->interface : c->machines[0].interface;
        fprintf(f, "# CAPEv2 conf/kvm.conf for the kvm machinery, written by vmcloak export --cape.\n"
                   "# %zu machine%s, all domains on %s.\n\n",
                c->n_machines, c->n_machines == 1 ? "" : "s", c->dsn);
        fputs("[kvm]\n", f);
        fputs("machines = ", f);
        for (size_t i = 0; i < c->n_machines; i++)
                fprintf(f, "%s%s", i ? "," : "", c->machines[i].name);
        fputc('\n', f);
        put_ini(f, "interface", iface);
        put_ini(f, "dsn", c->dsn);
        for (size_t i = 0; i < c->n_machines; i++) {
                const struct kvmconf_machine *m = &c->machines[i];
                fprintf(f, "\n[%s]\n", m->name);
                put_ini(f, "label", m->label);
                put_ini(f, "platform", m->platform);
                put_ini(f, "ip", m->ip);
                put_ini(f, "arch", cape_arch(m->arch));
                _cleanup_strv_free_ char **t = NULL;
                if (machine_tags(m, true, &t) < 0)
                        return -ENOMEM;
                if (t) {
                        _cleanup_free_ char *joined = strv_join(t, ",");
                        if (!joined)
                                return -ENOMEM;
                        /* CAPE's add_machine calls tags.replace(): a value its reader turned
                         * into a number or boolean makes it skip the machine. */
                        if (cape_misreads(joined)) {
                                log_error("machine %s: CAPE reads its tags '%s' as a boolean or a number; pick "
                                          "other tags", m->name, joined);
                                return -EINVAL;
                        }
                        put_ini(f, "tags", joined);
                }
                if (m->snapshot)
                        put_ini(f, "snapshot", m->snapshot);
                put_ini(f, "interface", m->interface);
                if (c->resultserver_ip)
                        put_ini(f, "resultserver_ip", c->resultserver_ip);
                if (c->resultserver_port)
                        fprintf(f, "resultserver_port = %u\n", c->resultserver_port);
        }
        return 0;
}

/* ---- Cuckoo3: libyaml's emitter into a memory stream ---- */

static int yaml_write(void *data, unsigned char *buf, size_t size) {
        return fwrite(buf, 1, size, data) == size;
}

static bool emit(yaml_emitter_t *e, yaml_event_t *ev, int ok) {
        return ok && yaml_emitter_emit(e, ev);
}

static bool emit_scalar(yaml_emitter_t *e, const char *v, yaml_scalar_style_t style) {
        yaml_event_t ev;
        return emit(e, &ev, yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)v, (int)strlen(v), 1, 1,
                                                         style));
}

/* Every string value quoted: PyYAML resolves YAML 1.1 plain scalars, where "10" is a number,
 * "yes" a boolean and the MAC 52:54:00:12:34:56 a base-60 integer. */
static bool emit_str(yaml_emitter_t *e, const char *key, const char *v) {
        return emit_scalar(e, key, YAML_PLAIN_SCALAR_STYLE) && emit_scalar(e, v, YAML_SINGLE_QUOTED_SCALAR_STYLE);
}

static bool emit_map_start(yaml_emitter_t *e) {
        yaml_event_t ev;
        return emit(e, &ev, yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE));
}

static bool emit_map_end(yaml_emitter_t *e) {
        yaml_event_t ev;
        return emit(e, &ev, yaml_mapping_end_event_initialize(&ev));
}

static bool emit_machine(yaml_emitter_t *e, const struct kvmconf_machine *m) {
        char port[8];
        snprintf(port, sizeof port, "%u", m->agent_port ? m->agent_port : 8000);
        _cleanup_strv_free_ char **t = NULL;
        if (machine_tags(m, false, &t) < 0)
                return false;
        yaml_event_t ev;
        if (!emit_scalar(e, m->name, YAML_SINGLE_QUOTED_SCALAR_STYLE) || !emit_map_start(e) ||
            !emit_str(e, "label", m->label) || !emit_str(e, "ip", m->ip) ||
            !emit_str(e, "platform", m->platform) ||
            !emit_str(e, "os_version", m->os_version) ||
            !emit_str(e, "architecture", m->arch) ||
            !emit_scalar(e, "agent_port", YAML_PLAIN_SCALAR_STYLE) || !emit_scalar(e, port, YAML_PLAIN_SCALAR_STYLE))
                return false;
        if (m->mac && !emit_str(e, "mac_address", m->mac))
                return false;
        if (m->snapshot && !emit_str(e, "snapshot", m->snapshot))
                return false;
        if (!emit_str(e, "interface", m->interface) ||
            !emit_scalar(e, "tags", YAML_PLAIN_SCALAR_STYLE) ||
            !emit(e, &ev, yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE)))
                return false;
        for (char **p = t; p && *p; p++)
                if (!emit_scalar(e, *p, YAML_SINGLE_QUOTED_SCALAR_STYLE))
                        return false;
        return emit(e, &ev, yaml_sequence_end_event_initialize(&ev)) && emit_map_end(e);
}

static int render_cuckoo3(const struct kvmconf *c, FILE *f) {
        fprintf(f, "# Cuckoo3 conf/machineries/kvm.yaml for the kvm machinery, written by vmcloak export "
                   "--cuckoo3.\n# %zu machine%s, all domains on %s.\n",
                c->n_machines, c->n_machines == 1 ? "" : "s", c->dsn);
        fflush(f);
        yaml_emitter_t e;
        if (!yaml_emitter_initialize(&e))
                return -ENOMEM;
        yaml_emitter_set_output(&e, yaml_write, f);
        yaml_emitter_set_unicode(&e, 1);
        yaml_emitter_set_width(&e, -1);
        yaml_event_t ev;
        bool ok = emit(&e, &ev, yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING)) &&
                  emit(&e, &ev, yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1)) && emit_map_start(&e) &&
                  emit_str(&e, "dsn", c->dsn) &&
                  emit_str(&e, "interface", c->interface ? c->interface : c->machines[0].interface) &&
                  emit_scalar(&e, "machines", YAML_PLAIN_SCALAR_STYLE) && emit_map_start(&e);
        for (size_t i = 0; ok && i < c->n_machines; i++)
                ok = emit_machine(&e, &c->machines[i]);
        ok = ok && emit_map_end(&e) && emit_map_end(&e) &&
             emit(&e, &ev, yaml_document_end_event_initialize(&ev, 1)) &&
             emit(&e, &ev, yaml_stream_end_event_initialize(&ev));
        if (!ok)
                log_error("cannot write kvm.yaml: %s", e.problem ? e.problem : "out of memory");
        yaml_emitter_delete(&e);
        return ok ? 0 : -ENOMEM;
}

int kvmconf_render(const struct kvmconf *c, enum kvmconf_format fmt, char **ret) {
        int r = check_machines(c, fmt);
        if (r < 0)
                return r;
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        if (!f)
                return log_oom();
        r = fmt == KVMCONF_CAPE ? render_cape(c, f) : render_cuckoo3(c, f);
        if (fclose(f) != 0 && r == 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r == -ENOMEM ? log_oom() : r;
        }
        *ret = buf;
        return 0;
}

void kvmconf_vm_done(struct kvmconf_vm *v) {
        strv_free(v->tags);
        *v = (struct kvmconf_vm){ 0 };
}

int kvmconf_vm_from_rows(const struct snapshot *s, const struct image *img, struct kvmconf_vm *v, char *reason,
                         size_t size) {
        *v = (struct kvmconf_vm){ 0 };
        if (isempty(s->libvirt_uri))
                return reason_fail(reason, size, "VM %s is a local Cuckoo3 VM (a folder for Cuckoo3's qemu machinery: "
                                   "cuckoo machine import qemu), not a libvirt domain; for CAPE make the VM on a "
                                   "libvirt host with vmcloak snapshot --connect URI", s->vmname);
        if (img->netmode && streq(img->netmode, "user"))
                return reason_fail(reason, size, "VM %s uses user-mode networking (image %s): CAPE reaches the agent "
                                   "at the VM's own IP on port 8000 and captures traffic by that IP, so it needs a "
                                   "bridged or routed VM; make the image with a bridge (vmcloak init NAME BRIDGE, "
                                   "--net bridge is the default)", s->vmname, img->name);
        const struct os_profile *prof = os_profile_find(img->osversion);
        if (!prof)
                return reason_fail(reason, size, "VM %s: its image %s has OS '%s', which this vmcloak has no profile "
                                   "for", s->vmname, img->name, strempty(img->osversion));
        if (tags_parse(s->tags, &v->tags) < 0)
                return -ENOMEM;
        v->m = (struct kvmconf_machine){
                .name = s->vmname, .label = s->vmname, .platform = prof->os_name,
                /* linux: no fixed version (the guest's kernel); init records none for it */
                .os_version = prof->os_version ? prof->os_version : img->os_build ? img->os_build : prof->name,
                .os_tag = streq(prof->os_name, "windows") ? cape_os_tag(prof->os_version) : NULL,
                .arch = prof->arch, .ip = s->ipaddr, .agent_port = (uint16_t)(s->port > 0 ? s->port : img->port),
                .mac = s->mac, .snapshot = s->libvirt_snapshot, .interface = img->adapter, .tags = v->tags,
        };
        return 0;
}

int kvmconf_vm_cape_check(const struct kvmconf_vm *v, char *reason, size_t size) {
        /* The same name rules kvmconf_render() enforces, asked per VM so that an export of a
         * whole host skips such a VM with a warning instead of writing nothing. */
        if (streq(v->m.name, "kvm") || streq(v->m.name, "DEFAULT") || strpbrk(v->m.name, ",[]"))
                return reason_fail(reason, size, "VM %s: CAPE cannot take that name as a kvm.conf section (the "
                                   "[kvm] or [DEFAULT] section, or a ',' or bracket): make the VM under another "
                                   "name", v->m.name);
        if (cape_misreads(v->m.name) || cape_misreads(v->m.label))
                return reason_fail(reason, size, "VM %s: CAPE reads that name as a boolean or a number, not a domain "
                                   "label: make the VM under another name", v->m.name);
        if (v->m.agent_port > 0 && v->m.agent_port != KVMCONF_CAPE_AGENT_PORT)
                return reason_fail(reason, size, "VM %s: its agent listens on port %u, but CAPE always talks to the "
                                   "guest on port %d (CUCKOO_GUEST_PORT; kvm.conf has no port key): make the image "
                                   "without --port, or export it for Cuckoo3 (--cuckoo3)", v->m.name,
                                   (unsigned)v->m.agent_port, KVMCONF_CAPE_AGENT_PORT);
        return 0;
}
