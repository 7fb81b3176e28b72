/* QEMU binary and version lookup, a KVM probe that really runs guest code, doctor data. */
#include "qemu/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/interrupt.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/proc.h"
#include "core/util.h"
#include "qemu/img.h"

/* --qemu-binary: one per process, set while the options are read. */
static char *binary_override;

int qemu_find_binary(char **ret) {
        if (binary_override) {
                *ret = strdup(binary_override);
                return *ret ? 0 : -ENOMEM;
        }
        const char *e = getenv("VMCLOAK_QEMU");
        char *p = find_program(isempty(e) ? QEMU_DEFAULT_BINARY : e);
        if (!p)
                return -ENOENT;
        *ret = p;
        return 0;
}

int qemu_parse_version_output(const char *out, struct qemu_version *ret, char **ret_string) {
        regex_t re;
        if (regcomp(&re,
                    "(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)"
                    "(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?",
                    REG_EXTENDED) != 0)
                return -ENOMEM;
        regmatch_t m[4];
        int r = regexec(&re, out, 4, m, 0);
        regfree(&re);
        if (r != 0)
                return -EINVAL;
        unsigned v[3];
        for (int i = 0; i < 3; i++) {
                unsigned long x = strtoul(out + m[i + 1].rm_so, NULL, 10);
                if (x > 100000)
                        return -ERANGE;
                v[i] = (unsigned)x;
        }
        *ret = (struct qemu_version){ v[0], v[1], v[2] };
        if (ret_string) {
                *ret_string = strndup(out + m[1].rm_so, (size_t)(m[3].rm_eo - m[1].rm_so));
                if (!*ret_string)
                        return -ENOMEM;
        }
        return 0;
}

/* BINARY --version's output into *ret: 0, -EIO when it fails, a proc_run error. */
static int version_output(const char *binary, char **ret) {
        char *argv[] = { (char *)binary, "--version", NULL };
        _cleanup_free_ char *out = NULL;
        int r = proc_run(argv, NULL, &out, NULL);
        if (r < 0)
                return r;
        if (r != 0)
                return -EIO;
        *ret = TAKE_PTR(out);
        return 0;
}

int qemu_probe_version(const char *binary, struct qemu_version *ret, char **ret_string) {
        _cleanup_free_ char *out = NULL;
        int r = version_output(binary, &out);
        return r < 0 ? r : qemu_parse_version_output(out, ret, ret_string);
}

const char *qemu_binary_override(void) { return binary_override; }

int qemu_set_binary(const char *path) {
        if (!path) {
                free(binary_override);
                binary_override = NULL;
                return 0;
        }
        /* A bare name is looked up in PATH as the shell would ("qemu-system-x86_64"); a name
         * with a '/' is a path, relative to the working directory. */
        _cleanup_free_ char *found = NULL;
        if (!strchr(path, '/')) {
                found = find_program(path);
                if (!found)
                        return log_error_errno(-ENOENT, "--qemu-binary %s: no such program in PATH (give its path, e.g. "
                                               "/usr/bin/qemu-system-x86_64)", path);
                path = found;
        }
        struct stat st;
        if (stat(path, &st) < 0) {
                int r = -errno;
                return log_error_errno(r, "--qemu-binary %s: %m (give the path of a qemu-system-x86_64)", path);
        }
        if (S_ISDIR(st.st_mode))
                return log_error_errno(-EISDIR, "--qemu-binary %s is a directory: give the qemu-system-x86_64 file in it", path);
        if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0)
                return log_error_errno(-EACCES, "--qemu-binary %s is not an executable file (chmod +x it, or give another path)",
                                       path);
        _cleanup_free_ char *out = NULL;
        struct qemu_version v;
        _cleanup_free_ char *vs = NULL;
        int r = version_output(path, &out);
        if (r == -ECANCELED || r == -ENOMEM)
                return r;
        if (r == 0)
                r = qemu_parse_version_output(out, &v, &vs);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(-EINVAL, "--qemu-binary %s: its --version output names no version (x.y.z): is it a qemu-system-x86_64?",
                                       path);
        /* qemu-system-* (softmmu/vl.c) says "QEMU emulator version X"; the other QEMU tools say
         * "qemu-img version X", "qemu-nbd ..." and cannot run a VM. "emulator version" rather
         * than the whole banner, so that a build that renames QEMU still passes. */
        if (!strstr(out, "emulator version")) {
                _cleanup_free_ char *first = strndup(out, strcspn(out, "\n"));
                if (!first)
                        return log_oom();
                return log_error_errno(-EINVAL, "--qemu-binary %s is no QEMU system emulator (its --version says \"%s\", "
                                       "not \"QEMU emulator version\"): give a qemu-system-x86_64", path, first);
        }
        log_debug("--qemu-binary %s is QEMU %s", path, vs);
        /* Absolute: QEMU may be started from another working directory (proc_run's cwd). */
        char *c = path[0] == '/' ? strdup(path) : realpath(path, NULL);
        if (!c)
                return log_oom();
        free(binary_override);
        binary_override = c;
        return 0;
}

/* The version of a binary by its identity (path, device, inode, size, mtime and ctime in ns): every
 * command opens the driver, and a `--version` run is a QEMU start (tens of ms, most of a
 * restore's budget). One line "KEY\tVERSION-OUTPUT" in the runtime or cache folder; a replaced
 * or rebuilt binary has another key and is run again. */
static char *version_cache_key(const char *binary) {
        struct stat st;
        if (stat(binary, &st) < 0)
                return NULL;
        return strdup_printf("%s|%llu|%llu|%lld|%lld.%09ld|%lld.%09ld", binary, (unsigned long long)st.st_dev,
                             (unsigned long long)st.st_ino, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
                             st.st_mtim.tv_nsec, (long long)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
}

/* NAME in <XDG_RUNTIME_DIR>/vmcloak, else in the home's cache folder; NULL without either. */
static char *probe_cache_file(const char *name) {
        const char *e = getenv("XDG_RUNTIME_DIR");
        if (!isempty(e) && is_dir(e))
                return strdup_printf("%s/vmcloak/%s", e, name);
        if (paths_home()) {
                _cleanup_free_ char *c = paths_cache_dir();
                return c ? path_join(c, name) : NULL;
        }
        return NULL;
}

static char *version_cache_path(void) {
        return probe_cache_file("qemu-version");
}

static int probe_version_cached(const char *binary, struct qemu_version *ret, char **ret_string) {
        _cleanup_free_ char *key = version_cache_key(binary), *path = version_cache_path(), *text = NULL;
        if (key && path && read_full_file(path, &text, NULL) == 0) {
                size_t n = strlen(key);
                if (strncmp(text, key, n) == 0 && text[n] == '\t' &&
                    qemu_parse_version_output(text + n + 1, ret, ret_string) == 0)
                        return 0;
        }
        _cleanup_free_ char *out = NULL;
        int r = version_output(binary, &out);
        if (r < 0 || (r = qemu_parse_version_output(out, ret, ret_string)) < 0)
                return r;
        _cleanup_free_ char *dir = path ? path_dirname(path) : NULL;
        out[strcspn(out, "\n")] = 0;
        _cleanup_free_ char *line = key ? strdup_printf("%s\t%s\n", key, out) : NULL;
        if (dir && line && (mkdir_p(dir, 0700) < 0 || write_file_atomic(path, line, strlen(line), 0600) < 0))
                log_debug("cannot write the QEMU version cache %s", path);
        return 0;
}

int qemu_binary_probe(struct qemu_binary *ret) {
        memset(ret, 0, sizeof *ret);
        int r = qemu_find_binary(&ret->path);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                const char *e = getenv("VMCLOAK_QEMU");
                if (!isempty(e))
                        log_error("VMCLOAK_QEMU names %s, which is not an executable", e);
                else
                        log_error("qemu-system-x86_64 not found in PATH: install QEMU (apt-get install qemu-system-x86) "
                                  "or set VMCLOAK_QEMU");
                return r;
        }
        r = probe_version_cached(ret->path, &ret->version, &ret->version_string);
        if (r == -ECANCELED) {
                qemu_binary_done(ret);
                return r;
        }
        if (r < 0) {
                log_error("cannot tell the version of %s (its --version output has no x.y.z): check that it runs",
                          ret->path);
                qemu_binary_done(ret);
                return r < 0 && r != -EINVAL ? r : -EINVAL;
        }
        if (qemu_version_cmp(&ret->version, QEMU_MIN_MAJOR, QEMU_MIN_MINOR, 0) < 0) {
                log_error("%s is QEMU %s; vmcloak needs QEMU %d.%d or newer: upgrade qemu-system-x86", ret->path,
                          ret->version_string, QEMU_MIN_MAJOR, QEMU_MIN_MINOR);
                qemu_binary_done(ret);
                return -EOPNOTSUPP;
        }
        return 0;
}

void qemu_binary_done(struct qemu_binary *b) {
        free(b->path);
        free(b->version_string);
        memset(b, 0, sizeof *b);
}

/*
 * The test guest, a boot sector (as, ld -Ttext 0x7c00 --oformat binary):
 *   cli; xor ax,ax; mov ds,ax; mov ss,ax; mov sp,0x7c00; lgdt [gdtr]
 *   mov eax,cr0; or al,1; mov cr0,eax; ljmp 0x08:pm           ; 32-bit protected mode
 * pm: mov ax,0x10; mov ds/es/ss,ax
 *   mov edi,0x10000; mov eax,0x83; mov ecx,1024                ; page directory of 4 MiB pages
 *   1: stosd; add eax,0x400000; loop 1b
 *   cr4 |= PSE; cr3 = 0x10000; cr0 |= PG                       ; paging on
 *   mov edx,32; 2: mov edi,0x100000                            ; 32 passes over 1..9 MiB
 *   3: inc dword [edi]; add edi,4096; cmp edi,0x900000; jb 3b; dec edx; jnz 2b
 *   mov al,0x31; out 0xf4,al                                   ; isa-debug-exit: exit (0x31<<1)|1
 *   4: hlt; jmp 4b
 * gdt: null, flat code 0x00cf9a000000ffff, flat data 0x00cf92000000ffff; gdtr: 23, gdt
 */
static const unsigned char boot_sector_code[] = {
        0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0x8e, 0xd0, 0xbc, 0x00, 0x7c, 0x0f, 0x01, 0x16, 0x98, 0x7c, 0x0f, 0x20, 0xc0,
        0x0c, 0x01, 0x0f, 0x22, 0xc0, 0xea, 0x1c, 0x7c, 0x08, 0x00, 0x66, 0xb8, 0x10, 0x00, 0x8e, 0xd8, 0x8e, 0xc0,
        0x8e, 0xd0, 0xbf, 0x00, 0x00, 0x01, 0x00, 0xb8, 0x83, 0x00, 0x00, 0x00, 0xb9, 0x00, 0x04, 0x00, 0x00, 0xab,
        0x05, 0x00, 0x00, 0x40, 0x00, 0xe2, 0xf8, 0x0f, 0x20, 0xe0, 0x83, 0xc8, 0x10, 0x0f, 0x22, 0xe0, 0xb8, 0x00,
        0x00, 0x01, 0x00, 0x0f, 0x22, 0xd8, 0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0, 0xba,
        0x20, 0x00, 0x00, 0x00, 0xbf, 0x00, 0x00, 0x10, 0x00, 0xff, 0x07, 0x81, 0xc7, 0x00, 0x10, 0x00, 0x00, 0x81,
        0xff, 0x00, 0x00, 0x90, 0x00, 0x72, 0xf0, 0x4a, 0x75, 0xe8, 0xb0, 0x31, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd, 0x8d,
        0x76, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x9a, 0xcf, 0x00,
        0xff, 0xff, 0x00, 0x00, 0x00, 0x92, 0xcf, 0x00, 0x17, 0x00, 0x80, 0x7c, 0x00, 0x00,
};
#define PROBE_EXIT_CODE 99   /* (0x31 << 1) | 1 */

static char *tail_of_file(const char *path) {
        _cleanup_free_ char *s = NULL;
        if (read_full_file(path, &s, NULL) < 0)
                return strdup("");
        size_t l = strlen(s);
        while (l && (s[l - 1] == '\n' || s[l - 1] == ' '))
                s[--l] = 0;
        char *nl = strrchr(s, '\n');
        return strdup(nl ? nl + 1 : s);
}

int qemu_accel_test(const char *binary, const char *accel, int timeout_ms, long *elapsed_ms, char *reason,
                    size_t size) {
        _cleanup_free_ char *tmpl = strdup_printf("%s/vmcloak-probe.XXXXXX", runtime_tmpdir());
        if (!tmpl) {
                snprintf(reason, size, "out of memory");
                return -ENOMEM;
        }
        if (!mkdtemp(tmpl))
                return -errno;
        _cleanup_rm_rf_ char *dir = TAKE_PTR(tmpl);   /* removed however this returns */
        _cleanup_free_ char *img = path_join(dir, "boot.img");
        _cleanup_free_ char *log = path_join(dir, "qemu.log");
        _cleanup_free_ char *machine = strdup_printf("pc,accel=%s", accel);
        _cleanup_free_ char *drive = img ? strdup_printf("file=%s,format=raw,if=ide", img) : NULL;
        if (!log || !machine || !drive) {
                snprintf(reason, size, "out of memory");
                return -ENOMEM;
        }
        unsigned char sector[512] = { 0 };
        memcpy(sector, boot_sector_code, sizeof boot_sector_code);
        sector[510] = 0x55;
        sector[511] = 0xaa;
        int r = write_file(img, sector, sizeof sector, 0600);
        if (r < 0)
                return r;
        char *argv[] = { (char *)binary, "-nodefaults", "-machine", machine, "-m", "32", "-display", "none",
                         "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-drive", drive, NULL };
        struct proc_opts o = { .stdout_path = log, .stderr_path = log, .new_pgroup = true, .pdeathsig = true };
        pid_t pid;
        int64_t start = now_ms();
        r = proc_spawn(argv, &o, &pid);
        if (r < 0) {
                snprintf(reason, size, "cannot start %s: %s", binary, strerror(-r));
                return -EIO;
        }
        int status = 0;
        r = proc_wait(pid, timeout_ms, &status);
        long ms = (long)(now_ms() - start);
        if (elapsed_ms)
                *elapsed_ms = ms;
        if (r < 0) {
                proc_terminate(pid, 0);
                if (r == -ETIMEDOUT)
                        snprintf(reason, size,
                                 "a test guest under %s did not finish within %.1f s (it takes milliseconds where %s works; "
                                 "nested virtualization often hangs like this)",
                                 accel, timeout_ms / 1000.0, accel);
                else
                        snprintf(reason, size, "the %s test was interrupted", accel);
        } else if (WIFEXITED(status) && WEXITSTATUS(status) == PROBE_EXIT_CODE) {
                r = 0;
                if (size)
                        reason[0] = 0;
        } else {
                _cleanup_free_ char *tail = tail_of_file(log);
                char st[64];
                if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                        /* -no-reboot turns a guest reset (triple fault) into a clean exit. */
                        snprintf(reason, size, "a test guest under %s crashed and reset instead of finishing",
                                 accel);
                else
                        snprintf(reason, size, "QEMU could not run a test guest under %s (%s): %s", accel,
                                 proc_status_string(status, st, sizeof st), strempty(tail));
                r = -EIO;
        }
        return r;
}

/* "binary|version|kernel release|boot id": a new kernel, boot or QEMU means a new probe. */
static char *cache_key(const char *binary, const struct qemu_version *v) {
        struct utsname u;
        if (uname(&u) < 0)
                return NULL;
        _cleanup_free_ char *boot = NULL;
        if (read_full_file("/proc/sys/kernel/random/boot_id", &boot, NULL) < 0)
                boot = strdup("?");
        if (!boot)
                return NULL;
        boot[strcspn(boot, "\n")] = 0;
        return strdup_printf("%s|%u.%u.%u|%s|%s", binary, v->major, v->minor, v->micro, u.release, boot);
}

static char *cache_path(void) {
        const char *e = getenv("VMCLOAK_KVM_PROBE_CACHE");
        if (!isempty(e))
                return strdup(e);
        return probe_cache_file("kvm-probe");
}

static bool cache_read(const char *key, struct kvm_status *s) {
        _cleanup_free_ char *path = cache_path();
        _cleanup_free_ char *text = NULL;
        if (!path || read_full_file(path, &text, NULL) < 0)
                return false;
        bool key_ok = false, have_usable = false;
        char *save = NULL;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                const char *v;
                if ((v = startswith(l, "key=")))
                        key_ok = streq(v, key);
                else if ((v = startswith(l, "usable="))) {
                        s->usable = streq(v, "1");
                        have_usable = true;
                } else if ((v = startswith(l, "ms=")))
                        s->probe_ms = strtol(v, NULL, 10);
                else if ((v = startswith(l, "reason=")))
                        snprintf(s->reason, sizeof s->reason, "%s", v);
        }
        if (!key_ok || !have_usable) {
                s->usable = false;
                s->reason[0] = 0;
                return false;
        }
        s->cached = true;
        return true;
}

/* The cache's path may name any file (VMCLOAK_KVM_PROBE_CACHE): only one that is missing or
 * holds nothing but a cache's lines is vmcloak's to replace. */
static bool cache_replaceable(const char *path) {
        _cleanup_free_ char *text = NULL;
        int r = read_full_file(path, &text, NULL);
        if (r == -ENOENT)
                return true;
        if (r < 0)
                return false;
        char *save = NULL;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
                if (!startswith(l, "key=") && !startswith(l, "usable=") && !startswith(l, "ms=") &&
                    !startswith(l, "reason="))
                        return false;
        return true;
}

static void cache_write(const char *key, const struct kvm_status *s) {
        _cleanup_free_ char *path = cache_path();
        if (!path)
                return;
        if (!cache_replaceable(path)) {
                log_warning("%s is not a KVM probe cache of vmcloak, so it is left as it is (KVM is probed again "
                            "next time); point VMCLOAK_KVM_PROBE_CACHE at another file", path);
                return;
        }
        _cleanup_free_ char *dir = path_dirname(path);
        if (!dir || mkdir_p(dir, 0700) < 0)
                return;
        _cleanup_free_ char *text = strdup_printf("key=%s\nusable=%d\nms=%ld\nreason=%s\n", key, s->usable ? 1 : 0,
                                                  s->probe_ms, s->reason);
        if (text && write_file_atomic(path, text, strlen(text), 0600) < 0)
                log_debug("cannot write the KVM probe cache %s", path);
}

int qemu_kvm_probe(const char *binary, const struct qemu_version *v, unsigned flags, struct kvm_status *ret) {
        memset(ret, 0, sizeof *ret);
        const char *dev = getenv("VMCLOAK_KVM_DEVICE");
        if (isempty(dev))
                dev = "/dev/kvm";
        ret->present = path_exists(dev);
        if (!ret->present) {
                snprintf(ret->reason, sizeof ret->reason,
                         "%s does not exist (no hardware virtualization, or the kvm module is not loaded)", dev);
                return 0;
        }
        int fd = open(dev, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
                int e = errno;
                snprintf(ret->reason, sizeof ret->reason, "cannot open %s: %s%s", dev, strerror(e),
                         e == EACCES ? " (add your user to the kvm group and log in again)" : "");
                return 0;
        }
        close(fd);
        ret->openable = true;

        _cleanup_free_ char *key = cache_key(binary, v);
        if (key && !(flags & QEMU_PROBE_NO_CACHE) && cache_read(key, ret))
                return 0;
        const char *t = getenv("VMCLOAK_KVM_PROBE_TIMEOUT_MS");
        int timeout = isempty(t) ? KVM_PROBE_TIMEOUT_MS : atoi(t);
        if (timeout <= 0)
                timeout = KVM_PROBE_TIMEOUT_MS;
        log_debug("probing KVM with a test guest (up to %d ms)", timeout);
        int r = qemu_accel_test(binary, "kvm", timeout, &ret->probe_ms, ret->reason, sizeof ret->reason);
        if (r == -ECANCELED)
                return r;
        ret->usable = r == 0;
        if (key)
                cache_write(key, ret);
        return 0;
}

int qemu_accel_resolve(enum vm_accel requested, const char *binary, const struct qemu_version *v,
                       enum vm_accel *ret) {
        if (requested == VM_ACCEL_TCG) {
                *ret = VM_ACCEL_TCG;
                return 0;
        }
        struct kvm_status s;
        int r = qemu_kvm_probe(binary, v, 0, &s);
        if (r < 0)
                return r;
        if (requested == VM_ACCEL_KVM) {
                if (!s.openable)
                        return log_error_errno(-ENODEV, "KVM is not available: %s; use --accel tcg (much slower)",
                                               s.reason);
                if (!s.usable)
                        log_warning("KVM was asked for, but %s; going ahead with KVM as asked", s.reason);
                *ret = VM_ACCEL_KVM;
                return 0;
        }
        if (s.usable) {
                *ret = VM_ACCEL_KVM;
                return 0;
        }
        log_warning("KVM is not usable (%s): using TCG software emulation, typically 10-50 times slower "
                    "(a Windows install can take many hours); 'vmcloak doctor' explains, --accel tcg silences this",
                    s.reason);
        *ret = VM_ACCEL_TCG;
        return 0;
}

int qemu_resolve_run(struct qemu_run *run) {
        struct qemu_binary b;
        int r = qemu_binary_probe(&b);
        if (r < 0)
                return r;
        run->version = b.version;
        r = qemu_accel_resolve(run->accel, b.path, &b.version, &run->accel);
        if (r >= 0) {
                free(run->binary);
                run->binary = TAKE_PTR(b.path);
        }
        qemu_binary_done(&b);
        return r;
}

int qemu_binary_accels(const char *binary, char ***ret) {
        char *argv[] = { (char *)binary, "-accel", "help", NULL };
        _cleanup_free_ char *out = NULL;
        int r = proc_run(argv, NULL, &out, NULL);
        if (r < 0)
                return r;
        if (r != 0)
                return -EIO;
        /* "Accelerators supported in QEMU binary:" then one name a line. */
        char **l = NULL;
        char *save = NULL;
        for (char *t = strtok_r(out, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
                if (strchr(t, ' ') || strchr(t, ':') || !*t)
                        continue;
                if (strv_extend(&l, t) < 0) {
                        strv_free(l);
                        return -ENOMEM;
                }
        }
        if (!l && !(l = calloc(1, sizeof *l)))
                return -ENOMEM;
        *ret = l;
        return 0;
}

const char *const qemu_tell_strings[QEMU_TELLS_CHECKED + 1] = {
        "QEMU HARDDISK", "QEMU DVD-ROM", "QEMU USB Tablet", "QEMU Virtual CPU", "QEMU0002", "BOCHS", "Bochs", NULL,
};

int qemu_binary_tells(const char *binary, const char *present[QEMU_TELLS_CHECKED]) {
        _cleanup_close_ int fd = open(binary, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        int n = 0;
        /* A wrapper script (or anything not ELF) does not hold the strings of the QEMU it
         * starts: its absence of them says nothing. */
        char head[4] = { 0 };
        ssize_t k = pread(fd, head, sizeof head, 0);
        if (k < 0)
                return -errno;
        if (k < (ssize_t)sizeof head || memcmp(head, "\177ELF", 4) != 0)
                return -ENOEXEC;
        /* A QEMU binary is tens of MiB: map it rather than read it. */
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED)
                return -errno;
        for (size_t i = 0; i < QEMU_TELLS_CHECKED; i++)
                if (memmem(m, (size_t)st.st_size, qemu_tell_strings[i], strlen(qemu_tell_strings[i])))
                        present[n++] = qemu_tell_strings[i];
        munmap(m, (size_t)st.st_size);
        return n;
}

char *qemu_find_ovmf_code(bool secure_boot) {
        static const char *const secure[] = { "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd",
                                              "/usr/share/OVMF/OVMF_CODE.secboot.fd",
                                              "/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd" };
        static const char *const plain[] = { "/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_CODE.fd",
                                             "/usr/share/edk2/ovmf/OVMF_CODE.fd" };
        const char *const *l = secure_boot ? secure : plain;
        for (size_t i = 0; i < 3; i++)
                if (path_exists(l[i]))
                        return strdup(l[i]);
        return NULL;
}

char *qemu_find_ovmf_vars(bool microsoft_keys) {
        static const char *const ms[] = { "/usr/share/OVMF/OVMF_VARS_4M.ms.fd", "/usr/share/OVMF/OVMF_VARS.ms.fd",
                                          "/usr/share/edk2/ovmf/OVMF_VARS.secboot.fd" };
        static const char *const plain[] = { "/usr/share/OVMF/OVMF_VARS_4M.fd", "/usr/share/OVMF/OVMF_VARS.fd",
                                             "/usr/share/edk2/ovmf/OVMF_VARS.fd" };
        const char *const *l = microsoft_keys ? ms : plain;
        for (size_t i = 0; i < 3; i++)
                if (path_exists(l[i]))
                        return strdup(l[i]);
        return NULL;
}

int qemu_doctor_collect(struct qemu_doctor *d, unsigned flags) {
        memset(d, 0, sizeof *d);
        if (qemu_find_binary(&d->binary) == 0) {
                if (qemu_probe_version(d->binary, &d->version, &d->version_string) == 0)
                        d->version_ok = qemu_version_cmp(&d->version, QEMU_MIN_MAJOR, QEMU_MIN_MINOR, 0) >= 0;
        }
        _cleanup_free_ char *img = qemu_img_binary();
        d->img_binary = find_program(img);
        if (d->binary && d->version_ok) {
                int r = qemu_kvm_probe(d->binary, &d->version, flags, &d->kvm);
                if (r < 0)
                        return r;
                r = qemu_accel_test(d->binary, "tcg", 30000, &d->tcg_ms, d->tcg_reason, sizeof d->tcg_reason);
                if (r == -ECANCELED)
                        return r;
                d->tcg_ok = r == 0;
        }
        d->ovmf_code = qemu_find_ovmf_code(true);
        d->ovmf_vars = qemu_find_ovmf_vars(true);
        d->swtpm = find_program("swtpm");
        d->lz4 = find_program("lz4");
        d->gzip = find_program("gzip");
        d->zstd = find_program("zstd");
        return 0;
}

static void line(FILE *f, const char *status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void line(FILE *f, const char *status, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(f, "%-5s", status);
        vfprintf(f, fmt, ap);
        fputc('\n', f);
        va_end(ap);
}

int qemu_doctor_print(const struct qemu_doctor *d, FILE *f) {
        int fails = 0;
        if (!d->binary) {
                line(f, "FAIL", "qemu-system-x86_64: not found (apt-get install qemu-system-x86, or set VMCLOAK_QEMU)");
                fails++;
        } else if (!d->version_string) {
                line(f, "FAIL", "qemu-system-x86_64: %s: cannot read its version", d->binary);
                fails++;
        } else if (!d->version_ok) {
                line(f, "FAIL", "qemu-system-x86_64: %s is %s; vmcloak needs %d.%d or newer", d->binary,
                     d->version_string, QEMU_MIN_MAJOR, QEMU_MIN_MINOR);
                fails++;
        } else
                line(f, "ok", "qemu-system-x86_64: %s (QEMU %s%s)", d->binary, d->version_string,
                     qemu_version_pre_4_1(&d->version) ? ", pre-4.1 arguments" : "");
        if (d->img_binary)
                line(f, "ok", "qemu-img: %s", d->img_binary);
        else {
                line(f, "FAIL", "qemu-img: not found (apt-get install qemu-utils)");
                fails++;
        }
        if (d->binary && d->version_ok) {
                const struct kvm_status *k = &d->kvm;
                if (k->usable)
                        line(f, "ok", "kvm: /dev/kvm present, openable, a test guest ran in %ld ms%s", k->probe_ms,
                             k->cached ? " (cached answer)" : "");
                else
                        line(f, "warn", "kvm: %s%s: VMs will use TCG, 10-50 times slower", k->reason,
                             k->cached ? " (cached answer)" : "");
                if (d->tcg_ok)
                        line(f, "ok", "tcg: a test guest ran in %ld ms", d->tcg_ms);
                else {
                        line(f, "FAIL", "tcg: %s", d->tcg_reason);
                        fails++;
                }
        }
        if (d->ovmf_code && d->ovmf_vars)
                line(f, "ok", "uefi: %s + %s", d->ovmf_code, d->ovmf_vars);
        else
                line(f, "warn", "uefi: Secure Boot firmware not found (apt-get install ovmf; needed for Windows 11)");
        if (d->swtpm)
                line(f, "ok", "tpm: %s", d->swtpm);
        else
                line(f, "warn", "tpm: swtpm not found (apt-get install swtpm swtpm-tools; needed for Windows 11)");
        if (d->lz4)
                line(f, "ok", "lz4: %s (memory snapshots)", d->lz4);
        else {
                line(f, "FAIL", "lz4: not found (apt-get install lz4; the default memory snapshot compressor)");
                fails++;
        }
        if (!d->gzip)
                line(f, "warn", "gzip: not found (--compress gzip will not work)");
        if (!d->zstd)
                line(f, "warn", "zstd: not found (--compress zstd will not work)");
        return fails;
}

static void add_str(struct json_object *o, const char *k, const char *v) {
        json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

struct json_object *qemu_doctor_to_json(const struct qemu_doctor *d) {
        struct json_object *o = json_object_new_object();
        add_str(o, "qemu", d->binary);
        add_str(o, "qemu_version", d->version_string);
        json_object_object_add(o, "qemu_version_ok", json_object_new_boolean(d->version_ok));
        add_str(o, "qemu_img", d->img_binary);
        struct json_object *k = json_object_new_object();
        json_object_object_add(k, "present", json_object_new_boolean(d->kvm.present));
        json_object_object_add(k, "openable", json_object_new_boolean(d->kvm.openable));
        json_object_object_add(k, "usable", json_object_new_boolean(d->kvm.usable));
        json_object_object_add(k, "cached", json_object_new_boolean(d->kvm.cached));
        json_object_object_add(k, "probe_ms", json_object_new_int64(d->kvm.probe_ms));
        add_str(k, "reason", d->kvm.reason[0] ? d->kvm.reason : NULL);
        json_object_object_add(o, "kvm", k);
        struct json_object *t = json_object_new_object();
        json_object_object_add(t, "usable", json_object_new_boolean(d->tcg_ok));
        json_object_object_add(t, "probe_ms", json_object_new_int64(d->tcg_ms));
        add_str(t, "reason", d->tcg_reason[0] ? d->tcg_reason : NULL);
        json_object_object_add(o, "tcg", t);
        add_str(o, "ovmf_code", d->ovmf_code);
        add_str(o, "ovmf_vars", d->ovmf_vars);
        add_str(o, "swtpm", d->swtpm);
        add_str(o, "lz4", d->lz4);
        add_str(o, "gzip", d->gzip);
        add_str(o, "zstd", d->zstd);
        return o;
}

void qemu_doctor_done(struct qemu_doctor *d) {
        free(d->binary);
        free(d->version_string);
        free(d->img_binary);
        free(d->ovmf_code);
        free(d->ovmf_vars);
        free(d->swtpm);
        free(d->lz4);
        free(d->gzip);
        free(d->zstd);
        memset(d, 0, sizeof *d);
}
