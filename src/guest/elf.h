/* Whether a program needs a dynamic loader (the linux guest has no C library to offer it). */
#pragma once

/* 1 if path is an ELF program with a PT_INTERP (dynamically linked), 0 if it is a static
 * ELF, an object without program headers or not ELF at all (a script), -ENOEXEC for a
 * corrupt ELF or one libelf refuses, another negative errno if it cannot be read (-EISDIR for
 * a folder, -EIO, -ENOMEM). Read with libelf. */
int elf_needs_interpreter(const char *path);
