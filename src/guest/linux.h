/* The built-in linux guest: BusyBox userland, a Debian kernel and the vmcloak agent, installed
 * unattended from one ISO. Internals shared with the tests. */
#pragma once

#include "guest/profile.h"

#define LINUX_GUEST_DISK "/dev/sda"
#define LINUX_AGENT_ENV "VMCLOAK_GUEST_AGENT"

/* The answer file the installer sources (KEY='value' lines). Validates every field and
 * prints one line naming a bad one. release: the guest kernel release. */
int linux_answers_render(const struct install_params *p, const char *release, char **ret);

/* The agent binary copied into the guest: $VMCLOAK_GUEST_AGENT, else the data file
 * agent/vmcloak-agent. Must exist, be executable and need no dynamic loader. */
int linux_agent_path(char **ret);
