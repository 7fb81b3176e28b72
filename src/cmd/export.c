/* vmcloak export: hand snapshot VMs to another sandbox: --cape (CAPE's kvm.conf, or Cuckoo3's
 * kvm.yaml with --cuckoo3) for VMs that live as libvirt domains; --bundle (one tar) for a local VM. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/args.h"
#include "cmd/checks.h"
#include "cmd/cmd.h"
#include "core/log.h"
#include "core/repo.h"
#include "core/util.h"
#include "libvirt/driver.h"
#include "machine/driver.h"
#include "pipeline/bundle.h"
#include "pipeline/kvmconf.h"

static bool arg_cape, arg_cuckoo3, arg_bundle, arg_force;
static const char *arg_output, *arg_host, *arg_interface, *arg_resultserver_ip;
static uint16_t arg_resultserver_port;
static struct bundle_export_request bundle_req;

static const struct optdef opts[] = {
        OPT_BOOL(0, "cape", &arg_cape,
                 "Write CAPE's kvm.conf for VMs made with snapshot --connect (all of one host when none is named)"),
        OPT_BOOL(0, "cuckoo3", &arg_cuckoo3, "Write Cuckoo3's kvm.yaml (its kvm machinery) instead of CAPE's kvm.conf"),
        OPT_STRING('o', "output", &arg_output, "FILE", "--cape: write FILE (atomically) instead of standard output",
                   .check = check_path),
        OPT_BOOL(0, "force", &arg_force, "--cape: replace an existing --output FILE"),
        OPT_STRING(0, "host", &arg_host, "URI",
                   "--cape: only VMs on this libvirt host (its URI as given to snapshot --connect)"),
        OPT_STRING(0, "interface", &arg_interface, "NAME", "--cape: [kvm] interface, the default capture interface",
                   .def = "the first VM's bridge", .check = check_ifname),
        OPT_IPV4(0, "resultserver-ip", &arg_resultserver_ip, "IP",
                 "--cape: resultserver_ip of every machine (the result server as the VMs see it; CAPE's "
                 "cuckoo.conf then needs [resultserver] ip = 0.0.0.0)",
                 .def = "CAPE's cuckoo.conf"),
        OPT_PORT(0, "resultserver-port", &arg_resultserver_port, "PORT", "--cape: resultserver_port of every machine (turns off CAPE's multi-worker automatic ports)",
                 .def = "CAPE's cuckoo.conf"),
        OPT_BOOL(0, "bundle", &arg_bundle, "Write local snapshot VM NAME as one tar FILE for 'vmcloak import --bundle'"),
        OPT_BOOL(0, "with-image", &bundle_req.with_image, "--bundle: carry the image's disk too"),
        { NULL },
};

static const struct cmd_spec spec = {
        "export", "--cape [OPTIONS] [VM...] | --bundle [--with-image] VM FILE",
        "Export snapshot VMs for another sandbox: CAPE's kvm.conf, Cuckoo3's kvm.yaml, or a bundle.",
        "--cape prints the kvm.conf stanzas CAPE's kvm machinery reads ([kvm] machines, interface, dsn;\n"
        "per machine label, platform, ip, arch, tags with the OS tag, snapshot, interface) for VMs that\n"
        "live as libvirt domains (snapshot --connect). Each domain is checked on its host first: it must\n"
        "exist with its running-state snapshot. CAPE runs one kvm machinery per libvirt URI (dsn): VMs on\n"
        "several hosts are exported one host at a time with --host URI. Without VM names: every libvirt VM\n"
        "(of --host), skipping with a warning those CAPE cannot use. --cuckoo3 writes Cuckoo3's kvm.yaml.\n"
        "--bundle writes local snapshot VM NAME (its folder, machineinfo.json, the image's SHA-256) as one\n"
        "tar FILE ('-': stdout) that 'vmcloak import --bundle FILE' takes on another host.",
        opts, 0, -1,
        /* positional arguments are VM names, but --bundle's second is a file: check() checks them */
};

static int check(const struct args *a) {
        if (arg_cape && arg_cuckoo3) {
                log_error("--cape writes CAPE's kvm.conf and --cuckoo3 Cuckoo3's kvm.yaml: give one of them");
                return -EINVAL;
        }
        if (arg_bundle && (arg_cape || arg_cuckoo3)) {
                log_error("--bundle moves a VM to another home, --%s configures a sandbox: give one of them",
                          arg_cape ? "cape" : "cuckoo3");
                return -EINVAL;
        }
        if (!arg_bundle && !arg_cape && !arg_cuckoo3) {
                log_error("export needs what to write: --cape (CAPE's kvm.conf), --cuckoo3 (Cuckoo3's kvm.yaml) "
                          "or --bundle VM FILE");
                return -EINVAL;
        }
        if (arg_bundle) {
                if (a->npos != 2) {
                        log_error("export --bundle takes VM FILE");
                        return -EINVAL;
                }
                if (arg_output || arg_host || arg_interface || arg_resultserver_ip || arg_resultserver_port || arg_force) {
                        log_error("--output, --force, --host, --interface and --resultserver-* are --cape options");
                        return -EINVAL;
                }
                bundle_req.vmname = a->pos[0];
                bundle_req.file = a->pos[1];
                return check_vm_existing(a, a->pos[0], "VM") < 0 || check_path(a, a->pos[1], "FILE") < 0 ? -EINVAL
                                                                                                       : 0;
        }
        if (bundle_req.with_image) {
                log_error("--with-image is an option of --bundle VM FILE (the image's disk travels in the bundle)");
                return -EINVAL;
        }
        if (arg_force && !arg_output) {
                log_error("--force needs --output FILE");
                return -EINVAL;
        }
        for (int i = 0; i < a->npos; i++)
                if (check_vm_existing(a, a->pos[i], "VM") < 0)
                        return -EINVAL;
        return 0;
}

/* One VM to export: its row, its image's row and what the file says of it (strings into both). */
struct export_vm {
        struct snapshot *row;
        struct image *img;
        struct kvmconf_vm v;
};

/* The VMs to export: the named ones (each must be on a libvirt host), or every libvirt VM. */
struct selection {
        struct export_vm *vms;
        size_t n;
        bool named;
};

static void export_vm_done(struct export_vm *e) {
        kvmconf_vm_done(&e->v);
        snapshot_free(e->row);
        image_free(e->img);
        *e = (struct export_vm){ 0 };
}

static void selection_done(struct selection *s) {
        for (size_t i = 0; i < s->n; i++)
                export_vm_done(&s->vms[i]);
        free(s->vms);
}

/* A VM CAPE cannot use: one line and -EINVAL for a named one; a warning and 0 (left out) else. */
static int refuse(const struct selection *sel, const char *reason) {
        if (sel->named) {
                log_error("%s", reason);
                return -EINVAL;
        }
        log_warning("skipped: %s", reason);
        return 0;
}

/* CAPE and Cuckoo3 start their analyzer with POST /execpy, which needs Python in the guest;
 * vmcloak's agent needs none and bakes none in (docs/libvirt.md, "Python in the guest"). A VM
 * whose tags (the image's and its dependencies' catalog tags) have no "python" gets a warning:
 * the export is still right, the analyses would fail. */
static void warn_no_python(const struct kvmconf_vm *v) {
        if (streq(v->m.platform, "linux")) {
                log_warning("VM %s: the built-in linux guest has no Python, which CAPE's and Cuckoo3's analyzer "
                            "needs (/execpy): it can test this workflow, not analyse samples", v->m.name);
                return;
        }
        if (!strv_contains(v->tags, "python"))
                log_warning("VM %s: no Python in its image (no dependency tagged 'python'); CAPE's analyzer needs "
                            "a 32-bit Python 3 in the guest (/execpy): see docs/libvirt.md, 'Python in the guest'",
                            v->m.name);
}

static int selection_add(struct selection *sel, struct repo *r, struct snapshot *s) {
        _cleanup_(export_vm_done) struct export_vm e = { .row = s };
        char reason[1024];
        if (!sel->named && (isempty(s->libvirt_uri) || (arg_host && !streq(s->libvirt_uri, arg_host))))
                return 0; /* a local Cuckoo3 VM, or one of another host: not a candidate */
        if (sel->named && arg_host && !isempty(s->libvirt_uri) && !streq(s->libvirt_uri, arg_host)) {
                log_error("VM %s lives on %s, not on --host %s", s->vmname, s->libvirt_uri, arg_host);
                return -EINVAL;
        }
        int k = s->image_name ? repo_image_get(r, s->image_name, &e.img) : -ENOENT;
        if (k == -ENOENT) {
                snprintf(reason, sizeof reason, "VM %s: its image row is gone (vmcloak delvm %s)", s->vmname,
                         s->vmname);
                return refuse(sel, reason);
        }
        if (k < 0)
                return k;
        k = kvmconf_vm_from_rows(s, e.img, &e.v, reason, sizeof reason);
        if (k == -ENOMEM)
                return log_oom();
        if (k == 0 && !arg_cuckoo3)
                k = kvmconf_vm_cape_check(&e.v, reason, sizeof reason);
        if (k < 0)
                return refuse(sel, reason);
        warn_no_python(&e.v);
        struct export_vm *vms = reallocarray(sel->vms, sel->n + 1, sizeof *vms);
        if (!vms)
                return log_oom();
        sel->vms = vms;
        sel->vms[sel->n++] = e;
        e = (struct export_vm){ 0 };
        return 0;
}

static int select_rows(struct repo *r, char *const *names, struct selection *sel) {
        int k;
        sel->named = names && *names;
        if (sel->named) {
                for (char *const *p = names; *p; p++) {
                        struct snapshot *s = NULL;
                        if ((k = repo_snapshot_get(r, *p, &s)) == -ENOENT) {
                                log_error("no snapshot VM named '%s' (see 'vmcloak list snapshots')", *p);
                                return k;
                        }
                        if (k < 0 || (k = selection_add(sel, r, s)) < 0)
                                return k;
                }
                return 0;
        }
        struct snapshot **all = NULL;
        size_t n = 0;
        if ((k = repo_snapshot_list(r, -1, &all, &n)) < 0)
                return k;
        for (size_t i = 0; i < n; i++) {
                struct snapshot *s = TAKE_PTR(all[i]);
                if ((k = selection_add(sel, r, s)) < 0)
                        break;
        }
        snapshot_list_free(all, n);
        if (k < 0)
                return k;
        if (sel->n == 0) {
                if (arg_host)
                        log_error("no VM CAPE can use lives on %s (see vmcloak list snapshots)", arg_host);
                else
                        log_error("no VM CAPE can use lives on a libvirt host: make them with vmcloak snapshot "
                                  "--connect URI IMAGE VM");
                return -ENOENT;
        }
        return 0;
}

/* CAPE runs one kvm machinery per dsn: every VM of one file must be on one host. */
static int check_one_host(const struct selection *sel) {
        const char *first = sel->vms[0].row->libvirt_uri;
        bool several = false;
        for (size_t i = 1; i < sel->n; i++)
                several |= !streq(sel->vms[i].row->libvirt_uri, first);
        if (!several)
                return 0;
        /* "URI1: a, b; URI2: c", hosts in the order their first VM comes */
        _cleanup_free_ char *list = NULL;
        for (size_t i = 0; i < sel->n; i++) {
                const char *uri = sel->vms[i].row->libvirt_uri;
                bool seen = false;
                for (size_t j = 0; j < i; j++)
                        seen |= streq(sel->vms[j].row->libvirt_uri, uri);
                if (seen)
                        continue;
                char *l = strdup_printf("%s%s%s:", strempty(list), list ? "; " : "", uri);
                for (size_t j = i; l && j < sel->n; j++)
                        if (streq(sel->vms[j].row->libvirt_uri, uri)) {
                                char *m = strdup_printf("%s %s", l, sel->vms[j].row->vmname);
                                free(l);
                                l = m;
                        }
                if (!l)
                        return log_oom();
                free(list);
                list = l;
        }
        log_error("the VMs live on several libvirt hosts (%s) and CAPE's kvm machinery has one dsn per kvm.conf: "
                  "export one host at a time with --host URI", list);
        return -EINVAL;
}

/* Why domain s cannot serve CAPE (into reason), or 0: it must be on its host with, as its current
 * snapshot, the running-state snapshot the row names (what the machinery reverts with flags 0). */
static int domain_unusable(struct vm_conn *c, const struct snapshot *s, char *reason, size_t size) {
        struct vm_domain_info info;
        int r = vm_conn_domain_info(c, s->vmname, &info);
        if (r == -ENOENT)
                return reason_fail(reason, size, "%s lists no domain %s (removed outside vmcloak?): make it again, or "
                                   "drop the row with vmcloak delvm %s", s->libvirt_uri, s->vmname, s->vmname);
        if (r < 0)
                return r;
        if (!isempty(s->libvirt_uuid) && !streq(info.uuid, s->libvirt_uuid))
                return reason_fail(reason, size, "domain %s on %s has UUID %s, not %s (the one vmcloak made): it is "
                                   "another domain of that name; rename it, or forget the VM with vmcloak delvm "
                                   "--force %s", s->vmname, s->libvirt_uri, info.uuid, s->libvirt_uuid, s->vmname);
        if (info.snapshots == 0 || !info.current_snapshot[0])
                return reason_fail(reason, size, "domain %s on %s has no snapshot for CAPE to revert: make the VM "
                                   "again with vmcloak snapshot --connect", s->vmname, s->libvirt_uri);
        if (!isempty(s->libvirt_snapshot) && !streq(info.current_snapshot, s->libvirt_snapshot))
                return reason_fail(reason, size, "domain %s on %s: its current snapshot is %s, not vmcloak's %s "
                                   "(changed outside vmcloak): virsh -c %s snapshot-revert %s %s, or make the VM "
                                   "again", s->vmname, s->libvirt_uri, info.current_snapshot, s->libvirt_snapshot,
                                   s->libvirt_uri, s->vmname, s->libvirt_snapshot);
        if (!info.current_snapshot_running)
                return reason_fail(reason, size, "domain %s on %s: snapshot %s was not taken while running, and CAPE "
                                   "reverts with flags 0 to a running machine: make the VM again with vmcloak "
                                   "snapshot --connect", s->vmname, s->libvirt_uri, info.current_snapshot);
        return 0;
}

/* Check every domain on its host: a named VM that fails is refused; without names it is skipped
 * with a warning (and dropped from sel). */
static int check_domains(struct selection *sel) {
        _cleanup_(vm_conn_closep) struct vm_conn *c = NULL;
        /* Copies: the rows go with the VMs skipped below, the first one's included. */
        _cleanup_free_ char *uri = strdup(sel->vms[0].row->libvirt_uri);
        _cleanup_free_ char *pool = sel->vms[0].row->libvirt_pool ? strdup(sel->vms[0].row->libvirt_pool) : NULL;
        if (!uri || (sel->vms[0].row->libvirt_pool && !pool))
                return log_oom();
        /* TCG: nothing runs here, so the host's KVM is not probed (and not warned about). */
        const struct vm_conn_opts o = { .accel = VM_ACCEL_TCG, .uri = uri, .pool = pool };
        int r = vm_conn_open(&libvirt_driver, &o, &c);
        if (r < 0)
                return r;
        size_t kept = 0;
        for (size_t i = 0; i < sel->n; i++) {
                char reason[1024];
                r = domain_unusable(c, sel->vms[i].row, reason, sizeof reason);
                if (r == -EINVAL && (r = refuse(sel, reason)) == 0) {
                        export_vm_done(&sel->vms[i]); /* skipped */
                        continue;
                }
                if (r < 0)
                        return r;
                sel->vms[kept++] = sel->vms[i];
        }
        sel->n = kept;
        if (kept == 0) {
                log_error("no domain on %s is one CAPE can use (see the warnings above)", o.uri);
                return -ENOENT;
        }
        return 0;
}

static int export_cape(struct repo *r, char *const *names) {
        _cleanup_(selection_done) struct selection sel = { 0 };
        int k = select_rows(r, names, &sel);
        if (k < 0 || (k = check_one_host(&sel)) < 0 || (k = check_domains(&sel)) < 0)
                return k;
        _cleanup_free_ struct kvmconf_machine *m = calloc(sel.n, sizeof *m);
        if (!m)
                return log_oom();
        for (size_t i = 0; i < sel.n; i++)
                m[i] = sel.vms[i].v.m;
        const struct kvmconf c = {
                .dsn = sel.vms[0].row->libvirt_uri, .interface = arg_interface, .resultserver_ip = arg_resultserver_ip,
                .resultserver_port = arg_resultserver_port, .machines = m, .n_machines = sel.n,
        };
        _cleanup_free_ char *text = NULL;
        if ((k = kvmconf_render(&c, arg_cuckoo3 ? KVMCONF_CUCKOO3 : KVMCONF_CAPE, &text)) < 0)
                return k;
        if (!arg_output) {
                fputs(text, stdout);
                return fflush(stdout) == 0 ? 0 : log_error_errno(-errno, "cannot write to standard output: %m");
        }
        if (!arg_force && path_exists(arg_output)) {
                log_error("%s exists: give --force to replace it, or another --output", arg_output);
                return -EEXIST;
        }
        if ((k = write_file_atomic(arg_output, text, strlen(text), 0644)) < 0)
                return log_error_errno(k, "cannot write %s: %m", arg_output);
        log_info("Wrote %s: %zu machine%s on %s for %s's kvm machinery", arg_output, sel.n, sel.n == 1 ? "" : "s",
                 c.dsn, arg_cuckoo3 ? "Cuckoo3" : "CAPE");
        return 0;
}

static int run(const struct cmd_env *env) {
        if (arg_bundle)
                return exit_code_for(pipeline_bundle_export(env->pl, &bundle_req));
        return exit_code_for(export_cape(env->repo, env->args->pos));
}

const struct cmd_def cmd_export = { .spec = &spec, .check = check, .run = run };
