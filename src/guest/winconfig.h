/* The Windows config disc: autounattend.xml at the root (Setup finds it on any CD), and a
 * vmcloak/ folder with the first-logon bootstrap (data/windows/bootstrap/), its settings file
 * and the guest agent under a random name. */
#pragma once

#include <stdint.h>

#include "guest/unattend.h"

/* What the bootstrap writes to COM1 (for an install flow's serial markers): progress lines
 * "vmcloak-phase: first-logon", "network-set", "settings-applied" (or "settings-incomplete"),
 * "agent-started"; a failure "vmcloak-phase: failed <step>" with step one of copy, settings,
 * network, agent-copy, agent-autostart, agent-start. */
#define WIN_SERIAL_PROGRESS "vmcloak-phase: "
#define WIN_SERIAL_FAILED "vmcloak-phase: failed "
#define WIN_SERIAL_DONE "vmcloak-phase: agent-started"

struct win_config {
        struct unattend_params unattend;  /* the answer file; its width/height also go to the bootstrap */
        const char *mac;           /* the NIC the bootstrap configures, "52:54:00:12:34:56"; NULL: no
                                    * network step (the guest keeps DHCP) */
        const char *ip;            /* the guest's address (with mac) */
        unsigned prefix;           /* its netmask length, 1..32 */
        const char *gateway;       /* NULL: none */
        const char *dns, *dns2;    /* NULL: none */
        uint16_t agent_port;       /* the agent listens on 0.0.0.0:agent_port */
        const char *agent_exe;     /* host file of the autostart agent; NULL: agent/vmcloak-agentw.exe
                                    * of the data folder (no console window) */
        const char *netcfg_exe;    /* host file of the console agent that runs `netcfg`; NULL:
                                    * agent/vmcloak-agent.exe */
        const char *agent_name;    /* the agent's file name in the guest; NULL: 8-16 random letters + ".exe" */
        const char *run_name;      /* its HKLM Run value name; NULL: 8-16 random letters */
};

/* The settings file the bootstrap reads (settings.ini): "KEY=value" lines with CRLF, for keys
 * and values given as parallel NULL-terminated arrays (NULL values are left out). cmd.exe reads
 * it with FOR /F, which never parses a value again, but the bootstrap expands values on its
 * command lines; so keys must be [A-Z][A-Z0-9_]* and values may hold only letters, digits and
 * . : / - _ + , @ (space is allowed too). -EINVAL after one line naming the key otherwise. */
int win_settings_render(const char *const *keys, const char *const *values, char **ret);

/* Write autounattend.xml and vmcloak/ (bootstrap.cmd, settings.ps1, settings.ini, netcfg.exe,
 * the agent) into the existing folder dir, e.g. the tree of a combined install ISO. All or
 * nothing: on failure what it wrote is removed. -EEXIST if dir already holds either name,
 * -ENOENT when a data file or agent binary is missing (the line says how to get it), -EINVAL
 * for parameters the answer file or settings refuse. */
int win_config_write_dir(const char *dir, const struct win_config *c);

/* The same tree as an ISO 9660 + Joliet + Rock Ridge image at out (not bootable; atomic, see
 * guest_iso_build). Errors as win_config_write_dir and guest_iso_build. */
int win_config_iso_build(const char *out, const struct win_config *c);
