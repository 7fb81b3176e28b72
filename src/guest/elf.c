/* ELF reading through libelf (elfutils), which checks every offset the file gives. */
#include "guest/elf.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"

int elf_needs_interpreter(const char *path) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (elf_version(EV_CURRENT) == EV_NONE)
                return -ENOSYS;
        errno = 0;
        Elf *e = elf_begin(fd, ELF_C_READ, NULL);
        if (!e) {
                /* libelf's own error numbers are not public (elf_errmsg names them): a failed
                 * read or allocation left errno (EISDIR for a folder, EIO, ENOMEM); anything
                 * else is a file libelf refused as ELF. */
                int sys = errno;
                log_debug("%s: libelf cannot read it: %s", path, elf_errmsg(elf_errno()));
                return sys > 0 ? -sys : -ENOEXEC;
        }
        int r = 0;
        size_t n;
        GElf_Ehdr eh;
        if (elf_kind(e) != ELF_K_ELF)
                r = 0;   /* a script, or anything else that is not ELF */
        else if (!gelf_getehdr(e, &eh) || elf_getphdrnum(e, &n) < 0 || (eh.e_phnum != PN_XNUM && n < eh.e_phnum))
                r = -ENOEXEC;   /* libelf counts a cut program header table as shorter: it is corrupt */
        else
                for (size_t i = 0; i < n && r == 0; i++) {
                        GElf_Phdr ph;
                        if (!gelf_getphdr(e, (int)i, &ph))
                                r = -ENOEXEC;
                        else if (ph.p_type == PT_INTERP)
                                r = 1;
                }
        elf_end(e);
        return r;
}
