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
                 "--cape: resultserver_ip of every machine (the result server as the VMs see it)",
                 .def = "CAPE's cuckoo.conf"),
        OPT_PORT(0, "resultserver-port", &arg_resultserver_port, "PORT", "--cape: resultserver_port of every machine",
                 .def = "CAPE's cuckoo.conf"),
        OPT_BOOL(0, "bundle", &arg_bundle, "Write local snapshot VM NAME as one tar FILE for 'vmcloak import --bundle'"),
        OPT_BOOL(0, "with-image", &bundle_req.with_image, "--bundle: carry the image's disk too"),
        { NULL },
};

static const struct posdef pos[] = {
        { "NAME", check_vm_existing },
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
        opts, 0, -1, .pos = pos,
};

static int check(const struct args *a) {
        if (arg_bundle + (arg_cape || arg_cuckoo3) != 1) {
                log_error("export needs one of --cape (or --cuckoo3) and --bundle");
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
                return 0;
        }
        if (bundle_req.with_image) {
                log_error("--with-image is a --bundle option");
                return -EINVAL;
        }
        if (arg_force && !arg_output) {
                log_error("--force needs --output FILE");
                return -EINVAL;
        }
        return 0;
}

/* The rows to export: the named VMs (each must be on a libvirt host), or every libvirt VM. */
struct selection {
        struct snapshot **rows;
        struct image **images;     /* each row's image */
        struct kvmconf_vm *vms;
        size_t n;
        bool named;
};

static void selection_done(struct selection *s) {
        for (size_t i = 0; i < s->n; i++) {
                snapshot_free(s->rows[i]);
                image_free(s->images[i]);
                kvmconf_vm_done(&s->vms[i]);
        }
        free(s->rows);
        free(s->images);
        free(s->vms);
}

static int selection_add(struct selection *sel, struct repo *r, struct snapshot *s) {
        _cleanup_snapshot_ struct snapshot *row = s;
        _cleanup_image_ struct image *img = NULL;
        if (!row->image_name || repo_image_get(r, row->image_name, &img) < 0) {
                if (sel->named) {
                        log_error("VM %s: its image row is gone; vmcloak delvm %s", row->vmname, row->vmname);
                        return -ENOENT;
                }
                log_warning("skipping VM %s: its image row is gone", row->vmname);
                return 0;
        }
        if (!sel->named && isempty(row->libvirt_uri))
                return 0; /* a local Cuckoo3 VM: not a candidate */
        if (!sel->named && arg_host && !streq(row->libvirt_uri, arg_host))
                return 0;
        if (sel->named && arg_host && !isempty(row->libvirt_uri) && !streq(row->libvirt_uri, arg_host)) {
                log_error("VM %s lives on %s, not on --host %s", row->vmname, row->libvirt_uri, arg_host);
                return -EINVAL;
        }
        struct kvmconf_vm v;
        char reason[512];
        int k = kvmconf_vm_from_rows(row, img, &v, reason, sizeof reason);
        if (k == -ENOMEM)
                return log_oom();
        if (k < 0) {
                if (sel->named) {
                        log_error("%s", reason);
                        return k;
                }
                log_warning("skipped: %s", reason);
                return 0;
        }
        struct snapshot **rows = reallocarray(sel->rows, sel->n + 1, sizeof *rows);
        if (rows)
                sel->rows = rows;
        struct image **imgs = rows ? reallocarray(sel->images, sel->n + 1, sizeof *imgs) : NULL;
        if (imgs)
                sel->images = imgs;
        struct kvmconf_vm *vms = imgs ? reallocarray(sel->vms, sel->n + 1, sizeof *vms) : NULL;
        if (!vms) {
                kvmconf_vm_done(&v);
                return log_oom();
        }
        sel->vms = vms;
        sel->rows[sel->n] = TAKE_PTR(row);
        sel->images[sel->n] = TAKE_PTR(img);
        sel->vms[sel->n] = v;
        sel->n++;
        return 0;
}

static int select_rows(struct repo *r, char *const *names, struct selection *sel) {
        int k;
        sel->named = names && *names;
        if (sel->named) {
                for (char *const *p = names; *p; p++) {
                        struct snapshot *s = NULL;
                        if ((k = repo_snapshot_get(r, *p, &s)) == -ENOENT) {
                                log_error("no snapshot VM named %s (see vmcloak list snapshots)", *p);
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
        const char *first = sel->rows[0]->libvirt_uri;
        bool several = false;
        for (size_t i = 1; i < sel->n; i++)
                several |= !streq(sel->rows[i]->libvirt_uri, first);
        if (!several)
                return 0;
        /* "URI1: a, b; URI2: c", hosts in the order their first VM comes */
        _cleanup_free_ char *list = NULL;
        for (size_t i = 0; i < sel->n; i++) {
                const char *uri = sel->rows[i]->libvirt_uri;
                bool seen = false;
                for (size_t j = 0; j < i; j++)
                        seen |= streq(sel->rows[j]->libvirt_uri, uri);
                if (seen)
                        continue;
                char *l = strdup_printf("%s%s%s:", strempty(list), list ? "; " : "", uri);
                for (size_t j = i; l && j < sel->n; j++)
                        if (streq(sel->rows[j]->libvirt_uri, uri)) {
                                char *m = strdup_printf("%s %s", l, sel->rows[j]->vmname);
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
        /* TCG: nothing runs here, so the host's KVM is not probed (and not warned about). */
        const struct vm_conn_opts o = { .accel = VM_ACCEL_TCG, .uri = sel->rows[0]->libvirt_uri,
                                        .pool = sel->rows[0]->libvirt_pool };
        int r = vm_conn_open(&libvirt_driver, &o, &c);
        if (r < 0)
                return r;
        size_t kept = 0;
        for (size_t i = 0; i < sel->n; i++) {
                char reason[1024];
                r = domain_unusable(c, sel->rows[i], reason, sizeof reason);
                if (r == -EINVAL && sel->named) {
                        log_error("%s", reason);
                        return r;
                }
                if (r < 0 && r != -EINVAL)
                        return r;
                if (r == -EINVAL) {
                        log_warning("skipped: %s", reason);
                        snapshot_free(sel->rows[i]);
                        image_free(sel->images[i]);
                        kvmconf_vm_done(&sel->vms[i]);
                        continue;
                }
                sel->rows[kept] = sel->rows[i];
                sel->images[kept] = sel->images[i];
                sel->vms[kept] = sel->vms[i];
                kept++;
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
                m[i] = sel.vms[i].m;
        const struct kvmconf c = {
                .dsn = sel.rows[0]->libvirt_uri, .interface = arg_interface, .resultserver_ip = arg_resultserver_ip,
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
