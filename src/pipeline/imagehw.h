/* The hardware profile an image was made with (issue 13), found again for every run of it. */
#pragma once

#include "cloak/hardware.h"

struct image;
struct vm_def;

/* The catalog as every command sees it: the shipped profiles and the user's <home>/hardware.d
 * (hw_catalog_load; its errors, each after one line). */
int hardware_catalog_load(struct hw_catalog *ret);

/* A new machine of profile p (hw_identity_new with keep: NULL for an image, the image's identity
 * for a snapshot VM) into *ret, and as the JSON the repository keeps into *ret_json; the
 * identity records the SHA-256 of p's file (profile_sha256) for image_hardware_changed. 0, or
 * -EINVAL / -ENOMEM / the errno of reading p's file after one line (*ret then empty). */
int hardware_identity_new(const struct hw_profile *p, const struct hw_identity *keep, struct hw_identity *ret,
                          char **ret_json);

/*
 * The profile of image img in cat: *ret NULL for a row without one (VMCloak's rows, images made
 * without --hardware: QEMU's own machine, as VMCloak ran it). A profile no longer in the catalog
 * is refused before anything boots, with one line ("image X was made with hardware profile Y,
 * which is in neither <datadir>/hardware nor <home>/hardware.d: put its YAML file back") and
 * -ENOENT: running it with other hardware would show Windows new devices and a VM another
 * machine than its start_args.
 */
int image_hardware_find(const struct image *img, const struct hw_catalog *cat, const struct hw_profile **ret);

/*
 * Whether p's file differs from the one img's identity was drawn with (its profile_sha256): 1
 * after one warning line (once per image and process: every VM of a snapshot run asks) saying
 * that the image's VMs get the new values and Windows may see new devices; 0 when it is the
 * same, or the identity predates the fingerprint (nothing to compare), or the file cannot be
 * read now. image_hardware_find asks it: a profile edited after init changes the machine an
 * installed Windows sees, which nothing else would show.
 */
int image_hardware_changed(const struct image *img, const struct hw_profile *p);

/* Load the catalog and find img's profile (image_hardware_find), and read its identity: what
 * install, modify and snapshot check before anything starts. 0 also for an image without a
 * profile; -ENOENT, -EINVAL (an identity that is no hw_identity JSON: one line), -ENOMEM. */
int image_hardware_check(const struct image *img);

/*
 * Make d the image's hardware: when img has a profile, hw_apply it with the identity identity_json
 * (a snapshot VM's own; NULL: the image's, image.identity, which init, install and modify boot
 * with), after which the row's MAC stays the NIC's (init stored the identity's unless --mac gave
 * one; a snapshot VM's row MAC is its identity's). A NIC model d has already (the OS profile's
 * choice) is kept, as hw_apply does. Nothing changes for an image without a profile. 0, or the
 * errors of image_hardware_check.
 */
int image_hardware_apply(const struct image *img, const char *identity_json, struct vm_def *d);

/* Give img's identity (image.identity, when it has a profile) the MAC mac, as a clone does with
 * its own MAC: the identity's mac is what hw_apply gives the NIC and what the row says, so the
 * two stay one. Nothing for an image without a profile. 0, or identity_read's -EINVAL after one
 * line, -ENOMEM. */
int image_identity_set_mac(struct image *img, const char *mac);
