/* Cuckoo3's start_args import rules. */
#include "machine/cuckoo.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

/* Cuckoo3 tests the arguments joined with spaces. No string it looks for holds a space, so
 * one is found in the joined string exactly when one argument holds it: no need to join. */
static bool any_holds(char *const *args, const char *s) {
        STRV_FOREACH(a, args)
                if (strstr(*a, s))
                        return true;
        return false;
}

int cuckoo_start_args_check(char *const *args, const char **ret_reason) {
        static const char *const forbidden[] = { "-incoming", "-monitor", "-qmp-pretty", "-qmp",
                                                 "-loadvm", "-no-shutdown", "-snapshot" };
        const char *why = NULL;
        if (!args || !args[0])
                why = "the list is empty";
        else if (strstr(args[0], "qemu-system"))
                why = "the first element names the QEMU binary (start_args hold arguments only)";
        else if (!any_holds(args, VM_DISK_PLACEHOLDER))
                why = "no argument holds " VM_DISK_PLACEHOLDER;
        else
                for (size_t i = 0; i < ELEMENTSOF(forbidden); i++)
                        if (any_holds(args, forbidden[i])) {
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
