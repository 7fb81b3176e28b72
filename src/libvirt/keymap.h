/* QEMU key names (qcodes) as Linux input keycodes, for libvirt's virDomainSendKey. */
#pragma once

/*
 * The pipeline names keys as QEMU's QAPI QKeyCode enum does (qapi/ui.json: "ret", "ctrl",
 * "alt", "delete", "a", "f1", "kp_enter", ...); libvirt's virDomainSendKey takes codes of a
 * keycode set, here VIR_KEYCODE_SET_LINUX: the KEY_* values of <linux/input-event-codes.h>
 * (QEMU's own qcode→linux table, ui/keycodemapdb, maps them the same way). The keys covered
 * are the PC 105-key layout's: letters, digits, punctuation, modifiers, F1-F12, editing and
 * cursor keys, the keypad. Returns the code (> 0), or -ENOENT for a name it does not know.
 */
int libvirt_qcode_to_linux(const char *qcode);
