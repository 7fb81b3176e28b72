/* Cuckoo3's start_args import rules. */
#include "machine/cuckoo.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

int cuckoo_start_args_check(char *const *args, const char **ret_reason) {
        static const char *const forbidden[] = { "-incoming", "-monitor", "-qmp-pretty", "-qmp",
                                                 "-loadvm", "-no-shutdown", "-snapshot" };
        const char *why = NULL;
        _cleanup_free_ char *joined = NULL;
        if (!args || !args[0])
                why = "the list is empty";
        else if (strstr(args[0], "qemu-system"))
                why = "the first element names the QEMU binary (start_args hold arguments only)";
        else if (!(joined = strv_join(args, " ")))
                return -ENOMEM;
        else if (!strstr(joined, VM_DISK_PLACEHOLDER))
                why = "no argument holds " VM_DISK_PLACEHOLDER;
        else
                for (size_t i = 0; i < ELEMENTSOF(forbidden); i++)
                        if (strstr(joined, forbidden[i])) {
                                why = forbidden[i];
                                break;
                        }
        if (why && why[0] == '-') {
                static _Thread_local char buf[96];
                snprintf(buf, sizeof buf, "'%s' appears in the arguments (Cuckoo3 forbids it anywhere, even in a path)",
                         why);
                why = buf;
        }
        if (ret_reason)
                *ret_reason = why;
        return why ? -EINVAL : 0;
}
