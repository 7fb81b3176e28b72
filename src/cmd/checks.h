/* The syntax checks that option and positional-argument tables name (optdef.check,
 * posdef.check): each is an arg_check_fn, prints one line and returns -EINVAL, or returns 0,
 * and looks at no state (the repository, the home), so a usage error exits 2 with nothing made. */
#pragma once

#include "cmd/args.h"

/* A new image's name (NAME_IMAGE). */
int check_image_new(const struct args *a, const char *value, const char *what);
/* The name of an existing image, VM, or either (NAME_EXISTING: old names stay usable). */
int check_image_existing(const struct args *a, const char *value, const char *what);
int check_vm_existing(const struct args *a, const char *value, const char *what);
int check_existing(const struct args *a, const char *value, const char *what);
/* An existing interface (NAME_IFNAME: Linux's own rule). */
int check_ifname(const struct args *a, const char *value, const char *what);
/* --hostname: a DNS label (NAME_HOSTNAME), which every guest accepts. */
int check_hostname(const struct args *a, const char *value, const char *what);
/* A Windows computer name (NetBIOS rules, core/validate.h NAME_WINDOWS_HOSTNAME). */
int check_windows_hostname(const struct args *a, const char *value, const char *what);
/* Windows: an account name, a locale, a keyboard, a time zone id (guest/unattend.h's rules). */
int check_windows_user(const struct args *a, const char *value, const char *what);
int check_windows_locale(const struct args *a, const char *value, const char *what);
int check_windows_keyboard(const struct args *a, const char *value, const char *what);
int check_windows_timezone(const struct args *a, const char *value, const char *what);
/* A Windows product key's syntax (guest/winedition.h): five groups of five letters or digits. */
int check_product_key(const struct args *a, const char *value, const char *what);
/* An IPv4 address (four numbers 0-255). */
int check_ipv4(const struct args *a, const char *value, const char *what);
/* A guest network: ADDRESS[/PREFIX] with room for a guest and a gateway (prefix at most 30). */
int check_network(const struct args *a, const char *value, const char *what);
/* A unicast MAC address. */
int check_mac(const struct args *a, const char *value, const char *what);
/* --hddsize: room for a guest (at least 64M); its type checked the syntax. */
int check_disk_size(const struct args *a, const char *value, const char *what);
/* A host path: not empty (whether it exists is checked where it is used). */
int check_path(const struct args *a, const char *value, const char *what);
/* --serial MODE: file, file:PATH, pty, unix:PATH or none. */
int check_serial(const struct args *a, const char *value, const char *what);
/* --tag: a Cuckoo machine tag (NAME_MACHINE_TAG: what Cuckoo3's import keeps as it is). */
int check_machine_tag(const struct args *a, const char *value, const char *what);
/* --share TAG=DIR[,rw|,ro]: the tag (NAME_SHARE_TAG, each tag once), the syntax, DIR a folder. */
int check_share(const struct args *a, const char *value, const char *what);
