/* Signal flag plus child-group registry so no QEMU outlives vmcloak. */
#include "core/interrupt.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CHILDREN 256

/* Atomics: the handler runs on whichever thread takes the signal, and lock-free atomics are
 * async-signal-safe. */
static _Atomic int interrupt_flag;
static _Atomic pid_t children[MAX_CHILDREN];

void interrupt_kill_children(void) {
        for (size_t i = 0; i < MAX_CHILDREN; i++) {
                pid_t p = atomic_load(&children[i]);
                if (p > 0) {
                        kill(-p, SIGKILL);
                        kill(p, SIGKILL);
                }
        }
}

static void on_signal(int sig) {
        if (atomic_load(&interrupt_flag)) {
                interrupt_kill_children();
                static const char msg[] = "vmcloak: interrupted twice, killed child processes; files of this run "
                                          "may be left: 'vmcloak cleanup NAME' removes them\n";
                ssize_t k = write(STDERR_FILENO, msg, sizeof msg - 1);
                (void)k;
                _exit(128 + sig);
        }
        atomic_store(&interrupt_flag, sig);
}

static void at_exit_kill(void) { interrupt_kill_children(); }

void interrupt_install(void) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
        static bool registered;
        if (!registered) {
                atexit(at_exit_kill);
                registered = true;
        }
}

bool interrupted(void) { return atomic_load(&interrupt_flag) != 0; }
int interrupt_signal(void) { return atomic_load(&interrupt_flag); }
void interrupt_reset(void) { atomic_store(&interrupt_flag, 0); }

void interrupt_track_child(pid_t pgid) {
        for (size_t i = 0; i < MAX_CHILDREN; i++) {
                pid_t free_slot = 0;
                if (atomic_compare_exchange_strong(&children[i], &free_slot, pgid))
                        return;
        }
}

void interrupt_untrack_child(pid_t pgid) {
        for (size_t i = 0; i < MAX_CHILDREN; i++) {
                pid_t mine = pgid;
                atomic_compare_exchange_strong(&children[i], &mine, 0);
        }
}
