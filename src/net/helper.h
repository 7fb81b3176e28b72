/* qemu-bridge-helper: where it is, whether it is setuid root, the ACL path compiled into it, how
 * that ACL decides for a bridge (the helper's own rules), and --setup-helper's changes. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/* Tests (and unusual installs) point vmcloak at another helper or ACL with these. */
#define NET_HELPER_ENV "VMCLOAK_BRIDGE_HELPER"
#define NET_ACL_ENV "VMCLOAK_BRIDGE_ACL"

/* The first NUL-terminated absolute path in a binary file that ends with `suffix` (e.g.
 * "/bridge.conf"), as `strings FILE | grep` finds it. -ENOENT when there is none. */
int net_binary_find_path(const char *binary, const char *suffix, char **ret);

/* Find qemu-bridge-helper: $VMCLOAK_BRIDGE_HELPER; the default compiled into `qemu_binary` (what
 * QEMU runs when -netdev bridge has no helper=; NULL: look qemu-system-x86_64 up in PATH); then
 * /usr/lib/qemu, /usr/libexec, /usr/local/libexec, and beside the QEMU binary. -ENOENT if none. */
int net_helper_find(const char *qemu_binary, char **ret);

/* The ACL file the helper reads: $VMCLOAK_BRIDGE_ACL, else the "/.../bridge.conf" string compiled
 * into the helper binary. */
int net_helper_acl_path(const char *helper, char **ret);

struct net_helper_mode {
        bool setuid_root;      /* owned by root with the setuid bit: QEMU run by a user may use it */
        bool owner_root;
        bool nosuid_mount;     /* on a filesystem mounted nosuid: the bit would be ignored */
        mode_t mode;
};
int net_helper_stat(const char *helper, struct net_helper_mode *ret);

/* What the helper decides for `bridge` under ACL file `path`, following qemu-bridge-helper.c:
 * lines are "allow NAME", "allow all", "deny NAME", "deny all", "include FILE" or '#' comments;
 * any deny that matches wins over any allow, no match denies; an unreadable or malformed
 * top-level file makes the helper refuse every bridge, while errors in included files are
 * ignored (rules before the bad line still count). */
struct net_acl {
        bool allowed;
        int error;             /* 0, or why the helper cannot use the file at all (negative errno) */
        char *error_msg;       /* set with error: "FILE:LINE: unknown command 'x'", "FILE: ..." */
        char *allow_at;        /* "FILE:LINE" of the first rule allowing the bridge, or NULL */
        char *deny_at;         /* "FILE:LINE" of the first rule denying it, or NULL */
};
/* Returns 0 with *ret filled (even when denied or when ret->error is set), or -ENOMEM. */
int net_acl_check(const char *path, const char *bridge, struct net_acl *ret);
void net_acl_done(struct net_acl *acl);

/* What net_helper_setup() changed. */
enum {
        NET_SETUP_DIR_CREATED = 1 << 0,
        NET_SETUP_ACL_CREATED = 1 << 1,
        NET_SETUP_ALLOW_ADDED = 1 << 2,
        NET_SETUP_ACL_READABLE = 1 << 3,
        NET_SETUP_SETUID = 1 << 4,
};

/* The seed's steps 2 and 3: add "allow BRIDGE" to the ACL (creating it and its folder if needed)
 * unless the ACL allows it already, make the ACL readable by everyone (the helper reads it after
 * dropping to the calling user), and set the setuid bit on the helper. Prints one line per change
 * and one error line on failure (a deny rule or a malformed ACL is reported, not edited). */
int net_helper_setup(const char *helper, const char *acl_path, const char *bridge, unsigned *ret_changes);
