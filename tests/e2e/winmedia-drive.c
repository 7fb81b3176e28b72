/* Test helper: the Windows media layer (guest/winsrc, wim, winedition, wincombine) from the
 * command line, for tests/e2e/winmedia.sh. "-" stands for a NULL argument.
 *   winmedia-drive kind SRC | editions SRC | pick SRC OS PRODUCT | productini SRC OS PRODUCT
 *                  read SRC PATH | exists SRC PATH | extract SRC PATH DEST | list SRC [DIR]
 *                  boot SRC | key OS EDITION KEY | default-key OS EDITION
 *                  combine SRC CONFIGDIR OUT
 * Exit 0 on success, 1 when the layer refused (its error line on stderr), 2 on bad usage,
 * 128 + the signal when Ctrl-C/SIGTERM stopped it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/interrupt.h"
#include "core/util.h"
#include "guest/wim.h"
#include "guest/winedition.h"
#include "guest/wincombine.h"
#include "guest/winsrc.h"

static const char *arg(const char *s) { return streq(s, "-") ? NULL : s; }

static void print_boot(const char *what, const struct win_boot_image *b) {
        if (!b->present) {
                printf("%s none\n", what);
                return;
        }
        printf("%s platform=0x%02X media=%u seg=%u load=%u lba=%u size=%llu path=%s\n", what, b->platform_id,
               b->media_type, b->load_segment, b->load_sectors, b->lba, (unsigned long long)b->size,
               b->path ? b->path : "-");
}

static int with_source(int argc, char **argv) {
        const char *cmd = argv[1];
        _cleanup_win_source_ struct win_source *s = NULL;
        if (win_source_open(argv[2], &s) < 0)
                return 1;
        if (streq(cmd, "kind")) {
                printf("%s %s\n", win_source_kind_name(win_source_get_kind(s)), strempty(win_source_label(s)));
                return 0;
        }
        if (streq(cmd, "editions") || streq(cmd, "pick")) {
                struct wim_image_list l;
                int r = wim_images_read(s, &l);
                if (r == -ENOENT)
                        fprintf(stderr, "%s: no sources/install.wim, install.esd or install.swm on it\n", argv[2]);
                if (r < 0)
                        return 1;
                int ret = 0;
                if (streq(cmd, "editions")) {
                        printf("wim\t%s\t%u/%u\n", l.path, l.part, l.total_parts);
                        for (size_t i = 0; i < l.n; i++) {
                                const struct wim_image *m = &l.images[i];
                                printf("%u\t%s\t%s\t%s\t%s\t%u\t%s\t%s\t%s\t%s\t%s\n", m->index, strempty(m->name),
                                       strempty(m->display_name), strempty(m->edition_id), strempty(m->arch), m->build,
                                       strempty(m->version), strempty(m->language), strempty(m->installation_type),
                                       strempty(m->flags), m->evaluation ? "eval" : "-");
                        }
                } else if (argc == 5) {
                        const struct wim_image *m = wim_image_pick(&l, arg(argv[3]), arg(argv[4]));
                        if (m)
                                printf("%u\n", m->index);
                        else
                                ret = 1;
                } else
                        ret = 2;
                wim_image_list_done(&l);
                return ret;
        }
        if (streq(cmd, "productini") && argc == 5) {
                _cleanup_free_ char *name = NULL;
                if (win_product_ini_pick(s, argv[3], arg(argv[4]), &name) < 0)
                        return 1;
                printf("%s\n", name);
                return 0;
        }
        if (streq(cmd, "read") && argc == 4) {
                _cleanup_free_ void *data = NULL;
                size_t len;
                if (win_source_read(s, argv[3], &data, &len, 1u << 30) < 0)
                        return 1;
                fwrite(data, 1, len, stdout);
                return 0;
        }
        if (streq(cmd, "exists") && argc == 4)
                return win_source_exists(s, argv[3]) ? 0 : 1;
        if (streq(cmd, "extract") && argc == 5)
                return win_source_extract(s, argv[3], argv[4]) < 0;
        if (streq(cmd, "list") && argc <= 4) {
                _cleanup_strv_free_ char **names = NULL;
                if (win_source_list(s, argc == 4 ? argv[3] : "", &names) < 0)
                        return 1;
                STRV_FOREACH(n, names)
                        printf("%s\n", *n);
                return 0;
        }
        if (streq(cmd, "boot")) {
                struct win_boot_images b;
                if (win_source_boot_images(s, &b) < 0)
                        return 1;
                print_boot("bios", &b.bios);
                print_boot("uefi", &b.uefi);
                printf("catalog %s\n", b.catalog_path ? b.catalog_path : "-");
                win_boot_images_done(&b);
                return 0;
        }
        if (streq(cmd, "combine") && argc == 5) {
                if (win_iso_combine(s, arg(argv[3]), argv[4], NULL) == 0)
                        return 0;
                return interrupted() ? 128 + interrupt_signal() : 1;   /* as vmcloak exits */
        }
        return 2;
}

int main(int argc, char **argv) {
        if (argc < 3)
                return 2;
        interrupt_install();
        if (streq(argv[1], "key") && argc == 5) {
                int r = win_key_check(argv[2], arg(argv[3]), argv[4]);
                if (r < 0)
                        return 1;
                printf("%s\n", r == WIN_KEY_MATCHES ? "matches" : "unchecked");
                return 0;
        }
        if (streq(argv[1], "default-key") && argc == 4) {
                const char *k = win_key_default(argv[2], arg(argv[3]));
                printf("%s\n", k ? k : "none");
                return 0;
        }
        return with_source(argc, argv);
}
