/* The subcommands: one cmd_<name>() per file in src/cmd/, each returning an exit code
 * (0 success, 1 failure, 2 usage error / not implemented). */
#pragma once

#define EXIT_USAGE 2

int cmd_init(int argc, char **argv);
int cmd_install(int argc, char **argv);
int cmd_modify(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_delimg(int argc, char **argv);
int cmd_delvm(int argc, char **argv);
int cmd_clone(int argc, char **argv);
int cmd_createiso(int argc, char **argv);
int cmd_isodownload(int argc, char **argv);
int cmd_bridge(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_cleanup(int argc, char **argv);
int cmd_help(int argc, char **argv);

struct cmd_spec;
/* For commands whose work belongs to a later issue: parse options (so --help works),
 * then say so and exit 2. Never a fake success. */
int cmd_not_implemented(const struct cmd_spec *spec, int argc, char **argv, const char *what);

/* Map a negative errno from a core call to an exit code (the message was already printed). */
static inline int exit_code_for(int r) { return r < 0 ? 1 : 0; }
