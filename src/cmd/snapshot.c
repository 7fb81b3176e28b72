/* vmcloak snapshot: create analysis VMs (overlay disk + memory snapshot + machineinfo.json). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/args.h"
#include "cmd/checks.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "cmd/jsonout.h"
#include "cmd/vmopts.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/repo.h"
#include "core/util.h"
#include "core/validate.h"
#include "pipeline/snapshot.h"

static struct snapshot_request req;
static char **connect;
static char *env_connect[2];

/* VMNAME: each of the names it makes, VMNAME or VMNAME1..VMNAMEn with --count n. */
static int check_vmname(const struct args *a, const char *value, const char *what) {
        (void)what;
        if (vcheck_vm_name(value) < 0)
                return -EINVAL;
        /* A bad --count is named where it was typed; until then the names are counted as one. */
        const char *count_s = args_get(a, "count");
        unsigned count = 1;
        if (count_s && parse_uint(count_s, 1, 1000, &count) < 0)
                count = 1;
        if (count == 1)
                return 0;
        char longest[NAME_MAX_LEN + 16], problem[NAME_PROBLEM_MAX];
        snprintf(longest, sizeof longest, "%s%u", value, count);
        if (name_problem(NAME_VM, longest, problem)) {
                log_error("invalid VM name '%s' (the last of --count %u): %s", longest, count, problem);
                return -EINVAL;
        }
        return 0;
}

/* Its range depends on --compress; a bad --compress is named where it was typed. */
static int check_level(const struct args *a, const char *value, const char *what) {
        enum vm_compress c;
        const char *comp = args_get_or(a, "compress");
        if (vm_compress_from_string(comp, &c) < 0)
                return 0;
        unsigned def, max, level;
        vm_compress_level_range(c, &def, &max);
        if (!max) {
                log_error("%s does not apply to --compress %s", what, comp);
                return -EINVAL;
        }
        return vcheck_uint(value, what, 1, max, &level);
}

static const struct optdef opts[] = {
        OPT_RESOLUTION(0, "resolution", &req.resolution, "WxH", "Set the guest's screen resolution",
                       .def = "unchanged"),
        OPT_UINT(0, "ramsize", &req.ram_mb, 64, 4u << 20, "MIB", "Guest RAM in MiB", .def = "the image's"),
        OPT_UINT(0, "cpus", &req.cpus, 1, 255, "N", "Virtual CPUs", .def = "the image's"),
        OPT_STRING(0, "hostname", &req.hostname, "NAME", "Guest hostname (only with --count 1)",
                   .def = "random 8-16 letters", .check = check_hostname),
        OPT_BOOL(0, "vm-visible", &req.vm.visible, "Show the VM's screen (-display gtk)"),
        OPT_UINT(0, "count", &req.count, 1, 1000, "N", "Number of VMs: VMNAME, or VMNAME1..VMNAMEn",
                 .def_value = "1"),
        OPT_UINT('j', "jobs", &req.jobs, 1, 32, "N", "Build this many VMs at once", .def_value = "1"),
        OPT_BOOL(0, "boot-each", &req.boot_each,
                 "Boot every VM from the image, VMCloak's way (default: boot it once, make each VM from that state)"),
        OPT_BOOL(0, "vrde", &req.vm.vnc, "Enable VNC (--debug too, as VMCloak)"),
        OPT_UINT(0, "vrde-port", &req.vm.vnc_display, 0, 65535 - 5900, "N",
                 "VNC display number of the first VM (+1 per VM)", .def_value = "3389"),
        OPT_IPV4(0, "vnc-listen", &req.vm.vnc_listen, "ADDR", "Address VNC listens on", .def_value = "127.0.0.1"),
        OPT_BOOL(0, "interactive", &req.interactive, "Pause for manual changes before the snapshot"),
        OPT_BOOL(0, "com1", &req.com1, "Keep the serial console in <vm>.com1 (VMCloak name)"),
        OPT_MACHINE_TAGS(&req.tags, "Cuckoo machine tag for these VMs besides the image's"),
        OPT_BOOL(0, "cloakcheck", &req.cloakcheck,
                 "Run the cloak detector in each VM before its snapshot; refuse a VM that scores worse than its "
                 "image (checked first when it has no scorecard)"),
        OPT_BOOL(0, "tpm", &req.tpm, "Keep the image's TPM in the VMs (Cuckoo3 cannot restore them; vmcloak restore can)"),
        OPT_BOOL(0, "nopatch", &req.nopatch,
                 "Windows: do not run threemonpatch in the VMs"),
        OPT_STRING(0, "files-dir", &req.files_dir, "DIR",
                   "Windows: threemonpatch's file (its host is gone) is in DIR", .check = check_path),
        OPT_ENUM(0, "compress", &req.compress, opt_compress, "ALGO",
                 "Memory file: lz4, gzip, none (all restorable by Cuckoo3) or zstd (vmcloak restore only)",
                 .def_value = "lz4"),
        OPT_READ(0, "compress-level", ARG_VALUE, "N", "Compression level",
                 .def = "lz4 7 (VMCloak used 1), gzip 3, zstd 3", .check = check_level),
        OPT_LIST(0, "connect", &connect, "URI",
                 "Make the VMs persistent domains with a running-state snapshot on this libvirt host (CAPE's kvm "
                 "machinery), e.g. qemu+ssh://root@sandbox2/system; several: the VMs spread over them",
                 .def = "$VMCLOAK_LIBVIRT_URI when set, else local Cuckoo3 VMs"),
        OPT_STRING(0, "pool", &req.pool, "NAME", "--connect: the storage pool holding the VMs' volumes",
                   .def_value = "vmcloak"),
        VM_RUN_OPTS(req.vm),
        { NULL },
};

static const struct posdef pos[] = {
        { "NAME", check_image_existing },
        { "VMNAME", check_vmname },
        { "IP", check_ipv4 },
        { NULL },
};

static const struct cmd_spec spec = {
        "snapshot", "[OPTIONS] NAME VMNAME [IP]",
        "Create analysis VMs from image NAME: overlay disk, memory snapshot and machineinfo.json.",
        "IP is the first VM's address and it increases by one per VM; an address that cannot be used\n"
        "(gateway, DNS, broadcast, another VM's) is refused with the reason, never replaced. Without IP:\n"
        "the first free addresses in a row from the network's .10, or those of an earlier run. Running\n"
        "the same command again keeps the complete VMs of the series and builds the missing ones.\n"
        "Each VM lands in ~/.vmcloak/vms/qemu/VMNAME/, ready for 'cuckoo machine import qemu'.\n"
        "With 2 or more VMs to build, the image boots once as a template (in ~/.vmcloak/fleet/, removed\n"
        "at the end) and each VM starts from its saved state on a copy of its disk, then gets its own\n"
        "MAC, random pool, hostname and address; one line says when each VM boots instead (an OS that\n"
        "reboots after a rename (Windows), a hardware profile, --tpm, --connect, --boot-each).\n"
        "Windows images: each VM runs the catalog's threemonpatch (unless --nopatch) and finalize through\n"
        "its agent before its memory snapshot, as VMCloak does, unless the image records them installed;\n"
        "threemonpatch's file must be in the cache or --files-dir. Linux images run neither.\n"
        "With --connect URI (or $VMCLOAK_LIBVIRT_URI when no --connect is given) each VM is a persistent\n"
        "libvirt domain on that host instead, spread round-robin over the hosts: its disk an overlay\n"
        "volume <VMNAME>.qcow2 in --pool on the image's volume (uploaded once per host as\n"
        "vmcloak-<image>-<hash>.qcow2), with a running-state snapshot named \"vmcloak\", shut off: what\n"
        "CAPE reverts. Its logs stay in ~/.vmcloak/vms/libvirt/VMNAME/.",
        opts, 2, 3, .pos = pos,
};

/* The rules between options; every value's syntax was checked by args_parse, in the order typed. */
static int check(const struct args *a) {
        vm_debug_vnc(&req.vm, req.count);
        req.image = a->pos[0];
        req.vmname = a->pos[1];
        req.first_ip = a->npos > 2 ? a->pos[2] : NULL;
        const char *comp = args_get_or(a, "compress"), *level = args_get(a, "compress-level");
        req.level = 0;
        if (level && parse_uint(level, 1, UINT_MAX, &req.level) < 0)
                return -EINVAL; /* checked already */
        if (req.hostname && req.count != 1) {
                log_error("--hostname names one VM; with --count %u each VM gets its own random hostname",
                          req.count);
                return -EINVAL;
        }
        if (req.interactive && req.jobs > 1) {
                log_error("--interactive pauses each VM for you: use it with --jobs 1");
                return -EINVAL;
        }
        if (req.files_dir && !is_dir(req.files_dir)) {
                log_error("--files-dir %s is no folder", req.files_dir);
                return -EINVAL;
        }
        const char *env_uri = getenv("VMCLOAK_LIBVIRT_URI");
        if (!connect && !isempty(env_uri)) {
                env_connect[0] = (char *)env_uri;
                connect = env_connect;
        }
        req.connect = connect;
        if (!connect && args_get(a, "pool")) {
                log_error("--pool names the storage pool of a libvirt host: use it with --connect URI");
                return -EINVAL;
        }
        if (connect) {
                /* What only a local Cuckoo3 VM has: a memory file, a TPM beside its disk, a file for COM1. */
                static const char *const local_only[] = { "compress", "compress-level", "tpm", "com1" };
                for (size_t i = 0; i < ELEMENTSOF(local_only); i++)
                        if (args_get(a, local_only[i])) {
                                log_error("--%s has no meaning with --connect (a VM on a libvirt host is a domain with "
                                          "an internal snapshot, not a memory file beside a disk)", local_only[i]);
                                return -EINVAL;
                        }
                return 0;
        }
        if (!vm_compress_cuckoo_compatible(req.compress))
                log_warning("--compress %s: Cuckoo3 cannot restore this memory file (only lz4, gzip or none); "
                            "'vmcloak restore' can", comp);
        return 0;
}

/* One VM of --json: its row, whether this run made it, and its files (docs/json.md). */
static json_object *vm_json(struct repo *repo, const char *vmname, bool made) {
        _cleanup_snapshot_ struct snapshot *s = NULL;
        int r = repo_snapshot_get(repo, vmname, &s);
        if (r < 0) {
                log_error_errno(r, "cannot read VM %s back for the JSON result: %m", vmname);
                return NULL;
        }
        json_object *o = snapshot_to_json(s);
        bool local = !s->libvirt_uri;
        _cleanup_free_ char *dir = local ? paths_vm_dir(vmname) : paths_libvirt_vm_dir(vmname);
        _cleanup_free_ char *mem = local && dir ? path_join(dir, "memory.snapshot") : NULL;
        _cleanup_free_ char *mi = local && dir ? path_join(dir, "machineinfo.json") : NULL;
        json_object_object_add(o, "status", json_object_new_string(made ? "made" : "kept"));
        json_object_object_add(o, "vmdir", json_str_or_null(dir));
        /* A libvirt VM has neither: its memory is the domain's internal snapshot. */
        json_object_object_add(o, "memory_file", json_str_or_null(mem));
        json_object_object_add(o, "machineinfo", json_str_or_null(mi));
        return o;
}

/* --json: {"image", "vms": [...], "seconds"}. */
static int print_json(struct repo *repo, char **made, char **kept, int64_t t0) {
        json_object *o = json_object_new_object(), *vms = json_object_new_array();
        json_object_object_add(o, "image", json_object_new_string(req.image));
        json_object_object_add(o, "vms", vms);
        int r = 0;
        /* Those made by this run first, then those kept, each in the series' order. */
        char **lists[] = { made, kept };
        for (size_t l = 0; l < 2 && r == 0; l++)
                STRV_FOREACH(n, lists[l]) {
                        json_object *v = vm_json(repo, *n, l == 0);
                        if (!v) {
                                r = -EIO;
                                break;
                        }
                        json_object_array_add(vms, v);
                }
        json_object_object_add(o, "seconds", json_seconds_since(t0));
        if (r < 0) {
                json_object_put(o);
                return r;
        }
        return json_print_put(o);
}

static int run(const struct cmd_env *env) {
        _cleanup_strv_free_ char **made = NULL, **kept = NULL;
        int64_t t0 = now_ms();
        if (global.json) {
                req.ret_made = &made;
                req.ret_kept = &kept;
        }
        int r = pipeline_snapshot(env->pl, &req);
        if (r == 0 && global.json)
                r = print_json(env->repo, made, kept, t0);
        return exit_code_for(r);
}

const struct cmd_def cmd_snapshot = { .spec = &spec, .check = check, .run = run };
