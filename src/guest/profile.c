/* The OS profile table, lookup by name, and {key} template expansion for guest commands. */
#include "guest/profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/util.h"

#include "guest/windows.h"

extern const struct os_profile os_profile_linux;

static const struct os_profile *const profiles[] = {
        &os_profile_linux, &os_profile_win7x64, &os_profile_win81x64, &os_profile_win10x64, &os_profile_win11x64,
        NULL,
};

const struct os_profile *const *os_profiles(void) { return profiles; }

const struct os_profile *os_profile_find(const char *name) {
        if (!name)
                return NULL;
        for (size_t i = 0; profiles[i]; i++)
                if (streq(profiles[i]->name, name))
                        return profiles[i];
        return NULL;
}

/* Windows Setup sits at a dialog, saying nothing on the serial port, when: */
const char *const install_causes_windows_setup[] = {
        "the install media did not boot (the screen shows the firmware: no bootable CD, or a UEFI \"Press any key\" "
        "that went unanswered)",
        "Setup waits at a page the answer file should have filled: a key it does not take (retail keys are not "
        "checked before booting), an edition it does not find, or the answer file not found",
        "no disk found (the disk controller needs a driver)",
        "a first-logon bootstrap that hangs (its lines go to the serial log)",
        NULL,
};

void install_media_free(struct install_media *m) {
        if (!m)
                return;
        free(m->boot_iso);
        free(m->config_iso);
        free(m->kernel);
        free(m->initrd);
        free(m->cmdline);
        free(m->kernel_version);
        free(m->os_build);
        free(m->os_edition);
        free(m->os_language);
        *m = (struct install_media) { 0 };
}

static bool is_key_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; }

/* Python str.format rules, which VMCloak's templates follow: "{{" and "}}" are literal braces,
 * "{key}" is a field, anything else with a brace is malformed. */
int guest_template_expand(const char *tmpl, const char *const *keys, const char *const *values, char **ret) {
        if (!tmpl || !ret)
                return -EINVAL;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        _cleanup_fclose_ FILE *f = open_memstream(&buf, &len);
        if (!f)
                return log_oom();
        for (const char *p = tmpl; *p;) {
                if (p[0] == '{' && p[1] == '{') {
                        fputc('{', f);
                        p += 2;
                } else if (p[0] == '}' && p[1] == '}') {
                        fputc('}', f);
                        p += 2;
                } else if (p[0] == '}') {
                        log_error("template \"%s\": single '}' at offset %zu (write '}}' for a literal brace)", tmpl,
                                  (size_t)(p - tmpl));
                        return -EINVAL;
                } else if (p[0] == '{') {
                        const char *k = p + 1, *e = k;
                        while (is_key_char(*e))
                                e++;
                        if (e == k || *e != '}') {
                                log_error("template \"%s\": malformed field at offset %zu (fields are {name}, "
                                          "'{{' is a literal brace)", tmpl, (size_t)(p - tmpl));
                                return -EINVAL;
                        }
                        size_t kl = (size_t)(e - k);
                        const char *v = NULL;
                        bool known = false;
                        for (size_t i = 0; keys && keys[i]; i++)
                                if (strlen(keys[i]) == kl && strncmp(keys[i], k, kl) == 0) {
                                        known = true;
                                        v = values[i];
                                        break;
                                }
                        if (!known) {
                                log_error("template \"%s\": unknown field {%.*s}", tmpl, (int)kl, k);
                                return -EINVAL;
                        }
                        if (!v) {
                                log_error("template \"%s\": no value for field {%.*s}", tmpl, (int)kl, k);
                                return -EINVAL;
                        }
                        fputs(v, f);
                        p = e + 1;
                } else
                        fputc(*p++, f);
        }
        if (fflush(f) != 0 || ferror(f))
                return log_oom();
        fclose(TAKE_PTR(f));
        *ret = TAKE_PTR(buf);
        return 0;
}
