/* An image's hardware profile and identity, loaded again for each machine that boots it. */
#include "pipeline/imagehw.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "core/download.h"
#include "core/log.h"
#include "core/paths.h"
#include "core/repo.h"
#include "core/util.h"
#include "machine/def.h"

int hardware_catalog_load(struct hw_catalog *ret) {
        _cleanup_free_ char *user = paths_home() ? paths_hardware_d() : NULL;
        if (paths_home() && !user)
                return log_oom();
        return hw_catalog_load(user, ret);
}

/* The SHA-256 of p's file as it is now (the identity keeps the one it was drawn with). */
static int profile_fingerprint(const struct hw_profile *p, char ret[SHA256_HEX_LEN + 1]) {
        char sha1[SHA1_HEX_LEN + 1];
        return download_hash_file(p->source, ret, sha1);
}

int hardware_identity_new(const struct hw_profile *p, const struct hw_identity *keep, struct hw_identity *ret,
                          char **ret_json) {
        char sha[SHA256_HEX_LEN + 1];
        int r = profile_fingerprint(p, sha);
        if (r < 0)
                return r;
        r = hw_identity_new(p, keep, ret);
        if (r == 0 && !(ret->profile_sha256 = strdup(sha)))
                r = -ENOMEM;
        if (r == 0)
                r = hw_identity_to_json(ret, ret_json);
        if (r < 0)
                hw_identity_done(ret);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                log_error("hardware profile %s (%s) gives no machine identity: %s; check it with 'vmcloak list hardware "
                          "--file %s'", p->name, p->source, strerror(-r), p->source);
        return r;
}

/* The fingerprint in an identity's JSON, NULL when it has none (or is no JSON: identity_read
 * says so where it matters). */
static char *identity_fingerprint(const char *json) {
        json_object *o = json ? json_tokener_parse(json) : NULL, *v = NULL;
        char *sha = NULL;
        if (o && json_object_object_get_ex(o, "profile_sha256", &v) && json_object_is_type(v, json_type_string))
                sha = strdup(json_object_get_string(v));
        json_object_put(o);
        return sha;
}

int image_hardware_changed(const struct image *img, const struct hw_profile *p) {
        static char *warned;          /* the image already warned about: once per command */
        _cleanup_free_ char *then = identity_fingerprint(img->identity);
        if (!then)
                return 0;
        char now[SHA256_HEX_LEN + 1];
        if (profile_fingerprint(p, now) < 0)
                return 0;             /* hw_catalog_load read it a moment ago; said why above */
        if (streq(then, now))
                return 0;
        if (!streq_ptr(warned, img->name)) {
                log_warning("hardware profile %s changed since image %s was made (%s): its VMs get the new values, "
                            "and Windows may see new devices; put the old file back to keep the image's machine",
                            p->name, img->name, p->source);
                free(warned);
                warned = strdup(img->name);
        }
        return 1;
}

int image_hardware_find(const struct image *img, const struct hw_catalog *cat, const struct hw_profile **ret) {
        *ret = NULL;
        if (!img->hardware)
                return 0;
        *ret = hw_catalog_find(cat, img->hardware);
        if (*ret) {
                (void)image_hardware_changed(img, *ret);
                return 0;
        }
        _cleanup_free_ char *shipped = paths_data_file("hardware");
        _cleanup_free_ char *user = paths_hardware_d();
        if (!shipped || !user)
                return log_oom();
        log_error("image %s was made with hardware profile %s, which is in neither %s nor %s: put its YAML file back",
                  img->name, img->hardware, shipped, user);
        return -ENOENT;
}

/* The identity a machine of img boots with: text, or the image's own. */
static int identity_read(const struct image *img, const char *text, struct hw_identity *ret) {
        if (!text) {
                log_error("image %s has hardware profile %s but no identity in the repository (a row another tool "
                          "changed); make the image again with init --hardware %s", img->name, img->hardware,
                          img->hardware);
                return -EINVAL;
        }
        int r = hw_identity_from_json(text, ret);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                log_error("image %s: the hardware identity in the repository cannot be read (see above); make the "
                          "image again with init --hardware %s", img->name, img->hardware);
        return r;
}

/* The catalog, img's profile in it and the identity text read: d NULL only checks. */
static int load_and_apply(const struct image *img, const char *identity_json, struct vm_def *d) {
        _cleanup_(hw_catalog_done) struct hw_catalog cat = { 0 };
        const struct hw_profile *p;
        int r = hardware_catalog_load(&cat);
        if (r == 0)
                r = image_hardware_find(img, &cat, &p);
        if (r < 0)
                return r;
        struct hw_identity id = { 0 };
        r = identity_read(img, identity_json ? identity_json : img->identity, &id);
        if (r == 0 && d && hw_apply(p, &id, d) < 0)
                r = log_oom();
        hw_identity_done(&id);
        return r;
}

int image_hardware_check(const struct image *img) { return img->hardware ? load_and_apply(img, NULL, NULL) : 0; }

int image_hardware_apply(const struct image *img, const char *identity_json, struct vm_def *d) {
        if (!img->hardware)
                return 0;
        int r = load_and_apply(img, identity_json, d);
        if (r == 0 && img->mac && free_and_strdup(&d->nic.mac, img->mac) < 0)
                r = log_oom();
        return r;
}

int image_identity_set_mac(struct image *img, const char *mac) {
        if (!img->hardware || !img->identity)
                return 0;
        struct hw_identity id = { 0 };
        int r = identity_read(img, img->identity, &id);
        char *json = NULL;
        if (r == 0 && free_and_strdup(&id.mac, mac) < 0)
                r = log_oom();
        if (r == 0 && (r = hw_identity_to_json(&id, &json)) == 0) {
                free(img->identity);
                img->identity = json;
        }
        hw_identity_done(&id);
        return r;
}
