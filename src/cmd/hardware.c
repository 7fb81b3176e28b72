/* vmcloak list hardware: the hardware profiles (shipped and the user's hardware.d) as a table for
 * people, their names, or every field as JSON for scripts. */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "cloak/hardware.h"
#include "cmd/cmd.h"
#include "cmd/global.h"
#include "core/log.h"
#include "core/util.h"
#include "pipeline/imagehw.h"

static json_object *jstr(const char *s) { return s ? json_object_new_string(s) : NULL; }

/* A table of (key, value) pairs into a JSON object; a NULL string stays null (QEMU's default). */
struct jfield {
        const char *key;
        json_object *value;
};

static json_object *jobject(const struct jfield *f, size_t n) {
        json_object *o = json_object_new_object();
        for (size_t i = 0; i < n; i++)
                json_object_object_add(o, f[i].key, f[i].value);
        return o;
}
#define JOBJECT(...) jobject((const struct jfield[]){ __VA_ARGS__ }, \
                             sizeof((const struct jfield[]){ __VA_ARGS__ }) / sizeof(struct jfield))

static json_object *drives_json(const struct hw_drive *d, size_t n) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < n; i++)
                json_object_array_add(arr, JOBJECT({ "model", jstr(d[i].model) }, { "firmware", jstr(d[i].firmware) },
                                                   { "serial", jstr(d[i].serial) }));
        return arr;
}

/* PCI ids as the profile writes them ("0x1028"); 0: not set. */
static json_object *pci_id(uint16_t v) {
        char buf[8];
        snprintf(buf, sizeof buf, "0x%04x", v);
        return v ? json_object_new_string(buf) : NULL;
}

/* Every field, keyed as in the profile's YAML (cloak/hardware.h), plus where it came from. */
static json_object *profile_json(const struct hw_profile *p) {
        json_object *ouis = json_object_new_array();
        STRV_FOREACH(o, p->nic.ouis)
                json_object_array_add(ouis, json_object_new_string(*o));
        bool cpuid = p->cpu.family != 0;
        return JOBJECT(
                { "name", jstr(p->name) }, { "description", jstr(p->description) }, { "vendor", jstr(p->vendor) },
                { "form", jstr(hw_form_to_string(p->form)) }, { "year", json_object_new_int((int)p->year) },
                { "source", jstr(p->source) },
                { "bios", JOBJECT({ "vendor", jstr(p->bios.vendor) }, { "version", jstr(p->bios.version) },
                                  { "date", jstr(p->bios.date) }, { "release", jstr(p->bios.release) }) },
                { "system", JOBJECT({ "manufacturer", jstr(p->system.manufacturer) },
                                    { "product", jstr(p->system.product) }, { "version", jstr(p->system.version) },
                                    { "family", jstr(p->system.family) }, { "sku", jstr(p->system.sku) },
                                    { "serial", jstr(p->system.serial) }) },
                { "baseboard", JOBJECT({ "manufacturer", jstr(p->baseboard.manufacturer) },
                                       { "product", jstr(p->baseboard.product) },
                                       { "version", jstr(p->baseboard.version) },
                                       { "serial", jstr(p->baseboard.serial) }, { "asset", jstr(p->baseboard.asset) },
                                       { "location", jstr(p->baseboard.location) }) },
                { "chassis", JOBJECT({ "manufacturer", jstr(p->chassis.manufacturer) },
                                     { "type", json_object_new_int((int)p->chassis.type) },
                                     { "version", jstr(p->chassis.version) }, { "serial", jstr(p->chassis.serial) },
                                     { "asset", jstr(p->chassis.asset) }, { "sku", jstr(p->chassis.sku) }) },
                { "processor", JOBJECT({ "socket", jstr(p->processor.socket) },
                                       { "manufacturer", jstr(p->processor.manufacturer) },
                                       { "version", jstr(p->processor.version) },
                                       { "max_speed", json_object_new_int((int)p->processor.max_speed_mhz) },
                                       { "current_speed", json_object_new_int((int)p->processor.current_speed_mhz) },
                                       { "part", jstr(p->processor.part) }) },
                { "memory", JOBJECT({ "manufacturer", jstr(p->memory.manufacturer) }, { "part", jstr(p->memory.part) },
                                    { "speed", json_object_new_int((int)p->memory.speed_mts) },
                                    { "locator", jstr(p->memory.locator) }, { "bank", jstr(p->memory.bank) },
                                    { "serial", jstr(p->memory.serial) }) },
                { "cpu", JOBJECT({ "model", jstr(p->cpu.model) }, { "model_id", jstr(p->cpu.model_id) },
                                 { "family", cpuid ? json_object_new_int((int)p->cpu.family) : NULL },
                                 { "model_number", cpuid ? json_object_new_int((int)p->cpu.model_number) : NULL },
                                 { "stepping", cpuid ? json_object_new_int((int)p->cpu.stepping) : NULL }) },
                { "defaults", JOBJECT({ "cpus", json_object_new_int((int)p->cpus) },
                                      { "ram_mb", json_object_new_int((int)p->ram_mb) },
                                      { "disk_gb", json_object_new_int((int)p->disk_gb) }) },
                { "nic", JOBJECT({ "ouis", ouis }, { "model", jstr(p->nic.model) },
                                 { "subsystem_vendor", pci_id(p->nic.subsystem_vendor) },
                                 { "subsystem_device", pci_id(p->nic.subsystem_device) }) },
                { "disks", drives_json(p->disks, p->n_disks) }, { "optical", drives_json(p->optical, p->n_optical) },
                { "acpi", JOBJECT({ "oem_id", jstr(p->acpi.oem_id) }, { "oem_table_id", jstr(p->acpi.oem_table_id) }) },
                { "pointer", jstr(hw_pointer_to_string(p->pointer)) });
}

static int width_of(const struct hw_catalog *c, size_t field, const char *title) {
        size_t w = strlen(title);
        for (size_t i = 0; i < c->n_profiles; i++) {
                const char *s = field == 0 ? c->profiles[i].name : c->profiles[i].vendor;
                if (strlen(s) > w)
                        w = strlen(s);
        }
        return (int)w;
}

int cmd_list_hardware(bool name_only, char *const *files) {
        struct hw_catalog c;
        int r = files ? hw_catalog_load_files(files, &c) : hardware_catalog_load(&c);
        if (r < 0)
                return r;
        if (global.json) {
                /* --name-only --json: an array of the names, as list deps does. */
                json_object *arr = json_object_new_array();
                for (size_t i = 0; i < c.n_profiles; i++)
                        json_object_array_add(arr, name_only ? json_object_new_string(c.profiles[i].name)
                                                             : profile_json(&c.profiles[i]));
                printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
                json_object_put(arr);
        } else if (name_only) {
                for (size_t i = 0; i < c.n_profiles; i++)
                        printf("%s\n", c.profiles[i].name);
        } else {
                int wn = width_of(&c, 0, "NAME"), wv = width_of(&c, 1, "VENDOR");
                printf("%-*s %-*s %-10s %4s %s\n", wn, "NAME", wv, "VENDOR", "FORM", "YEAR", "DESCRIPTION");
                for (size_t i = 0; i < c.n_profiles; i++) {
                        const struct hw_profile *p = &c.profiles[i];
                        printf("%-*s %-*s %-10s %4u %s\n", wn, p->name, wv, p->vendor, hw_form_to_string(p->form),
                               p->year, p->description);
                }
        }
        hw_catalog_done(&c);
        return 0;
}
