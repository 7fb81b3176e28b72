/* WIM editions: header and XML read through a win_file, the XML parsed with libxml2, and the
 * --product rules (index, NAME, VMCloak's upper-cased NAME, EDITIONID, short names). */
#include "guest/wim.h"

#include <ctype.h>
#include <errno.h>
#include <libxml/parser.h>
#include <stdarg.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/util.h"
#include "guest/le.h"
#include "guest/winedition.h"

#define WIM_HEADER_SIZE 208
#define WIM_XML_MAX (64u << 20)   /* real install.esd XML is ~100 KiB */
#define RESHDR_COMPRESSED 0x04


static void image_done(struct wim_image *i) {
        free(i->name);
        free(i->display_name);
        free(i->edition_id);
        free(i->arch);
        free(i->version);
        free(i->language);
        free(i->installation_type);
        free(i->flags);
}

void wim_image_list_done(struct wim_image_list *l) {
        for (size_t i = 0; i < l->n; i++)
                image_done(&l->images[i]);
        free(l->images);
        free(l->path);
        *l = (struct wim_image_list){};
}

/* The text of the element at a '/'-separated path below node, trimmed; NULL when absent. */
static char *child_text(xmlNode *node, const char *path) {
        xmlNode *cur = node;
        for (const char *p = path; cur && *p;) {
                const char *slash = strchrnul(p, '/');
                size_t len = (size_t)(slash - p);
                xmlNode *next = NULL;
                for (xmlNode *c = cur->children; c && !next; c = c->next)
                        if (c->type == XML_ELEMENT_NODE && strlen((const char *)c->name) == len &&
                            strncasecmp((const char *)c->name, p, len) == 0)
                                next = c;
                cur = next;
                p = *slash ? slash + 1 : slash;
        }
        if (!cur)
                return NULL;
        xmlChar *t = xmlNodeGetContent(cur);
        if (!t)
                return NULL;
        const char *s = (const char *)t;
        while (isspace((unsigned char)*s))
                s++;
        size_t l = strlen(s);
        while (l > 0 && isspace((unsigned char)s[l - 1]))
                l--;
        char *r = l ? strndup(s, l) : NULL;
        xmlFree(t);
        return r;
}

static char *arch_name(const char *num) {
        if (!num)
                return NULL;
        char *end;
        unsigned long v = strtoul(num, &end, 10);
        if (*end || end == num)
                return strdup(num);
        /* PROCESSOR_ARCHITECTURE_* values: INTEL 0, ARM 5, IA64 6, AMD64 9, ARM64 12. */
        switch (v) {
        case 0:
                return strdup("x86");
        case 5:
                return strdup("arm");
        case 6:
                return strdup("ia64");
        case 9:
                return strdup("amd64");
        case 12:
                return strdup("arm64");
        default:
                return strdup(num);
        }
}

static int image_from_xml(xmlNode *n, struct wim_image *img) {
        xmlChar *idx = xmlGetProp(n, (const xmlChar *)"INDEX");
        char *end = NULL;
        unsigned long index = idx ? strtoul((const char *)idx, &end, 10) : 0;
        bool bad = !idx || *end || index == 0 || index > 0xFFFF;
        xmlFree(idx);
        if (bad)
                return -EBADMSG;
        img->index = (unsigned)index;
        img->name = child_text(n, "NAME");
        img->display_name = child_text(n, "DISPLAYNAME");
        img->edition_id = child_text(n, "WINDOWS/EDITIONID");
        _cleanup_free_ char *arch = child_text(n, "WINDOWS/ARCH");
        img->arch = arch_name(arch);
        img->language = child_text(n, "WINDOWS/LANGUAGES/DEFAULT");
        img->installation_type = child_text(n, "WINDOWS/INSTALLATIONTYPE");
        img->flags = child_text(n, "FLAGS");
        _cleanup_free_ char *major = child_text(n, "WINDOWS/VERSION/MAJOR");
        _cleanup_free_ char *minor = child_text(n, "WINDOWS/VERSION/MINOR");
        _cleanup_free_ char *build = child_text(n, "WINDOWS/VERSION/BUILD");
        _cleanup_free_ char *spbuild = child_text(n, "WINDOWS/VERSION/SPBUILD");
        if (build)
                img->build = (uint32_t)strtoul(build, NULL, 10);
        if (major && minor && build)
                img->version = spbuild ? strdup_printf("%s.%s.%s.%s", major, minor, build, spbuild)
                                       : strdup_printf("%s.%s.%s", major, minor, build);
        img->evaluation = win_edition_is_evaluation(img->edition_id, img->name);
        return 0;
}

static int image_cmp(const void *a, const void *b) {
        unsigned x = ((const struct wim_image *)a)->index, y = ((const struct wim_image *)b)->index;
        return x < y ? -1 : x > y;
}

int wim_xml_parse(const void *xml, size_t len, const char *what, struct wim_image_list *l) {
        const unsigned char *b = xml;
        /* WIM XML is UTF-16LE, normally with a BOM, which libxml2 detects itself. */
        const char *enc = len >= 2 && b[0] == 0xFF && b[1] == 0xFE ? NULL
                          : len >= 2 && b[0] == '<' && b[1] == 0 ? "UTF-16LE" : NULL;
        if (len > INT32_MAX)
                return log_error_errno(-EBADMSG, "%s: its XML is too large", what);
        xmlDoc *doc = xmlReadMemory(xml, (int)len, "wim.xml", enc, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!doc) {
                const xmlError *e = xmlGetLastError();
                return log_error_errno(-EBADMSG, "%s: its XML cannot be parsed: %s", what,
                                       e && e->message ? e->message : "not well-formed");
        }
        xmlNode *root = xmlDocGetRootElement(doc);
        int r = 0;
        if (!root || strcasecmp((const char *)root->name, "WIM") != 0)
                r = log_error_errno(-EBADMSG, "%s: its XML is no WIM description (root <%s>)", what,
                                    root ? (const char *)root->name : "none");
        for (xmlNode *n = root ? root->children : NULL; r == 0 && n; n = n->next) {
                if (n->type != XML_ELEMENT_NODE || strcasecmp((const char *)n->name, "IMAGE") != 0)
                        continue;
                struct wim_image *m = realloc(l->images, (l->n + 1) * sizeof *m);
                if (!m) {
                        r = log_oom();
                        break;
                }
                l->images = m;
                m[l->n] = (struct wim_image){};
                if (image_from_xml(n, &m[l->n]) < 0) {
                        image_done(&m[l->n]);
                        r = log_error_errno(-EBADMSG, "%s: an IMAGE of its XML has no valid INDEX", what);
                        break;
                }
                l->n++;
        }
        xmlFreeDoc(doc);
        if (r == 0 && l->n > 1)
                qsort(l->images, l->n, sizeof *l->images, image_cmp);
        return r;
}

static int read_wim(struct win_source *s, struct win_file *f, struct wim_image_list *l) {
        const char *src = win_source_path(s), *p = win_file_path(f);
        unsigned char h[WIM_HEADER_SIZE];
        if (win_file_size(f) < WIM_HEADER_SIZE)
                return log_error_errno(-EBADMSG, "%s: %s is no WIM (too short)", src, p);
        int r = win_file_pread(f, h, sizeof h, 0);
        if (r < 0)
                return r;
        if (memcmp(h, "MSWIM\0\0\0", 8) != 0)
                return log_error_errno(-EBADMSG, "%s: %s is no WIM (no MSWIM magic)", src, p);
        unsigned part = le16(h + 0x28), total = le16(h + 0x2A);
        uint32_t count = le32(h + 0x2C);
        uint64_t xml_size = le_n(h + 0x48, 7), xml_off = le_n(h + 0x50, 8);
        uint8_t xml_flags = h[0x4F];
        if (part != 1)
                return log_error_errno(-EBADMSG, "%s: %s is part %u of %u of a split WIM; only part 1 lists the editions",
                                       src, p, part, total);
        if (xml_flags & RESHDR_COMPRESSED)
                return log_error_errno(-EBADMSG, "%s: %s has a compressed XML description, which WIMs never have", src, p);
        if (xml_size == 0 || xml_size > WIM_XML_MAX || xml_off > win_file_size(f) ||
            xml_size > win_file_size(f) - xml_off)
                return log_error_errno(-EBADMSG, "%s: %s is damaged (XML of %llu bytes at %llu)", src, p,
                                       (unsigned long long)xml_size, (unsigned long long)xml_off);
        _cleanup_free_ char *xml = malloc((size_t)xml_size);
        if (!xml)
                return log_oom();
        if ((r = win_file_pread(f, xml, (size_t)xml_size, xml_off)) < 0)
                return r;
        _cleanup_free_ char *what = strdup_printf("%s: %s", src, p);
        if (!what)
                return log_oom();
        if ((r = wim_xml_parse(xml, (size_t)xml_size, what, l)) < 0)
                return r;
        if (l->n != count)
                return log_error_errno(-EBADMSG, "%s: %s is damaged (header says %u images, XML describes %zu)", src, p,
                                       count, l->n);
        l->part = part;
        l->total_parts = total;
        return 0;
}

int wim_images_read(struct win_source *s, struct wim_image_list *ret) {
        static const char *const names[] = { "sources/install.wim", "sources/install.esd", "sources/install.swm" };
        _cleanup_(win_file_closep) struct win_file *f = NULL;
        int r = -ENOENT;
        for (size_t i = 0; i < ELEMENTSOF(names) && r == -ENOENT; i++)
                r = win_file_open(s, names[i], &f);
        if (r < 0)
                return r;   /* -ENOENT silently: the caller falls back or says so */
        struct wim_image_list l = { .path = strdup(win_file_path(f)) };
        if (!l.path)
                return log_oom();
        r = read_wim(s, f, &l);
        if (r < 0) {
                wim_image_list_done(&l);
                return r;
        }
        *ret = l;
        return 0;
}

char *wim_image_list_format(const struct wim_image_list *l) {
        _cleanup_strv_free_ char **lines = NULL;
        for (size_t i = 0; i < l->n; i++) {
                const struct wim_image *m = &l->images[i];
                char build[16] = "?";
                if (m->build)
                        snprintf(build, sizeof build, "%u", m->build);
                if (strv_extendf(&lines, "  %2u  \"%s\"  (edition %s, %s, build %s, %s)", m->index, strempty(m->name),
                                 m->edition_id ? m->edition_id : "?", m->arch ? m->arch : "?", build,
                                 m->language ? m->language : "?") < 0)
                        return NULL;
        }
        return lines ? strv_join(lines, "\n") : strdup("  (no images)");
}

static void refuse(const struct wim_image_list *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(const struct wim_image_list *l, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *why = strdup_vprintf(fmt, ap);
        va_end(ap);
        _cleanup_free_ char *list = wim_image_list_format(l);
        if (!why || !list) {
                log_oom();
                return;
        }
        log_error("%s; %s holds:\n%s", why, l->path ? l->path : "the WIM", list);
}

/* The images satisfying a rule; with several, those of the OS's architecture. */
static const struct wim_image *by_rule(const struct wim_image_list *l, const char *arch, bool *ambiguous,
                                       bool (*match)(const struct wim_image *, const void *), const void *arg) {
        const struct wim_image *hit = NULL;
        size_t n = 0, n_arch = 0;
        const struct wim_image *hit_arch = NULL;
        for (size_t i = 0; i < l->n; i++) {
                if (!match(&l->images[i], arg))
                        continue;
                n++;
                hit = &l->images[i];
                if (arch && streq_ptr(l->images[i].arch, arch)) {
                        n_arch++;
                        hit_arch = &l->images[i];
                }
        }
        *ambiguous = false;
        if (n <= 1)
                return hit;
        if (n_arch == 1)
                return hit_arch;
        *ambiguous = true;
        return NULL;
}

static bool match_name(const struct wim_image *m, const void *arg) {
        return m->name && strcasecmp(m->name, arg) == 0;
}
static bool match_edition(const struct wim_image *m, const void *arg) {
        return m->edition_id && strcasecmp(m->edition_id, arg) == 0;
}

/* The image, unless it is another Windows than the profile installs (a Windows 11 WIM under
 * win10x64 would get the wrong install flow). */
static const struct wim_image *check_version(const struct wim_image_list *l, const char *os, const struct wim_image *m) {
        if (!os || win_os_version_fits(os, m->version, m->build))
                return m;
        const char *prefix = NULL;
        win_os_info(os, &prefix, NULL, NULL);
        refuse(l, "image %u \"%s\" is Windows version %s, not %s (%s)", m->index, strempty(m->name), m->version,
               strempty(prefix), os);
        return NULL;
}

const struct wim_image *wim_image_pick(const struct wim_image_list *l, const char *os, const char *product) {
        const char *prefix = NULL, *arch = NULL;
        const char *const *pref = NULL;
        if (os && win_os_info(os, &prefix, &arch, &pref) < 0)
                return NULL;
        if (l->n == 0) {
                log_error("%s describes no image", l->path ? l->path : "the WIM");
                return NULL;
        }
        const struct wim_image *hit = NULL;
        bool ambiguous = false;
        if (isempty(product)) {
                for (size_t i = 0; pref && pref[i] && !hit; i++) {
                        const char *id = win_edition_from_short(os, pref[i]);
                        if (id)
                                hit = by_rule(l, arch, &ambiguous, match_edition, id);
                }
                for (size_t i = 0; i < l->n && !hit; i++)
                        if (!arch || streq_ptr(l->images[i].arch, arch))
                                hit = &l->images[i];
                if (!hit) {
                        refuse(l, "no image for %s (%s)", os, arch);
                        return NULL;
                }
                return check_version(l, os, hit);
        }
        size_t digits = strspn(product, "0123456789");
        if (digits == strlen(product)) {
                unsigned long idx = strtoul(product, NULL, 10);
                for (size_t i = 0; i < l->n && !hit; i++)
                        if (l->images[i].index == idx)
                                hit = &l->images[i];
                if (!hit) {
                        refuse(l, "--product %s: no image has index %s", product, product);
                        return NULL;
                }
        }
        if (!hit)
                hit = by_rule(l, arch, &ambiguous, match_name, product);
        if (!hit && !ambiguous && prefix) {
                _cleanup_free_ char *vmcloak_name = strdup_printf("%s %s", prefix, product);
                if (!vmcloak_name) {
                        log_oom();
                        return NULL;
                }
                hit = by_rule(l, arch, &ambiguous, match_name, vmcloak_name);
        }
        if (!hit && !ambiguous)
                hit = by_rule(l, arch, &ambiguous, match_edition, product);
        const char *id = !hit && !ambiguous && os ? win_edition_from_short(os, product) : NULL;
        if (id)
                hit = by_rule(l, arch, &ambiguous, match_edition, id);
        if (ambiguous) {
                refuse(l, "--product \"%s\" matches several images; give the index or the exact name", product);
                return NULL;
        }
        if (!hit) {
                refuse(l, "--product \"%s\" matches no image (by index, name, edition id%s)", product,
                       os ? " or short name" : "");
                return NULL;
        }
        if (arch && hit->arch && !streq(hit->arch, arch)) {
                refuse(l, "--product \"%s\" is image %u, which is %s; %s needs %s", product, hit->index, hit->arch, os,
                       arch);
                return NULL;
        }
        return check_version(l, os, hit);
}

/* --- VMCloak's product.ini fallback --------------------------------------------------------- */

/* The staged= value of [BuildInfo], lower-cased, split at commas. */
static int staged_editions(const char *ini, char ***ret) {
        bool in_section = false;
        for (const char *line = ini; line && *line;) {
                const char *eol = strpbrk(line, "\r\n");
                size_t len = eol ? (size_t)(eol - line) : strlen(line);
                _cleanup_free_ char *l = strndup(line, len);
                if (!l)
                        return -ENOMEM;
                char *t = l + strspn(l, " \t");
                if (*t == '[') {
                        char *close = strchr(t, ']');
                        in_section = close && (size_t)(close - t - 1) == strlen("BuildInfo") &&
                                     strncasecmp(t + 1, "BuildInfo", 9) == 0;
                } else if (in_section) {
                        char *eq = strchr(t, '=');
                        if (eq) {
                                size_t kl = (size_t)(eq - t);
                                while (kl > 0 && isspace((unsigned char)t[kl - 1]))
                                        kl--;
                                if (kl == 6 && strncasecmp(t, "staged", 6) == 0) {
                                        for (char *c = eq + 1; *c; c++)
                                                *c = (char)tolower((unsigned char)*c);
                                        char *save = NULL;
                                        for (char *tok = strtok_r(eq + 1, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                                                tok += strspn(tok, " \t");
                                                size_t tl = strlen(tok);
                                                while (tl > 0 && isspace((unsigned char)tok[tl - 1]))
                                                        tok[--tl] = 0;
                                                if (*tok && strv_extend(ret, tok) < 0)
                                                        return -ENOMEM;
                                        }
                                        return 0;
                                }
                        }
                }
                line = eol ? eol + 1 : NULL;
        }
        return 0;
}

int win_product_ini_pick(struct win_source *s, const char *os, const char *product, char **ret_name) {
        const char *prefix = NULL;
        const char *const *pref = NULL;
        int r = win_os_info(os, &prefix, NULL, &pref);
        if (r < 0)
                return r;
        if (!pref || !pref[0] || !prefix) {
                log_error("the editions table has no preference list for %s", os);
                return -EINVAL;
        }
        const char *pick = NULL;
        _cleanup_strv_free_ char **staged = NULL;
        if (!isempty(product)) {
                for (size_t i = 0; pref[i] && !pick; i++)
                        if (strcasecmp(pref[i], product) == 0)
                                pick = pref[i];
                if (!pick) {
                        _cleanup_free_ char *allowed = strv_join((char **)pref, ", ");
                        log_error("--product %s is not an edition vmcloak knows for %s without a readable WIM; use one "
                                  "of: %s", product, os, strempty(allowed));
                        return -EINVAL;
                }
        } else {
                _cleanup_free_ void *ini = NULL;
                size_t len;
                r = win_source_read(s, "sources/product.ini", &ini, &len, 1u << 20);
                if (r < 0 && r != -ENOENT)
                        return r;
                if (r == 0 && staged_editions(ini, &staged) < 0)
                        return log_oom();
                for (size_t i = 0; pref[i] && !pick; i++)
                        if (strv_contains(staged, pref[i]))
                                pick = pref[i];
                if (!pick)
                        pick = staged && staged[0] ? staged[0] : pref[0];
        }
        char *name = strdup_printf("%s %s", prefix, pick);
        if (!name)
                return log_oom();
        for (char *c = name + strlen(prefix); *c; c++)
                *c = (char)toupper((unsigned char)*c);
        *ret_name = name;
        return 0;
}
