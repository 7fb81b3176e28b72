/* Windows answer files (autounattend.xml): rendered with libxml2 from the per-OS data in
 * data/windows/<os>.xml, checked against the structure rules every public sample follows, and
 * the Windows computer and user name rules. */
#pragma once

#include <stdbool.h>

struct unattend_params {
        const char *os;            /* "win7x64" | "win81x64" | "win10x64" | "win11x64": data/windows/<os>.xml */
        const char *arch;          /* "amd64" | "x86": every component's processorArchitecture */
        bool uefi;                 /* GPT: EFI 100 MB + MSR 16 MB + Windows (partition 3);
                                    * else MBR: System 300 MB active + Windows (partition 2) */
        bool bypass_checks;        /* win11 without TPM/Secure Boot: LabConfig BypassTPMCheck,
                                    * BypassSecureBootCheck, BypassRAMCheck, BypassCPUCheck */
        const char *image_name;    /* /IMAGE/NAME of the chosen edition, or NULL to use image_index */
        unsigned image_index;      /* /IMAGE/INDEX (1-based) when image_name is NULL */
        const char *product_key;   /* NULL: none (evaluation media); else 5 groups of 5 [A-Z0-9] */
        const char *user;          /* the account that logs on automatically (VMCloak: Administrator) */
        const char *password;      /* its password (VMCloak: cuckoo); at most 127 characters */
        const char *oobe_account;  /* with user "Administrator": the extra local account OOBE wants
                                    * (VMCloak: random letters); NULL: random 8-12 letters */
        const char *computer_name; /* NetBIOS rules (win_computer_name_check) */
        const char *ui_language;   /* "en-US": Setup's and Windows' display language (one the image has) */
        const char *user_locale;   /* system and user locale (formats); NULL: ui_language */
        const char *input_locale;  /* keyboard: "0409:00000409", or a name of data/windows/locales.xml ("de-DE") */
        const char *timezone;      /* Windows time zone id, "W. Europe Standard Time" */
        unsigned width, height;    /* display (win7/win81 answer files); 0: Windows' default */
        const char *first_logon_command; /* NULL: the OS data's default, which scans drive letters
                                          * D..Z for \vmcloak\bootstrap.cmd and calls it (the config
                                          * CD's letter depends on the drives before it) */
};

/*
 * The answer file for p as UTF-8 XML text in *xml (free()). Values only ever become XML text
 * or attribute nodes through libxml2, so any character is escaped as XML needs; passwords are
 * written as Windows' PlainText=false form (base64 of UTF-16LE password + "Password" or
 * "AdministratorPassword", windows-verification 4). The result passes unattend_check().
 * Errors (one line printed): -EINVAL for a parameter that breaks a rule (named, with the
 * rule), -ENOENT when the OS has no data file, -EIO for unreadable data, -ENOMEM.
 */
int unattend_render(const struct unattend_params *p, char **xml);

/*
 * Check an answer file against the structure rules of windows-verification 4: root `unattend`
 * in urn:schemas-microsoft-com:unattend; `settings` only with a known pass, each pass once;
 * every `component` with name, processorArchitecture (amd64/x86/wow64), publicKeyToken
 * 31bf3856ad364e35, language neutral and versionScope nonSxS, and no component twice in a
 * pass; within each command list (RunSynchronous, FirstLogonCommands, CreatePartitions,
 * ModifyPartitions) integer Orders, unique; RunSynchronousCommand has a Path and
 * SynchronousCommand a CommandLine; list items carry wcm:action; ImageInstall's InstallTo
 * names a partition that the same disk creates and formats NTFS; ComputerName follows NetBIOS
 * rules. Returns 0, -EINVAL with the first problem in *problem (free(); NULL allowed) for a
 * file that breaks a rule or is not well-formed XML, or -ENOMEM. Prints nothing.
 */
int unattend_check(const char *xml, char **problem);

/* A realistic computer name for os, from the OS data's pattern: "DESKTOP-" + 7 upper-case
 * letters and digits (win10/11, what Windows itself picks), "<NAME>-PC" (win7/8.1). NULL
 * after one printed line (unknown OS, unreadable data, no memory). */
char *win_computer_name_random(const char *os);

/* 0 or -EINVAL after one line: the NetBIOS rule of core/validate (NAME_WINDOWS_HOSTNAME). */
int win_computer_name_check(const char *name);

/* 0 or -EINVAL after one line. Windows local account names (Microsoft's "user name" rules, as
 * dockur enforces them): 1 to 20 characters, none of "/\[]:;|=,+*?<>@ or control characters,
 * not only dots and spaces, not ending in '.', not a reserved account (Guest, DefaultAccount,
 * WDAGUtilityAccount, SYSTEM...). "Administrator" is allowed: it selects the built-in account. */
int win_user_name_check(const char *name);

/* 0 or -EINVAL after one line: a language tag as Windows names its locales ("en-US", "sr-Latn-RS"). */
int win_locale_check(const char *tag);
/* 0, or a negative errno after one line: a keyboard as LCID:KLID ("0407:00000407") or a name of
 * data/windows/locales.xml ("de-DE"); -EINVAL lists the names it knows. */
int win_keyboard_check(const char *v);
/* 0 or -EINVAL after one line: the syntax of a Windows time zone id (letters, digits, spaces,
 * ().+-:_; at most 64). Whether Windows knows the zone is only known to Windows (tzutil /l). */
int win_timezone_check(const char *tz);
