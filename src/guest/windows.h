/* The Windows OS profiles (win7x64, win81x64, win10x64, win11x64) and what the pipeline needs
 * to know of them. */
#pragma once

#include "guest/profile.h"

/* init's default --timeout for a Windows install: fits a KVM host (Setup takes 20-60 min there,
 * vmcloak-spec.md §5.8); under TCG it takes hours and init says how to raise it. */
#define WINDOWS_INSTALL_TIMEOUT_S 5400u
/* Seconds of "any key" sent after the first UEFI boot: efisys.bin asks "Press any key to boot
 * from CD or DVD" for about 5 s, after the firmware's own start (25 s under TCG, uefi-tpm.md). */
#define WINDOWS_PRESS_KEY_S 40u

extern const struct os_profile os_profile_win7x64, os_profile_win81x64, os_profile_win10x64, os_profile_win11x64;
