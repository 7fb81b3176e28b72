/* The uncompressed kernel inside a bzImage: found, decompressed with liblzma, checked for a PVH
 * entry with libelf, cached. */
#include "guest/vmlinux.h"

#include <errno.h>
#include <gelf.h>
#include <lzma.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "core/util.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
/* Far above any real kernel (Debian's is ~60 MiB with its relocations): a corrupt size field
 * must not become a huge allocation. */
#define VMLINUX_MAX (UINT64_C(512) << 20)

static const uint8_t xz_magic[] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };
static const uint8_t lzma_magic[] = { 0x5d, 0x00, 0x00 };

static uint32_t le32(const uint8_t *p) {
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The compressed payload's bounds from the setup header; false when it has none. */
static bool payload_from_header(const uint8_t *b, size_t n, size_t *off, size_t *len) {
        if (n < 0x250 || memcmp(b + 0x202, "HdrS", 4) != 0 || (b[0x206] | b[0x207] << 8) < 0x208)
                return false;
        size_t setup_sects = b[0x1f1] ? b[0x1f1] : 4;
        size_t start = (setup_sects + 1) * 512 + le32(b + 0x248), l = le32(b + 0x24c);
        if (start >= n || l > n - start)
                return false;
        *off = start;
        *len = l;
        return true;
}

static int decompress(const uint8_t *in, size_t len, bool xz, void **ret, size_t *ret_len) {
        if (len < 16)
                return -ENOEXEC;
        uint64_t size = le32(in + len - 4);
        if (size == 0 || size > VMLINUX_MAX)
                return -ENOEXEC;
        _cleanup_free_ uint8_t *out = malloc(size);
        if (!out)
                return -ENOMEM;
        lzma_stream s = LZMA_STREAM_INIT;
        /* One stream, no LZMA_CONCATENATED: the size_append bytes follow it. */
        lzma_ret lr = xz ? lzma_stream_decoder(&s, UINT64_MAX, 0) : lzma_alone_decoder(&s, UINT64_MAX);
        if (lr != LZMA_OK)
                return lr == LZMA_MEM_ERROR ? -ENOMEM : -EINVAL;
        s.next_in = in;
        s.avail_in = len;
        s.next_out = out;
        s.avail_out = size;
        lr = lzma_code(&s, LZMA_FINISH);
        uint64_t got = s.total_out;
        lzma_end(&s);
        if (lr == LZMA_MEM_ERROR)
                return -ENOMEM;
        /* A legacy .lzma stream may end at its size without an end marker: LZMA_OK, all out. */
        if ((lr != LZMA_STREAM_END && !(lr == LZMA_OK && !xz)) || got != size)
                return -ENOEXEC;
        *ret = TAKE_PTR(out);
        *ret_len = size;
        return 0;
}

int vmlinux_extract(const void *bz, size_t n, void **ret, size_t *ret_len) {
        const uint8_t *b = bz;
        size_t off, len;
        if (!payload_from_header(b, n, &off, &len)) {
                const uint8_t *m = memmem(b, n, xz_magic, sizeof xz_magic);
                if (!m)
                        return -ENOEXEC;
                off = (size_t)(m - b);
                len = n - off;
        }
        const uint8_t *p = b + off;
        if (len >= sizeof xz_magic && memcmp(p, xz_magic, sizeof xz_magic) == 0)
                return decompress(p, len, true, ret, ret_len);
        if (len >= sizeof lzma_magic && memcmp(p, lzma_magic, sizeof lzma_magic) == 0)
                return decompress(p, len, false, ret, ret_len);
        return -EPROTONOSUPPORT;
}

/* Through libelf: it checks every offset and size the file gives against its length. */
bool vmlinux_has_pvh_note(const void *elf, size_t n) {
        if (elf_version(EV_CURRENT) == EV_NONE)
                return false;
        /* elf_memory takes a non-const pointer; ELF_C_READ on our byte order changes nothing. */
        Elf *e = elf_memory((char *)(uintptr_t)elf, n);
        if (!e)
                return false;
        bool found = false;
        GElf_Ehdr eh;
        size_t phnum;
        if (elf_kind(e) == ELF_K_ELF && gelf_getclass(e) == ELFCLASS64 && gelf_getehdr(e, &eh) &&
            eh.e_machine == EM_X86_64 && elf_getphdrnum(e, &phnum) == 0)
                for (size_t i = 0; i < phnum && !found; i++) {
                        GElf_Phdr ph;
                        if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_NOTE)
                                continue;
                        Elf_Data *d = elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
                        GElf_Nhdr nh;
                        size_t off = 0, name_off, desc_off;
                        while (d && !found && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0)
                                found = nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
                                        memcmp((const char *)d->d_buf + name_off, "Xen", 4) == 0;
                }
        elf_end(e);
        return found;
}

static int cache_name(const char *bzimage, const void *data, size_t n, char **ret) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        if (EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 8)
                return -EIO;
        char hex[17];
        for (size_t i = 0; i < 8; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
        const char *base = strrchr(bzimage, '/');
        *ret = strdup_printf("%s-%s", base ? base + 1 : bzimage, hex);
        return *ret ? 0 : -ENOMEM;
}

int vmlinux_get_cached(const char *bzimage, const char *cache_dir, char **ret) {
        _cleanup_free_ char *bz = NULL, *name = NULL, *dir = NULL, *path = NULL;
        _cleanup_free_ void *elf = NULL;
        size_t n, elf_len = 0;
        int r = read_full_file(bzimage, &bz, &n);
        if (r < 0) {
                log_info("cannot read the kernel %s (%s): the installer boots through its ISO", bzimage, strerror(-r));
                return r;
        }
        if ((r = cache_name(bzimage, bz, n, &name)) < 0 || !(dir = path_join(cache_dir, "vmlinux")) ||
            !(path = path_join(dir, name)))
                return r < 0 ? r : log_oom();
        if (access(path, R_OK) == 0) {
                *ret = TAKE_PTR(path);
                return 0;
        }
        r = vmlinux_extract(bz, n, &elf, &elf_len);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                log_info("cannot find the uncompressed kernel in %s (%s): the installer boots through its ISO",
                         bzimage, r == -EPROTONOSUPPORT ? "not XZ or LZMA compressed" : "not a bzImage with an XZ payload");
                return r;
        }
        if (!vmlinux_has_pvh_note(elf, elf_len)) {
                log_info("the kernel %s has no PVH entry (CONFIG_PVH): the installer boots through its ISO", bzimage);
                return -ENOEXEC;
        }
        if ((r = mkdir_p(dir, 0755)) < 0 || (r = write_file_atomic(path, elf, elf_len, 0644)) < 0) {
                log_info("cannot write %s (%s): the installer boots through its ISO", path, strerror(-r));
                return r;
        }
        *ret = TAKE_PTR(path);
        return 0;
}
