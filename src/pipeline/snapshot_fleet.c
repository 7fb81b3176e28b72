/* snapshot --count N: boot the image once as a template, save that state, and start every VM
 * from it with its own disk copy (issue 15). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/random.h"
#include "core/repo.h"
#include "core/util.h"
#include "core/validate.h"
#include "guest/profile.h"
#include "pipeline/cleanup.h"
#include "pipeline/fwstate.h"
#include "pipeline/session.h"
#include "pipeline/snapshot_internal.h"

const char *snapshot_fleet_refusal(const struct snapshot_ctx *x, unsigned to_build) {
        const struct snapshot_request *req = x->req;
        if (to_build < 2)
                return NULL; /* one VM: nothing to share, and nothing worth a line */
        if (x->n_hosts)
                return "the VMs live on libvirt hosts, whose driver has no memory files";
        if (req->boot_each)
                return "--boot-each";
        if (!x->prof->cmd.clone_fleet)
                return x->prof->cmd.hostname_needs_reboot ? "the OS needs a reboot after a rename"
                                                          : "the OS cannot be renamed and readdressed while it runs";
        /* Each VM's SMBIOS serials, UUID and disk serial are read by the guest at its boot: a
         * clone would show the template's. */
        if (x->hw)
                return "the image has a hardware profile (each VM's serials are read by the guest at boot)";
        if (req->tpm)
                return "--tpm (each VM's TPM state would be the template's)";
        return NULL;
}

int snapshot_fleet_make(struct snapshot_ctx *x, unsigned to_build) {
        const struct snapshot_request *req = x->req;
        _cleanup_free_ char *root = paths_fleet_dir();
        if (!root || !(x->fleet_dir = strdup_printf("%s/%s.template-%ld", root, x->img->name, (long)getpid())))
                return log_oom();
        x->tpl_disk = path_join(x->fleet_dir, "disk.qcow2");
        x->tpl_mem = path_join(x->fleet_dir, "memory.snapshot");
        if (!x->tpl_disk || !x->tpl_mem)
                return log_oom();
        /* A run of this image killed hard (SIGKILL, power loss) left its template: it goes now. */
        if (pipeline_remove_stale_templates(x->pl, x->img->name) > 0)
                log_info("Removed the fleet template a killed snapshot of %s left", x->img->name);
        int r = mkdir_p(root, 0755);
        if (r == 0 && mkdir(x->fleet_dir, 0700) < 0)
                r = -errno;
        if (r < 0) {
                int e = r;
                free(x->fleet_dir);
                x->fleet_dir = NULL; /* not ours: nothing to remove */
                return log_error_errno(e, "cannot create the fleet template's folder under %s: %m", root);
        }
        log_info("Booting the template once for %u VMs (%s)", to_build, x->fleet_dir);
        int64_t t0 = now_ms();
        if ((r = vm_disk_create_overlay(x->pl->conn, x->tpl_disk, x->img->path)) < 0 ||
            (r = fwstate_copy(x->img, x->img->path, x->tpl_disk, false)) < 0)
                return r;
        struct image vimg;
        snapshot_vm_image(x, &vimg);
        uint8_t macb[6];
        char mac[18];
        random_vendor_mac(macb);
        format_mac(macb, mac);
        vimg.mac = mac;
        /* The VMs' devices (they load this state), with logs in the template's folder; no VNC:
         * nobody watches it. */
        struct vm_options o = req->vm;
        o.vnc = false;
        _cleanup_free_ char *com1 = req->com1 ? strdup_printf("file:%s/template.com1", x->fleet_dir) : NULL;
        if (req->com1 && !com1)
                return log_oom();
        if (com1)
                o.serial = com1;
        struct vm_session s;
        r = session_prepare(&s, x->pl, "template", &vimg, x->prof, &o, x->tpl_disk, x->fleet_dir, NULL);
        s.logs_move = true; /* its folder goes: the logs move to <home>/log (said below) */
        if (r == 0)
                r = session_start(&s, NULL);
        if (r == 0)
                r = session_wait_agent(&s, o.timeout_s ? o.timeout_s : AGENT_BOOT_TIMEOUT_S,
                                       "Waiting for the template's agent");
        if (r == 0) {
                struct vm_save_opts so = { .compress = VM_COMPRESS_NONE, .quiet = true };
                r = vm_domain_save_memory(s.dom, x->tpl_mem, &so);
        }
        if (r < 0 && r != -ECANCELED)
                session_report_end(&s);
        session_done(&s);
        if (r == -ECANCELED)
                log_error("interrupted while booting the fleet's template; removed its files");
        else if (r < 0) {
                _cleanup_free_ char *name = strdup_printf("%s.template", x->img->name);
                _cleanup_free_ char *kept = name ? snapshot_save_failed_logs(x->fleet_dir, name) : NULL;
                if (kept)
                        log_error("the fleet's template failed; no VM was made (its logs: %s)", kept);
                else
                        log_error("the fleet's template failed; no VM was made");
        }
        else
                log_info("Template ready in %.1f s: every VM starts from its saved state",
                         (double)(now_ms() - t0) / 1000.0);
        return r;
}

int snapshot_fleet_disk(struct vm_build *b) {
        const struct snapshot_ctx *x = b->x;
        b->step = "copying the template's disk";
        int r = copy_file(x->tpl_disk, b->disk, 0644);
        if (r < 0)
                return log_error_errno(r, "cannot copy %s to %s: %m", x->tpl_disk, b->disk);
        b->step = "copying the template's firmware state";
        return fwstate_copy(x->img, x->tpl_disk, b->disk, false);
}

bool snapshot_fleet_one_at_a_time(const struct snapshot_ctx *x) {
        const char *netmode = x->img->netmode;
        return x->tpl_mem && !(netmode && streq(netmode, "user"));
}

int snapshot_fleet_reseed(struct vm_build *b) {
        const char *tmpl = b->x->prof->cmd.reseed;
        if (!tmpl)
                return 0;
        b->step = "reseeding its random pool";
        uint8_t seed[64];
        char hex[2 * sizeof seed + 1];
        int r = random_bytes(seed, sizeof seed);
        if (r < 0)
                return log_error_errno(r, "cannot read the host's random bytes: %m");
        for (size_t i = 0; i < sizeof seed; i++)
                snprintf(hex + 2 * i, 3, "%02x", seed[i]);
        const char *k[] = { "seed", NULL }, *v[] = { hex, NULL };
        return session_run(&b->s, tmpl, k, v, 30000, NULL);
}

void snapshot_fleet_done(struct snapshot_ctx *x) {
        if (x->fleet_dir) {
                int r = rm_rf(x->fleet_dir);
                if (r < 0)
                        log_warning("cannot remove the fleet template %s: %s ('vmcloak cleanup %s' removes it)",
                                    x->fleet_dir, strerror(-r), x->img->name);
        }
        free(x->fleet_dir);
        free(x->tpl_disk);
        free(x->tpl_mem);
        x->fleet_dir = x->tpl_disk = x->tpl_mem = NULL;
}
