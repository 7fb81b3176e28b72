/* The JSON documents commands print with --json (docs/json.md): the rows as objects, one printer. */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

struct image;
struct snapshot;

/* A string, or JSON null for NULL. */
json_object *json_str_or_null(const char *s);

/* An image row as `list images --json` and `init --json` show it (docs/json.md "Image"): every
 * column, installed as [{name, version}], tags as a list, JSON columns parsed. New object. */
json_object *image_to_json(const struct image *m);

/* The image's network mode as list and --json show it: as stored; NULL (a VMCloak row) is
 * "bridge" for the platforms vmcloak builds (qemu, libvirt: VMCloak bridged those too) and
 * unknown (NULL here; "-" in the table, null in JSON) for another platform's row (virtualbox). */
const char *image_netmode_shown(const struct image *m);

/* A snapshot row as `list snapshots --json` and `snapshot --json` show it (docs/json.md
 * "Snapshot"). New object. */
json_object *snapshot_to_json(const struct snapshot *s);

/* "name:version" or "name" strings (VMCloak's installed record, split at ',' first) as
 * [{"name": .., "version": .. or null}]. pairs may be NULL (an empty list). New array. */
json_object *dep_pairs_to_json(char *const *pairs);

/* Print o on stdout as one pretty document and a newline, flushed, and release it.
 * 0, or -EIO (stdout closed or full) after one line. */
int json_print_put(json_object *o);

/* Image NAME's row read back from repo as image_to_json() (the result of init and install). NULL
 * after one line when it cannot be read. */
struct repo;
json_object *image_json_by_name(struct repo *repo, const char *name);

/* Seconds as a JSON number with 3 decimals (12.345). */
json_object *json_seconds(double s);
/* Seconds since t0 (now_ms()), to the millisecond, as a JSON number. */
json_object *json_seconds_since(int64_t t0);
