/* Just enough ELF64 reading for building guests: a kernel module's .modinfo fields and
 * whether a program needs a dynamic loader (the guest has no C library to offer it). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Values of "key=" in the .modinfo section of a .ko file, in order (strv; NULL when none).
 * -ENOEXEC when the file is not an ELF64 object with a .modinfo section. */
int elf_modinfo_get(const char *path, const char *key, char ***ret);
/* Same on a file already in memory. */
int elf_modinfo_get_mem(const void *data, size_t len, const char *key, char ***ret);

/* 1 if path is an ELF program with a PT_INTERP (dynamically linked), 0 if it is a static
 * ELF or not ELF at all (a script), negative errno if it cannot be read. */
int elf_needs_interpreter(const char *path);
