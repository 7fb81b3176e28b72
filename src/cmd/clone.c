/* vmcloak clone: copy an image's disk and row under a new name (with its own MAC). */
#include <errno.h>
#include <string.h>

#include "cmd/args.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "core/interrupt.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/random.h"
#include "core/repo.h"
#include "core/util.h"
#include "core/validate.h"

static const struct cmd_spec spec = {
        "clone", "NAME OUTNAME", "Copy image NAME to a new image OUTNAME.",
        "The copy keeps the guest's IP address (it is configured inside the guest) but gets a new\n"
        "MAC address, so the two images never share one.", NULL, 2, 2,
};

int cmd_clone(int argc, char **argv) {
        struct args a;
        int r = args_parse(&a, &spec, argc, argv);
        if (r != 0)
                return r > 0 ? 0 : EXIT_USAGE;
        const char *name = a.pos[0], *out = a.pos[1];
        args_free(&a);
        if (vcheck_name(name, "image name") < 0 || vcheck_name(out, "image name") < 0)
                return EXIT_USAGE;
        struct repo *repo;
        if (global_repo(&repo, true) < 0)
                return 1;
        _cleanup_image_ struct image *img = NULL;
        r = repo_image_get(repo, name, &img);
        if (r == -ENOENT) {
                log_error("no image named '%s' (see 'vmcloak list images')", name);
                return 1;
        }
        if (r < 0)
                return 1;
        _cleanup_image_ struct image *exists = NULL;
        if (repo_image_get(repo, out, &exists) == 0) {
                log_error("an image named '%s' already exists; pick another name or 'vmcloak delimg %s'", out, out);
                return 1;
        }
        _cleanup_free_ char *dst = paths_image_disk(out);
        if (!dst)
                return 1;
        if (path_exists(dst)) {
                log_error("%s already exists but no image row names it; move it away first", dst);
                return 1;
        }
        log_info("Copying %s to %s ...", img->path, dst);
        r = copy_file(img->path, dst, 0644);
        if (r < 0) {
                log_error_errno(r, "cannot copy %s to %s: %m", img->path, dst);
                return 1;
        }
        if (interrupted()) {
                unlink(dst);
                return 1;
        }
        uint8_t mac[6];
        char macs[18];
        random_vendor_mac(mac);
        format_mac(mac, macs);
        if (free_and_strdup(&img->name, out) < 0 || free_and_strdup(&img->path, dst) < 0 ||
            free_and_strdup(&img->mode, "normal") < 0 || free_and_strdup(&img->mac, macs) < 0 ||
            free_and_strdup(&img->created_at, NULL) < 0) {
                unlink(dst);
                return log_error_errno(-ENOMEM, "out of memory"), 1;
        }
        r = repo_image_insert(repo, img);
        if (r < 0) {
                if (r == -EEXIST)
                        log_error("an image named '%s' was created meanwhile; nothing copied", out);
                unlink(dst);
                return 1;
        }
        log_info("Cloned image %s to %s (MAC %s)", name, out, macs);
        return 0;
}
