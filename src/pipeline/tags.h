/* Cuckoo machine tags of images and snapshot VMs: what --tag gives and what the installed
 * dependencies of the catalog give (each entry's `tags`, deps/catalog.h). Cuckoo3 routes a task
 * that needs office, dotnet, pdfreader, ... only to a machine with that tag, and reads the tags
 * from machineinfo.json (machineries/cuckoo/machineries/modules/qemu.py,
 * vmcloak_info_to_machineconf), so a VM without them never gets such a task. */
#pragma once

struct dep_catalog;
struct dep_plan;
struct image;
struct pipeline;

/*
 * The tags the catalog gives for an image's `installed` column ("name:version,name:", VMCloak's
 * _installed): the union of the `tags` of each named entry (an alias's own and those of the entry
 * it stands for), added to the sorted set *set (core/tags.h). VMCloak's rule (vmcloak-spec.md
 * §8.2 step 11, §8.3 machine.tags): the union of the tags of every dependency recorded as
 * installed. A name the catalog does not know adds nothing (a debug line says so: an entry
 * removed from deps.d, or one of another VMCloak). The loader refused every tag that breaks
 * Cuckoo3's rule (core/validate.h NAME_MACHINE_TAG). 0 or -ENOMEM (one line).
 */
int dep_tags_of_installed(const struct dep_catalog *cat, const char *installed, char ***set);

/* The tags of the dependencies a resolved plan runs (deps/resolve.h; those --skip-unavailable
 * left out give none), added to the sorted set *set: snapshot's threemonpatch, run in each VM
 * rather than recorded on the image. 0 or -ENOMEM (no message). */
int dep_plan_tags(const struct dep_plan *plan, char ***set);

/*
 * install, after every step worked and the image was committed: img->tags becomes its stored
 * tags ∪ given (install's --tag) ∪ the catalog tags of everything its `installed` column names
 * (dep_tags_of_installed), so `vmcloak list images` shows them. cat may be NULL: the catalog is
 * then loaded (dep_catalog_load_default) when the column names anything. Only img in memory
 * changes; the caller writes the row (repo_image_update). 0; the catalog's own error (one line)
 * when it must be loaded and cannot; -ENOMEM.
 */
int image_tags_after_install(struct image *img, char *const *given, const struct dep_catalog *cat);

/*
 * snapshot: the tags of each VM made from img, as a sorted set without duplicates (*ret, never
 * NULL; strv_free): img's stored tags (init/install --tag, dependencies install recorded) ∪ the
 * catalog tags of its `installed` column (so VMCloak's images with installed dependencies get
 * theirs) ∪ given (snapshot's --tag). cat NULL: loaded when the column names anything, as
 * above. 0, the catalog's error, or -ENOMEM (one line each).
 */
int vm_tags_compute(const struct image *img, const struct dep_catalog *cat, char *const *given, char ***ret);

/*
 * `vmcloak install NAME --tag T` without dependencies: add tags to image name's row, with the
 * catalog tags of what it has installed, without booting it (software put in by hand, e.g.
 * through `vmcloak modify`). A frozen image (mode multiattach) takes them too: they go to the
 * VMs snapshot makes from now on, while those made before keep theirs (Cuckoo3 imported them).
 * -ENOENT, -EOPNOTSUPP (another machinery's image), the lock's and the catalog's errors (one line
 * each).
 */
int pipeline_image_add_tags(struct pipeline *pl, const char *name, char *const *tags);
