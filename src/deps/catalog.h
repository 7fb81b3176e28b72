/* The dependency catalog: VMCloak's dependencies (spec §11) as data files.
 *
 * Where entries come from: every `*.yaml` file in `<datadir>/deps/` (shipped, one dependency
 * per file, named after it), then every `*.yaml` in the user's `~/.vmcloak/deps.d/` — a user
 * entry with the name of a shipped one replaces it whole (the message of `list deps` says so), a
 * new name adds one. Recipes (`install --recommended`) are `<datadir>/deps/recipes.yaml` (and a
 * `recipes.yaml` in deps.d replaces an OS's list). Files a step uploads from the data folder
 * ("data:scripts/win10/optimize.ps1") resolve against the folder the entry came from.
 *
 * The file format (YAML 1.1, read with libyaml; docs/dependencies.md is the user's guide):
 *
 *   name: dotnet                      # [a-z0-9_-]+, the CLI name; must match the file name
 *   description: Microsoft .NET Framework
 *   os: [win7x64, win81x64, win10x64, win11x64]   # OS profiles it installs on; absent: all
 *   default: 4.7.2                    # version when none is asked for (absent: no version)
 *   recommended: true                 # VMCloak's legacy flag (shown by list deps)
 *   multiversion: true                # several versions may be installed side by side
 *   must_reboot: false                # reboot after it unless it is the last one
 *   tags: [dotnet]                    # Cuckoo machine tags it gives a VM
 *   depends: [wic, carootcert]        # name[:version], installed first (every OS)
 *   os_depends:                       # used only when depends is empty (VMCloak's rule)
 *     win7x64: [win7sp:sp1, kb:2819745]
 *   alias_of: dotnet                  # an alias shares the other entry's data (VMCloak's aliases)
 *   no_installer_os: [win10x64]       # OSes where no matching installer is fine (ie11)
 *   settings:                         # pkg.key=value on the command line (VMCloak's grammar)
 *     isopath: {required: true, description: Office ISO}
 *     activate: {default: "0"}
 *   installers:                       # VMCloak's exes: the FIRST entry matching version, os and
 *     - version: 4.7.2                #   arch is used (absent field: matches anything)
 *       os: win7x64
 *       arch: amd64                   # x86 | amd64
 *       filename: NDP472-KB4054530-x86-x64-AllOS-ENU.exe   # cache name; default: URL basename
 *       sha256: <64 hex>              # at least one of sha256, sha1
 *       sha1: <40 hex>
 *       size: 84873432                # optional, bytes
 *       urls:                         # tried in order
 *         - https://download.microsoft.com/...
 *         - {url: "https://cuckoo.sh/vmcloak/x.exe", dead: "cuckoo.sh went dark in 2023"}
 *   files:                            # extra files, always fetched (carootcert's certificates)
 *     - {filename: isrgrootx1.der, sha1: ..., urls: [...]}
 *   steps:                            # run in order; each may carry `when:`
 *     - upload: installer             # installer | file:NAME | data:PATH | setting:KEY
 *       to: 'C:\setup.exe'
 *     - run: 'C:\setup.exe /passive /norestart'
 *       ok: [0, 3010, 40008]          # exit codes that mean success (default [0]); 0x... allowed
 *       reboot: [3010]                # exit codes that mean "reboot before going on"
 *       timeout: 1800                 # seconds (default: the install's --timeout)
 *       ignore_failure: true          # log a failure, go on (disableservices)
 *       async: true                   # start it and go on (a first run); no exit code
 *     - script: data:scripts/win10/tweak.ps1   # uploaded, run with the profile's run_powershell (.ps1)
 *                                     #   or run_script (Windows: cmd /c; linux: /bin/sh)
 *     - powershell: |                 # inline PowerShell (Windows)
 *         Set-Service DPS -StartupType Disabled
 *     - registry:                     # reg add / reg delete, one command per value
 *         - {key: 'HKLM\SOFTWARE\Policies\Google\Update', value: UpdateDefault, type: REG_DWORD, data: 0}
 *         - {key: 'HKLM\...', value: tBuiltInPermList, delete: true}
 *     - extract: setting:zip          # a host zip, extracted by the agent into `to`
 *       to: '{{env:USERPROFILE}}\{{dir}}'
 *     - attach_iso: setting:isopath   # into the VM's CD-ROM drive (driver media change)
 *     - detach_iso: true
 *     - remove: 'C:\setup.exe'        # a guest file
 *     - sleep: 120                    # seconds
 *     - resolution: '{{version}}'       # WxH through the OS profile's set_resolution
 *     - reboot: true                  # reboot and wait for the agent
 *       when: {os: [win7x64, win7x86], arch: amd64, version: ["7*"], setting: "debug=1"}
 *
 * Templates in step strings (run, to, remove, resolution, powershell, registry key/value/data,
 * and the text of an upload with `template: true`): {{version}} (the chosen version), {{os}},
 * {{arch}}, {{installer}} (the installer's file name), {{file:NAME}} (likewise for files),
 * {{KEY}} for each setting (its value or default), {{env:NAME}} for a guest environment variable
 * read through the agent (USERPROFILE, TEMP, ...), {{agent}} (the guest path of the running
 * agent's executable). Single braces are plain text ({current} for bcdedit, PowerShell blocks).
 * An unknown {{name}} is refused when the catalog loads. `when` values are fnmatch(3) patterns;
 * a step runs only when every given condition matches. An `upload` may add `template: true`:
 * the file is read as UTF-8 text and its templates expanded before it is sent (Office's
 * config.xml with {{serialkey}}).
 *
 * Every problem in a file is refused when the catalog loads, with one line naming the file, the
 * line and the problem ("deps.d/foo.yaml:12: step 3: 'ok' must be a list of exit codes"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dep_url {
        char *url;
        char *dead;        /* why it is known not to work any more (shown, never tried); NULL: live */
};

/* One downloadable file: an installer (VMCloak's exe) or an extra file. */
struct dep_file {
        char *version;     /* installers: the version it installs; NULL: any */
        char *os;          /* an OS profile name; NULL: any */
        char *arch;        /* "x86" | "amd64"; NULL: any (VMCloak: x86 installers run on amd64 too) */
        char *filename;    /* the cache name (explicit, else the first URL's basename) */
        char *sha256;      /* lowercase hex or NULL */
        char *sha1;        /* lowercase hex or NULL; at least one of the two is set */
        uint64_t size;     /* bytes; 0: unknown */
        struct dep_url *urls;
        size_t n_urls;
        int line;          /* where it is written, for messages */
};

enum dep_step_kind {
        DEP_STEP_UPLOAD,      /* src -> to */
        DEP_STEP_RUN,         /* text: a command line */
        DEP_STEP_SCRIPT,      /* src: a script uploaded and run with the profile's run_script */
        DEP_STEP_POWERSHELL,  /* text: inline PowerShell */
        DEP_STEP_REGISTRY,    /* regs */
        DEP_STEP_EXTRACT,     /* src (a host zip) -> to (a guest folder) */
        DEP_STEP_ATTACH_ISO,  /* src (a host ISO) */
        DEP_STEP_DETACH_ISO,
        DEP_STEP_REMOVE,      /* text: a guest path */
        DEP_STEP_SLEEP,       /* seconds */
        DEP_STEP_RESOLUTION,  /* text: WxH */
        DEP_STEP_REBOOT,
};

/* A host file a step uses: "installer", "file:NAME", "data:PATH", "setting:KEY". */
enum dep_src_kind { DEP_SRC_INSTALLER, DEP_SRC_FILE, DEP_SRC_DATA, DEP_SRC_SETTING };

struct dep_src {
        enum dep_src_kind kind;
        char *name;        /* FILE: the filename; DATA: the path under the entry's folder; SETTING: key */
};

struct dep_reg {
        char *key;         /* "HKLM\\SOFTWARE\\..." (HKLM, HKCU, HKCR, HKU, HKCC) */
        char *value;       /* NULL: the key's default value */
        char *type;        /* REG_SZ, REG_DWORD, REG_QWORD, REG_BINARY, REG_EXPAND_SZ, REG_MULTI_SZ */
        char *data;
        bool delete;       /* reg delete the value (or the key when value is NULL) */
};

/* A step runs only when each condition given matches (fnmatch patterns); all NULL: always. */
struct dep_when {
        char **os;         /* NULL-terminated or NULL */
        char **arch;
        char **version;
        char *setting_key; /* "debug=1": the setting's value (or default) must match the pattern */
        char *setting_value;
};

struct dep_step {
        enum dep_step_kind kind;
        int line;
        struct dep_src src;        /* UPLOAD, SCRIPT, EXTRACT, ATTACH_ISO */
        char *to;                  /* UPLOAD, EXTRACT: guest path (template) */
        bool template;             /* UPLOAD: expand {{...}} in the file's text before sending */
        char *text;                /* RUN, POWERSHELL, REMOVE, RESOLUTION (template) */
        unsigned seconds;          /* SLEEP */
        int *ok;                   /* RUN, SCRIPT, POWERSHELL: exit codes of success; default {0} (none
                                    * for an async run). Windows' DWORD codes above INT_MAX
                                    * (2149842967 = 0x80240017) are kept as the same 32 bits: the
                                    * agent reports GetExitCodeProcess() as a signed int. */
        size_t n_ok;
        int *reboot;               /* exit codes after which the guest is rebooted */
        size_t n_reboot;
        unsigned timeout_s;        /* 0: the install's timeout */
        bool ignore_failure;
        bool async;                /* RUN: started, not waited for */
        struct dep_reg *regs;      /* REGISTRY */
        size_t n_regs;
        struct dep_when when;
};

struct dep_setting {
        char *key;
        char *default_value;       /* NULL: none */
        char *description;
        bool required;
};

struct dep_os_depends {
        char *os;
        char **depends;            /* NULL-terminated name[:version] */
};

struct dependency {
        char *name;
        char *description;
        char **os;                 /* NULL-terminated; NULL: every OS */
        char *default_version;     /* NULL: none */
        bool recommended, multiversion, must_reboot;
        char **tags;               /* NULL-terminated (maybe empty) */
        char **depends;            /* NULL-terminated name[:version] or NULL */
        struct dep_os_depends *os_depends;
        size_t n_os_depends;
        char *alias_of;            /* NULL, or the entry whose data this one shares: an alias has its own
                                    * name, description, recommended; os, default_version, multiversion,
                                    * must_reboot and tags are copies of its target's; the rest (depends,
                                    * settings, installers, files, steps, dir) is read through
                                    * dep_catalog_resolve_alias() */
        char **no_installer_os;
        struct dep_setting *settings;
        size_t n_settings;
        struct dep_file *installers;
        size_t n_installers;
        struct dep_file *files;
        size_t n_files;
        struct dep_step *steps;
        size_t n_steps;
        char *source;              /* the file it was read from */
        char *dir;                 /* the folder data: paths resolve against */
        bool user;                 /* from deps.d */
        bool overrides;            /* a user entry that replaced a shipped one */
        int line;
};

struct dep_recipe {
        char *os;
        char **items;              /* NULL-terminated name[:version], in install order */
};

struct dep_catalog {
        struct dependency **deps;  /* sorted by name */
        size_t n;
        struct dep_recipe *recipes;
        size_t n_recipes;
};

/*
 * Load the shipped entries from `<datadir>/deps` and the user's from userdir (may be NULL or
 * missing: none).
 * Out: 0 and *ret (free with dep_catalog_free). -EINVAL after one line "FILE:LINE: problem" for
 * the first bad entry (syntax, unknown key, wrong type, a name unlike its file, an unknown
 * template name, a file without hash, a depends naming no entry, an alias of no entry, one file
 * name with two hashes in the catalog: the cache keeps files by name); -ENOENT when
 * `<datadir>/deps` is missing (a broken install: the line says which folder); -ENOTDIR when
 * userdir is no folder; -ENOMEM. `recipes.yaml` in either folder is the recipes, not an entry;
 * files starting with '.' are skipped.
 */
int dep_catalog_load(const char *datadir, const char *userdir, struct dep_catalog **ret);
/* The same with vmcloak's data folder ($VMCLOAK_DATADIR, the source's data/ when run from the
 * build tree, or the installed one: paths_data_file()) and ~/.vmcloak/deps.d (paths.h; none
 * when paths_init() was not called). */
int dep_catalog_load_default(struct dep_catalog **ret);
void dep_catalog_free(struct dep_catalog *c);

/* By name; NULL when absent. */
const struct dependency *dep_catalog_find(const struct dep_catalog *c, const char *name);
/* The entry whose data an alias uses (itself when not an alias). */
const struct dependency *dep_catalog_resolve_alias(const struct dep_catalog *c, const struct dependency *d);
/* The recipe for an OS; NULL when it has none. */
const struct dep_recipe *dep_catalog_recipe(const struct dep_catalog *c, const char *os);

/* VMCloak's installer choice (spec §11.1 step 3): the first installer whose version (when both
 * it and the wanted version are set; version NULL: d's default), os and arch match. d must not
 * be an alias (resolve it first). arch x86 entries match an amd64 guest
 * too only when the entry has no arch. Out: 0 and *ret, or *ret NULL and 0 when the entry has no
 * installers or os is in no_installer_os; -ENOENT when none matches (no message: callers say
 * which versions exist with dep_versions()). */
int dep_pick_installer(const struct dependency *d, const char *version, const char *os, const char *arch,
                       const struct dep_file **ret);
/* The versions an entry knows (from its installers, in file order, no duplicates), NULL-terminated;
 * NULL on -ENOMEM. */
char **dep_versions(const struct dependency *d);
/* The sub-dependencies installed before d on os (VMCloak's rule, spec §7.1 step 2: `depends` for
 * every OS, else `os_depends[os]`; os NULL: `depends` only). NULL-terminated, or NULL for none. */
char *const *dep_sub_depends(const struct dependency *d, const char *os);
/* A step kind as the files write it ("upload", "run", ...). */
const char *dep_step_kind_name(enum dep_step_kind kind);
/* Whether a dependency installs on an OS (its os list). */
bool dep_supports_os(const struct dependency *d, const char *os);

/* Values for templates: parallel NULL-terminated keys/values ("version", "os", "arch",
 * "installer", "file:NAME", setting keys, "agent"), plus a callback for {{env:NAME}} (may be
 * NULL: then env templates fail with -ENOENT). */
struct dep_vars {
        const char *const *keys;
        const char *const *values;
        int (*getenv)(void *userdata, const char *name, char **ret);  /* 0 and *ret malloc'd */
        void *userdata;
};

/* Expand {{name}} in tmpl (the word between the braces exactly, no spaces trimmed; "{{{x}}}" is
 * "{" + x's value + "}"; a "{{" without "}}" stays text). Out: 0 and *ret (malloc'd); -ENOENT
 * after one line naming the template word that has no value; the getenv callback's error as it
 * returned it; -ENOMEM. */
int dep_template_expand(const char *tmpl, const struct dep_vars *vars, char **ret);
