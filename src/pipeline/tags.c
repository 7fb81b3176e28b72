/* Machine tags: --tag values and the installed dependencies' catalog tags, as sets. */
#include "pipeline/tags.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/lock.h"
#include "core/log.h"
#include "core/repo.h"
#include "core/tags.h"
#include "core/util.h"
#include "deps/catalog.h"
#include "deps/resolve.h"
#include "pipeline/image.h"
#include "pipeline/pipeline.h"

int dep_tags_of_installed(const struct dep_catalog *cat, const char *installed, char ***set) {
        /* Its "name:version" items; a name installed in two versions is looked up twice, and the
         * set keeps its tags once. */
        _cleanup_strv_free_ char **items = NULL;
        if (tags_parse(installed, &items) < 0)
                return log_oom();
        STRV_FOREACH(i, items) {
                (*i)[strcspn(*i, ":")] = 0;
                const struct dependency *d = dep_catalog_find(cat, *i);
                if (!d) {
                        log_debug("installed dependency %s is not in the catalog: it gives no machine tags", *i);
                        continue;
                }
                /* VMCloak's aliases are subclasses: they carry the tags of the class they alias (the
                 * loader copies them; the target's are read too, for an entry made by hand). */
                const struct dependency *base = dep_catalog_resolve_alias(cat, d);
                if (tags_add_all(set, d->tags) < 0 || (base && tags_add_all(set, base->tags) < 0))
                        return log_oom();
        }
        return 0;
}

int dep_plan_tags(const struct dep_plan *plan, char ***set) {
        for (size_t i = 0; i < plan->n; i++) {
                const struct dep_plan_item *it = &plan->items[i];
                if (it->kind == DEP_PLAN_DEP && !it->left_out && it->dep) {
                        int r = tags_add_all(set, it->dep->tags);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* stored ∪ catalog tags of installed ∪ given, into *ret. */
static int tags_union(const char *stored, const char *installed, const struct dep_catalog *cat,
                      char *const *given, char ***ret) {
        _cleanup_strv_free_ char **set = NULL;
        if (tags_parse(stored, &set) < 0 || tags_add_all(&set, given) < 0)
                return log_oom();
        /* The catalog is read only when something is installed: an image without dependencies
         * (the linux guest's) does not depend on the catalog loading. */
        bool any = installed && installed[strspn(installed, ",")];
        struct dep_catalog *loaded = NULL;
        int r = 0;
        if (any && !cat) {
                r = dep_catalog_load_default(&loaded);
                cat = loaded;
        }
        if (r == 0 && any)
                r = dep_tags_of_installed(cat, installed, &set);
        if (loaded)
                dep_catalog_free(loaded);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(set);
        return 0;
}

int image_tags_after_install(struct image *img, char *const *given, const struct dep_catalog *cat) {
        _cleanup_strv_free_ char **set = NULL;
        int r = tags_union(img->tags, img->installed, cat, given, &set);
        if (r < 0)
                return r;
        char *text;
        if (tags_format(set, &text) < 0)
                return log_oom();
        free(img->tags);
        img->tags = text;
        return 0;
}

int vm_tags_compute(const struct image *img, const struct dep_catalog *cat, char *const *given, char ***ret) {
        return tags_union(img->tags, img->installed, cat, given, ret);
}

int pipeline_image_add_tags(struct pipeline *pl, const char *name, char *const *tags) {
        _cleanup_name_lock_ struct name_lock *lock = NULL;
        int r = name_lock_or_complain(LOCK_IMAGE, name, LOCK_EXCLUSIVE, "in use", &lock);
        if (r < 0)
                return r;
        _cleanup_image_ struct image *img = NULL;
        if ((r = image_get(pl->repo, name, &img)) < 0)
                return r;
        if ((r = image_refuse_foreign("image", name, img->vm, "its row belongs to that machinery")) < 0)
                return r;
        if ((r = image_tags_after_install(img, tags, NULL)) < 0 || (r = repo_image_update(pl->repo, img)) < 0)
                return r;
        log_info("Image %s has the machine tags %s%s", name, strempty(img->tags),
                 img->mode && streq(img->mode, "multiattach")
                         ? " (for the VMs snapshot makes from now on; those made before keep theirs)"
                         : "");
        return 0;
}
