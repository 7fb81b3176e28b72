/* vmcloak isodownload: fetch a known Windows ISO (or any file by URL) and verify its hash. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "core/download.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/util.h"
#include "guest/winiso.h"

static const struct optdef opts[] = {
        OPT_READ(0, "win7x64", ARG_FLAG, NULL, "Windows 7 Ultimate x64 (win7ultimate.iso, SHA-1 checked)"),
        OPT_READ(0, "win10x64", ARG_FLAG, NULL, "Windows 10 1703 English x64 (Win10_1703_English_x64.iso, SHA-1 checked)"),
        OPT_READ(0, "url", ARG_LIST, "URL", "Any other file (needs --sha256); more than one: mirrors, tried in order"),
        OPT_READ(0, "sha256", ARG_VALUE, "HASH", "The SHA-256 the --url file must have"),
        OPT_READ(0, "download-to", ARG_VALUE, "PATH", "Where to save it; a folder: the file name goes inside",
                 .def = "<home>/<file name>, as VMCloak does"),
        { NULL },
};

static const struct cmd_spec spec = {
        "isodownload", "(--win7x64|--win10x64|--url URL --sha256 HASH) [--download-to PATH]",
        "Download a Windows ISO that Cuckoo3's monitor supports, or any file, and verify its hash.",
        "The file is written to PATH.part, resumed there after a cut or Ctrl-C, and renamed to PATH\n"
        "only once its hash matched; a wrong file is deleted. A file already at PATH that matches is\n"
        "not downloaded again. Known ISOs and their hashes: windows/isos.json of the data folder\n"
        "($VMCLOAK_DATADIR). Proxies: http_proxy, https_proxy, no_proxy. The default destination is\n"
        "where VMCloak saves it (the home, not home/iso as VMCloak's help said). Exit 1 when the\n"
        "download fails, 2 on a usage error.",
        opts, 0, 0,
};

static const char *const known[] = { "win7x64", "win10x64" };

/* Set by check(): the catalog key or the URLs, and the hash. */
static const char *key;
static char sha256[SHA256_HEX_LEN + 1];

static int check(const struct args *a) {
        int sources = 0;
        for (size_t i = 0; i < ELEMENTSOF(known); i++)
                if (args_flag(a, known[i])) {
                        key = known[i];
                        sources++;
                }
        char **urls = args_list(a, "url");
        if (urls)
                sources++;
        if (sources != 1) {
                log_error("%s: pass exactly one of --win7x64, --win10x64 or --url URL --sha256 HASH",
                          sources ? "more than one source" : "nothing to download");
                return -EINVAL;
        }
        const char *h = args_get(a, "sha256");
        if (urls && !h) {
                log_error("--url needs --sha256 HASH: a download is only kept once its hash matched");
                return -EINVAL;
        }
        if (!urls && h) {
                log_error("--sha256 goes with --url; the hashes of --%s are in the catalog", key);
                return -EINVAL;
        }
        if (h && download_hash_parse(h, DOWNLOAD_HASH_SHA256, sha256, sizeof sha256) < 0) {
                log_error("--sha256 %s is not a SHA-256 (64 hex digits)", h);
                return -EINVAL;
        }
        if (urls && !args_get(a, "download-to")) {
                _cleanup_free_ char *base = download_url_basename(urls[0]);
                if (!base) {
                        log_error("--url %s has no file name at the end of its path; pass --download-to PATH", urls[0]);
                        return -EINVAL;
                }
        }
        return 0;
}

/* PATH as given, PATH/name for a folder, or home/name. */
static int destination(const char *to, const char *name, char **ret) {
        if (to) {
                if (isempty(name) && is_dir(to)) {
                        log_error("%s is a folder and the URL names no file; pass the file's path", to);
                        return -EINVAL;
                }
                *ret = is_dir(to) ? path_join(to, name) : strdup(to);
                return *ret ? 0 : log_oom();
        }
        int r = global_home();
        if (r < 0)
                return r;
        *ret = path_join(paths_home(), name);
        return *ret ? 0 : log_oom();
}

static int download_known(const char *to) {
        _cleanup_(winiso_catalog_done) struct winiso_catalog cat = { 0 };
        int r = winiso_catalog_load(NULL, &cat);
        if (r < 0)
                return r;
        const struct winiso *iso = winiso_find(&cat, key);
        if (!iso) {
                log_error("the Windows ISO catalog has no entry %s (check windows/isos.json of the data folder)", key);
                return -ENOENT;
        }
        _cleanup_free_ char *dest = NULL;
        r = destination(to, iso->filename, &dest);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **urls = winiso_urls(iso);
        _cleanup_free_ char *label = strdup_printf("the %s ISO (%s)", iso->key, strempty(iso->description));
        bool dead = winiso_all_dead(iso);
        _cleanup_free_ char *alt = strdup_printf(
                "%s%s%sget %s elsewhere and put it at %s (a file with the %s %s is taken as is)",
                dead ? "its hosts were reported dead on " : "", dead ? iso->urls[0].dead : "", dead ? ": " : "",
                iso->filename, dest, iso->sha256 ? "SHA-256" : "SHA-1", iso->sha256 ? iso->sha256 : iso->sha1);
        if (!urls || !label || !alt)
                return log_oom();
        if (dead)
                log_debug("the known URLs of %s were reported dead; trying them anyway", iso->key);
        struct download_request req = {
                .urls = (const char *const *)urls, .dest = dest, .sha256 = iso->sha256, .sha1 = iso->sha1,
                .size = iso->size, .label = label, .alternative = alt,
        };
        struct download_result res;
        r = download_file(&req, &res);
        if (r < 0)
                return r;
        if (!iso->sha256)
                log_info("its SHA-256 is %s", res.sha256);
        if (iso->cuckoo3)
                log_info("Cuckoo3: %s", iso->cuckoo3);
        printf("%s\n", dest);
        return 0;
}

static int download_url(char **urls, const char *to) {
        _cleanup_free_ char *base = download_url_basename(urls[0]);
        _cleanup_free_ char *dest = NULL;
        int r = destination(to, strempty(base), &dest);
        if (r < 0)
                return r;
        _cleanup_free_ char *label = strdup_printf("%s", base ? base : dest);
        _cleanup_free_ char *alt = strdup_printf(
                "check the URL, or download it elsewhere and put it at %s (a file with that SHA-256 is taken as is)",
                dest);
        if (!label || !alt)
                return log_oom();
        struct download_request req = {
                .urls = (const char *const *)urls, .dest = dest, .sha256 = sha256, .label = label, .alternative = alt,
        };
        r = download_file(&req, NULL);
        if (r < 0)
                return r;
        printf("%s\n", dest);
        return 0;
}

static int run(const struct cmd_env *env) {
        const char *to = args_get(env->args, "download-to");
        char **urls = args_list(env->args, "url");
        return exit_code_for(urls ? download_url(urls, to) : download_known(to));
}

const struct cmd_def cmd_isodownload = { .spec = &spec, .check = check, .run = run };
