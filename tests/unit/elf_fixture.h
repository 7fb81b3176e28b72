/* Unit-test fixture: the header of a minimal x86-64 ELF file. */
#pragma once

#include <elf.h>
#include <stdint.h>
#include <string.h>

/* eh zeroed and filled in: ELF64, little-endian, of type (ET_EXEC, ET_REL) for x86-64; with
 * phoff non-zero, one Elf64_Phdr there. */
static inline void elf_fixture_header(Elf64_Ehdr *eh, uint16_t type, size_t phoff) {
        memset(eh, 0, sizeof *eh);
        memcpy(eh->e_ident, ELFMAG, SELFMAG);
        eh->e_ident[EI_CLASS] = ELFCLASS64;
        eh->e_ident[EI_DATA] = ELFDATA2LSB;
        eh->e_ident[EI_VERSION] = EV_CURRENT;
        eh->e_type = type;
        eh->e_machine = EM_X86_64;
        if (phoff) {
                eh->e_phoff = phoff;
                eh->e_phentsize = sizeof(Elf64_Phdr);
                eh->e_phnum = 1;
        }
}
