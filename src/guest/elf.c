/* ELF64 little-endian reading with bounds checks on every offset taken from the file. */
#include "guest/elf.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/util.h"

static bool in_bounds(size_t len, uint64_t off, uint64_t size) { return off <= len && size <= len - off; }

static int check_header(const void *data, size_t len, const Elf64_Ehdr **ret) {
        if (len < sizeof(Elf64_Ehdr))
                return -ENOEXEC;
        const Elf64_Ehdr *eh = data;
        if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
            eh->e_ident[EI_DATA] != ELFDATA2LSB)
                return -ENOEXEC;
        *ret = eh;
        return 0;
}

int elf_modinfo_get_mem(const void *data, size_t len, const char *key, char ***ret) {
        const Elf64_Ehdr *eh;
        int r = check_header(data, len, &eh);
        if (r < 0)
                return r;
        if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shnum == 0 ||
            !in_bounds(len, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr)) || eh->e_shstrndx >= eh->e_shnum)
                return -ENOEXEC;
        const char *base = data;
        const Elf64_Shdr *sh = (const Elf64_Shdr *)(base + eh->e_shoff);
        const Elf64_Shdr *strtab = &sh[eh->e_shstrndx];
        if (!in_bounds(len, strtab->sh_offset, strtab->sh_size))
                return -ENOEXEC;
        const char *names = base + strtab->sh_offset;
        size_t klen = strlen(key);
        for (unsigned i = 0; i < eh->e_shnum; i++) {
                if (sh[i].sh_name >= strtab->sh_size)
                        continue;
                const char *nm = names + sh[i].sh_name;
                if (strnlen(nm, strtab->sh_size - sh[i].sh_name) == strtab->sh_size - sh[i].sh_name ||
                    !streq(nm, ".modinfo"))
                        continue;
                if (sh[i].sh_type == SHT_NOBITS || !in_bounds(len, sh[i].sh_offset, sh[i].sh_size))
                        return -ENOEXEC;
                const char *p = base + sh[i].sh_offset, *end = p + sh[i].sh_size;
                _cleanup_(strv_freep) char **values = NULL;
                /* NUL-separated "key=value" strings, possibly with NUL padding between them. */
                while (p < end) {
                        size_t l = strnlen(p, (size_t)(end - p));
                        if (l > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
                                char *v = strndup(p + klen + 1, l - klen - 1);
                                if (!v || strv_push(&values, v) < 0)
                                        return -ENOMEM;
                        }
                        p += l + 1;
                }
                *ret = TAKE_PTR(values);
                return 0;
        }
        return -ENOEXEC;
}

int elf_modinfo_get(const char *path, const char *key, char ***ret) {
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = read_full_file(path, &data, &len);
        if (r < 0)
                return r;
        return elf_modinfo_get_mem(data, len, key, ret);
}

int elf_needs_interpreter(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        Elf64_Ehdr eh;
        ssize_t k = pread(fd, &eh, sizeof eh, 0);
        if (k < 0)
                return -errno;
        const Elf64_Ehdr *p;
        if (check_header(&eh, (size_t)k, &p) < 0)
                return 0;
        if (eh.e_phnum == 0)
                return 0;   /* an object file, not a program */
        if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 4096)
                return -ENOEXEC;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
                Elf64_Phdr ph;
                k = pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * sizeof ph));
                if (k != (ssize_t)sizeof ph)
                        return k < 0 ? -errno : -ENOEXEC;
                if (ph.p_type == PT_INTERP)
                        return 1;
        }
        return 0;
}
