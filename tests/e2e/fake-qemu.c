/* A stand-in for a patched qemu-system-x86_64 (tests/e2e/qemu_binary.sh): an ELF binary, as a
 * real build is, that answers --version and -accel help like QEMU 7.2 and holds none of the
 * strings doctor looks for. Each call's arguments are appended to $FAKE_QEMU_LOG, one line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
        const char *log = getenv("FAKE_QEMU_LOG");
        if (log) {
                FILE *f = fopen(log, "a");
                if (!f)
                        return 1;
                for (int i = 1; i < argc; i++)
                        fprintf(f, "%s%s", i > 1 ? " " : "", argv[i]);
                fputc('\n', f);
                fclose(f);
        }
        if (argc == 2 && strcmp(argv[1], "--version") == 0)
                puts("QEMU emulator version 7.2.9 (cloaked build)");
        else if (argc == 3 && strcmp(argv[1], "-accel") == 0 && strcmp(argv[2], "help") == 0)
                fputs("Accelerators supported in QEMU binary:\ntcg\nkvm\n", stdout);
        else
                return 1;
        return 0;
}
