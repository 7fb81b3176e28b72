/* autounattend.xml from data/windows/<os>.xml through libxml2 trees, its structure check, and
 * the Windows computer and user name rules. */
#include "guest/unattend.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "core/log.h"
#include "core/paths.h"
#include "core/random.h"
#include "core/util.h"
#include "core/validate.h"
#include "guest/profile.h"

#define UNATTEND_NS "urn:schemas-microsoft-com:unattend"
#define WCM_NS "http://schemas.microsoft.com/WMIConfig/2002/State"
#define XSI_NS "http://www.w3.org/2001/XMLSchema-instance"
#define PUBLIC_KEY_TOKEN "31bf3856ad364e35"

static void xml_doc_freep(xmlDocPtr *d) {
        if (*d)
                xmlFreeDoc(*d);
}
#define _cleanup_xml_doc_ __attribute__((cleanup(xml_doc_freep)))

static void xml_char_freep(xmlChar **p) {
        if (*p)
                xmlFree(*p);
}
#define _cleanup_xml_char_ __attribute__((cleanup(xml_char_freep)))

static bool is_element(const xmlNode *n, const char *name) {
        return n && n->type == XML_ELEMENT_NODE && streq((const char *)n->name, name);
}

/* The first element child named name, or NULL. */
static xmlNode *child_element(const xmlNode *n, const char *name) {
        for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
                if (is_element(c, name))
                        return c;
        return NULL;
}

/* The text of the first child element named name (xmlFree), or NULL. */
static xmlChar *child_text(const xmlNode *n, const char *name) {
        xmlNode *c = child_element(n, name);
        return c ? xmlNodeGetContent(c) : NULL;
}

static const char *xml_reason(void) {
        const xmlError *e = xmlGetLastError();
        return e && e->message ? e->message : "not well-formed XML";
}

/* The OS's data file, parsed; its root is <answer-file os="os">. */
static int load_os_data(const char *os, xmlDocPtr *ret) {
        if (isempty(os) || strspn(os, "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(os)) {
                log_error("invalid Windows OS name '%s' (win7x64, win81x64, win10x64, win11x64)", strempty(os));
                return -EINVAL;
        }
        _cleanup_free_ char *rel = strdup_printf("windows/%s.xml", os);
        _cleanup_free_ char *path = rel ? paths_data_file(rel) : NULL;
        if (!path)
                return log_oom();
        if (!path_exists(path)) {
                log_error("no answer-file data for '%s' (%s is missing): known are win7x64, win81x64, win10x64 and "
                          "win11x64", os, path);
                return -ENOENT;
        }
        xmlResetLastError();
        xmlDocPtr d = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!d) {
                log_error("cannot read the answer-file data %s: %s", path, xml_reason());
                return -EIO;
        }
        xmlNode *root = xmlDocGetRootElement(d);
        _cleanup_xml_char_ xmlChar *dos = root ? xmlGetProp(root, BAD_CAST "os") : NULL;
        if (!is_element(root, "answer-file") || !dos || !streq((const char *)dos, os)) {
                log_error("%s is not the answer-file data of %s (its root must be <answer-file os=\"%s\">)", path, os, os);
                xmlFreeDoc(d);
                return -EIO;
        }
        *ret = d;
        return 0;
}

/* --- values --- */

static char *base64(const unsigned char *data, size_t len) {
        static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        char *out = malloc((len + 2) / 3 * 4 + 1);
        if (!out)
                return NULL;
        size_t o = 0;
        for (size_t i = 0; i < len; i += 3) {
                unsigned v = (unsigned)data[i] << 16 | (i + 1 < len ? (unsigned)data[i + 1] << 8 : 0) |
                             (i + 2 < len ? data[i + 2] : 0);
                out[o++] = tab[v >> 18 & 63];
                out[o++] = tab[v >> 12 & 63];
                out[o++] = i + 1 < len ? tab[v >> 6 & 63] : '=';
                out[o++] = i + 2 < len ? tab[v & 63] : '=';
        }
        out[o] = 0;
        return out;
}

/* Windows' hidden-password form (PlainText=false): base64 of UTF-16LE(password + suffix). */
static int windows_password(const char *password, const char *suffix, char **ret) {
        _cleanup_free_ char *plain = strdup_printf("%s%s", password, suffix);
        if (!plain)
                return log_oom();
        size_t in_left = strlen(plain), out_size = in_left * 4 + 4, out_left = out_size;
        _cleanup_free_ char *wide = malloc(out_size);
        if (!wide)
                return log_oom();
        iconv_t cd = iconv_open("UTF-16LE", "UTF-8");
        if (cd == (iconv_t)-1)
                return log_error_errno(-errno, "cannot convert the password to UTF-16: %m");
        char *in = plain, *out = wide;
        size_t k = iconv(cd, &in, &in_left, &out, &out_left);
        iconv_close(cd);
        if (k == (size_t)-1) {
                log_error("the password is not valid UTF-8");
                return -EINVAL;
        }
        *ret = base64((unsigned char *)wide, out_size - out_left);
        return *ret ? 0 : log_oom();
}

static size_t utf8_length(const char *s) {
        size_t n = 0;
        for (; *s; s++)
                n += ((unsigned char)*s & 0xc0) != 0x80;
        return n;
}

static bool is_product_key(const char *k) {
        if (strlen(k) != 29)
                return false;
        for (int i = 0; i < 29; i++) {
                char c = k[i];
                if (i % 6 == 5 ? c != '-' : !((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
                        return false;
        }
        return true;
}

/* "en-US", "sr-Latn-RS": a language tag as Windows names its locales. */
static bool is_language_tag(const char *s) {
        size_t first = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
        if (first < 2 || first > 3)
                return false;
        for (const char *p = s + first; *p;) {
                if (*p++ != '-')
                        return false;
                size_t part = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789");
                if (part < 1 || part > 8)
                        return false;
                p += part;
        }
        return true;
}

static bool is_lcid_klid(const char *s) {
        const char *hex = "0123456789abcdefABCDEF";
        return strlen(s) == 13 && strspn(s, hex) == 4 && s[4] == ':' && strspn(s + 5, hex) == 8;
}

/* An input locale as LCID:KLID: given so, or looked up by name in data/windows/locales.xml. */
static int input_locale_id(const char *v, char **ret) {
        if (is_lcid_klid(v)) {
                *ret = strdup(v);
                return *ret ? 0 : log_oom();
        }
        _cleanup_free_ char *path = paths_data_file("windows/locales.xml");
        if (!path)
                return log_oom();
        xmlResetLastError();
        _cleanup_xml_doc_ xmlDocPtr d = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!d) {
                log_error("cannot read the keyboard table %s: %s", path, xml_reason());
                return -EIO;
        }
        _cleanup_strv_free_ char **names = NULL;
        for (xmlNode *n = xmlDocGetRootElement(d)->children; n; n = n->next) {
                if (!is_element(n, "input-locale"))
                        continue;
                _cleanup_xml_char_ xmlChar *name = xmlGetProp(n, BAD_CAST "name");
                _cleanup_xml_char_ xmlChar *value = xmlGetProp(n, BAD_CAST "value");
                if (!name || !value)
                        continue;
                if (strcasecmp((const char *)name, v) == 0) {
                        *ret = strdup((const char *)value);
                        return *ret ? 0 : log_oom();
                }
                if (strv_extend(&names, (const char *)name) < 0)
                        return log_oom();
        }
        _cleanup_free_ char *known = strv_join(names, ", ");
        log_error("unknown keyboard '%s': give LCID:KLID (e.g. 0409:00000409) or one of %s", v, strempty(known));
        return -EINVAL;
}

int win_locale_check(const char *tag) {
        if (tag && is_language_tag(tag))
                return 0;
        log_error("invalid Windows locale '%s': a language tag such as en-US or de-DE", strempty(tag));
        return -EINVAL;
}

int win_keyboard_check(const char *v) {
        _cleanup_free_ char *id = NULL;
        return input_locale_id(strempty(v), &id);
}

static bool timezone_ok(const char *tz) {
        return tz && *tz && strlen(tz) <= 64 &&
               strspn(tz, " ().+-:_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") == strlen(tz);
}

int win_timezone_check(const char *tz) {
        if (timezone_ok(tz))
                return 0;
        log_error("invalid Windows time zone%s%.64s%s: a Windows time zone id such as \"W. Europe Standard Time\" "
                  "(tzutil /l lists them)", tz ? " '" : "", tz && !strpbrk(tz, "\t\r\n") ? tz : "", tz ? "'" : "");
        return -EINVAL;
}

static int check_params(const struct unattend_params *p) {
        if (!streq_ptr(p->arch, "amd64") && !streq_ptr(p->arch, "x86")) {
                log_error("invalid Windows architecture '%s' (amd64 or x86)", strempty(p->arch));
                return -EINVAL;
        }
        if (win_user_name_check(p->user) < 0)
                return -EINVAL;
        if (p->oobe_account && win_user_name_check(p->oobe_account) < 0)
                return -EINVAL;
        if (!p->password || utf8_length(p->password) > 127) {
                log_error("invalid Windows password: %s", p->password ? "longer than 127 characters" : "none given");
                return -EINVAL;
        }
        if (win_computer_name_check(p->computer_name) < 0)
                return -EINVAL;
        if (p->image_name ? isempty(p->image_name) : p->image_index < 1) {
                log_error("the answer file needs the edition: an image name, or an image index of 1 or more");
                return -EINVAL;
        }
        if (p->product_key && !is_product_key(p->product_key)) {
                log_error("invalid product key '%s': 5 groups of 5 upper-case letters or digits joined by '-'",
                          p->product_key);
                return -EINVAL;
        }
        if (!p->ui_language || !is_language_tag(p->ui_language)) {
                log_error("invalid Windows language '%s': a language tag such as en-US", strempty(p->ui_language));
                return -EINVAL;
        }
        if (p->user_locale && !is_language_tag(p->user_locale)) {
                log_error("invalid Windows locale '%s': a language tag such as de-DE", p->user_locale);
                return -EINVAL;
        }
        if (win_timezone_check(p->timezone) < 0)
                return -EINVAL;
        if ((p->width == 0) != (p->height == 0) || p->width > 16384 || p->height > 16384) {
                log_error("invalid display resolution %ux%u", p->width, p->height);
                return -EINVAL;
        }
        return 0;
}

/* --- rendering --- */

enum { K_ARCH, K_IMAGE_NAME, K_IMAGE_INDEX, K_PRODUCT_KEY, K_USER, K_ACCOUNT, K_COMPUTER_NAME, K_UI_LANGUAGE,
       K_USER_LOCALE, K_INPUT_LOCALE, K_TIMEZONE, K_WIDTH, K_HEIGHT, K_FIRST_LOGON, K_LOGON_PASSWORD, K_ADMIN_PASSWORD, K_ORDER,
       K_COUNT };
static const char *const keys[K_COUNT + 1] = {
        "arch", "image_name", "image_index", "product_key", "user", "account", "computer_name", "ui_language",
        "user_locale", "input_locale", "timezone", "width", "height", "first_logon_command", "logon_password", "admin_password",
        "order", NULL,
};

struct render {
        const struct unattend_params *p;
        const char *values[K_COUNT + 1];
        char *owned[K_COUNT];
        xmlNsPtr ns, wcm;
};

static void render_done(struct render *r) {
        for (size_t i = 0; i < K_COUNT; i++)
                free(r->owned[i]);
}

/* Whether an element of the data is kept: its if="cond" / if="!cond". */
static int condition(const struct render *r, const xmlNode *n, bool *ret) {
        _cleanup_xml_char_ xmlChar *c = xmlGetNoNsProp(n, BAD_CAST "if");
        if (!c) {
                *ret = true;
                return 0;
        }
        const char *s = (const char *)c;
        bool neg = *s == '!';
        s += neg;
        const struct unattend_params *p = r->p;
        bool v;
        if (streq(s, "uefi"))
                v = p->uefi;
        else if (streq(s, "bypass_checks"))
                v = p->bypass_checks;
        else if (streq(s, "product_key"))
                v = p->product_key != NULL;
        else if (streq(s, "image_name"))
                v = p->image_name != NULL;
        else if (streq(s, "resolution"))
                v = p->width > 0;
        else {
                log_error("answer-file data: unknown condition if=\"%s\" on <%s> (line %ld)", (const char *)c,
                          (const char *)n->name, xmlGetLineNo(n));
                return -EINVAL;
        }
        *ret = v != neg;
        return 0;
}

/* Copy the children of data element src into out element dst. self is src's position among
 * its kept siblings, which {order} in its child elements' text means. */
static int copy_children(struct render *r, const xmlNode *src, xmlNode *dst, unsigned self, unsigned parent) {
        unsigned pos = 0;
        for (const xmlNode *c = src->children; c; c = c->next) {
                if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
                        char order[16];
                        snprintf(order, sizeof order, "%u", parent);
                        r->values[K_ORDER] = order;
                        _cleanup_free_ char *text = NULL;
                        int k = guest_template_expand((const char *)c->content, keys, r->values, &text);
                        r->values[K_ORDER] = NULL;
                        if (k < 0)
                                return k;
                        xmlNode *t = xmlNewText(BAD_CAST text);
                        if (!t || !xmlAddChild(dst, t))
                                return log_oom();
                        continue;
                }
                if (c->type != XML_ELEMENT_NODE)
                        continue;
                bool keep;
                int k = condition(r, c, &keep);
                if (k < 0)
                        return k;
                if (!keep)
                        continue;
                xmlNode *e = xmlNewChild(dst, r->ns, c->name, NULL);
                if (!e)
                        return log_oom();
                for (const xmlAttr *a = c->properties; a; a = a->next) {
                        if (!a->ns && streq((const char *)a->name, "if"))
                                continue;
                        _cleanup_xml_char_ xmlChar *v = xmlNodeGetContent((const xmlNode *)a);
                        xmlNsPtr ns = NULL;
                        if (a->ns && a->ns->href && streq((const char *)a->ns->href, WCM_NS))
                                ns = r->wcm;
                        else if (a->ns) {
                                log_error("answer-file data: attribute %s of <%s> (line %ld) is in an unknown namespace",
                                          (const char *)a->name, (const char *)c->name, xmlGetLineNo(c));
                                return -EINVAL;
                        }
                        if (!xmlNewNsProp(e, ns, a->name, v))
                                return log_oom();
                }
                if ((k = copy_children(r, c, e, ++pos, self)) < 0)
                        return k;
        }
        return 0;
}

static int render_settings(struct render *r, const xmlNode *settings, xmlNode *root) {
        _cleanup_xml_char_ xmlChar *pass = xmlGetNoNsProp(settings, BAD_CAST "pass");
        if (!pass) {
                log_error("answer-file data: <settings> without pass (line %ld)", xmlGetLineNo(settings));
                return -EINVAL;
        }
        xmlNode *s = xmlNewChild(root, r->ns, BAD_CAST "settings", NULL);
        if (!s || !xmlNewProp(s, BAD_CAST "pass", pass))
                return log_oom();
        for (const xmlNode *c = settings->children; c; c = c->next) {
                if (c->type != XML_ELEMENT_NODE)
                        continue;
                _cleanup_xml_char_ xmlChar *name = xmlGetNoNsProp(c, BAD_CAST "name");
                if (!is_element(c, "component") || !name) {
                        log_error("answer-file data: <settings> holds only <component name=...> (line %ld)",
                                  xmlGetLineNo(c));
                        return -EINVAL;
                }
                xmlNode *comp = xmlNewChild(s, r->ns, BAD_CAST "component", NULL);
                if (!comp || !xmlNewProp(comp, BAD_CAST "name", name) ||
                    !xmlNewProp(comp, BAD_CAST "processorArchitecture", BAD_CAST r->p->arch) ||
                    !xmlNewProp(comp, BAD_CAST "publicKeyToken", BAD_CAST PUBLIC_KEY_TOKEN) ||
                    !xmlNewProp(comp, BAD_CAST "language", BAD_CAST "neutral") ||
                    !xmlNewProp(comp, BAD_CAST "versionScope", BAD_CAST "nonSxS"))
                        return log_oom();
                int k = copy_children(r, c, comp, 0, 0);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* <default key="..">value</default> of the data for the keys the caller left NULL. */
static int apply_defaults(struct render *r, const xmlNode *root) {
        for (const xmlNode *c = root->children; c; c = c->next) {
                if (!is_element(c, "default"))
                        continue;
                _cleanup_xml_char_ xmlChar *key = xmlGetNoNsProp(c, BAD_CAST "key");
                size_t i = 0;
                while (keys[i] && !(key && streq(keys[i], (const char *)key)))
                        i++;
                if (!keys[i] || i == K_ORDER) {
                        log_error("answer-file data: <default> for an unknown key (line %ld)", xmlGetLineNo(c));
                        return -EINVAL;
                }
                if (r->values[i])
                        continue;
                r->owned[i] = (char *)xmlNodeGetContent(c);
                if (!r->owned[i])
                        return log_oom();
                r->values[i] = r->owned[i];
        }
        return 0;
}

static int set_owned(struct render *r, size_t k, char *value) {
        if (!value)
                return log_oom();
        r->owned[k] = value;
        r->values[k] = value;
        return 0;
}

static int render_values(struct render *r) {
        const struct unattend_params *p = r->p;
        r->values[K_ARCH] = p->arch;
        r->values[K_IMAGE_NAME] = p->image_name;
        r->values[K_PRODUCT_KEY] = p->product_key;
        r->values[K_USER] = p->user;
        r->values[K_COMPUTER_NAME] = p->computer_name;
        r->values[K_UI_LANGUAGE] = p->ui_language;
        r->values[K_USER_LOCALE] = p->user_locale ? p->user_locale : p->ui_language;
        r->values[K_TIMEZONE] = p->timezone;
        r->values[K_FIRST_LOGON] = p->first_logon_command;
        int k;
        if ((k = set_owned(r, K_IMAGE_INDEX, strdup_printf("%u", p->image_index))) < 0 ||
            (k = set_owned(r, K_WIDTH, strdup_printf("%u", p->width))) < 0 ||
            (k = set_owned(r, K_HEIGHT, strdup_printf("%u", p->height))) < 0)
                return k;
        if ((k = input_locale_id(p->input_locale ? p->input_locale : "en-US", &r->owned[K_INPUT_LOCALE])) < 0)
                return k;
        r->values[K_INPUT_LOCALE] = r->owned[K_INPUT_LOCALE];
        /* The built-in Administrator logs on; OOBE still wants one local account (VMCloak). */
        if (strcasecmp(p->user, "Administrator") != 0)
                r->values[K_ACCOUNT] = p->user;
        else if (p->oobe_account)
                r->values[K_ACCOUNT] = p->oobe_account;
        else if ((k = set_owned(r, K_ACCOUNT, random_string(8, 12))) < 0)
                return k;
        if ((k = windows_password(p->password, "Password", &r->owned[K_LOGON_PASSWORD])) < 0)
                return k;
        r->values[K_LOGON_PASSWORD] = r->owned[K_LOGON_PASSWORD];
        if ((k = windows_password(p->password, "AdministratorPassword", &r->owned[K_ADMIN_PASSWORD])) < 0)
                return k;
        r->values[K_ADMIN_PASSWORD] = r->owned[K_ADMIN_PASSWORD];
        return 0;
}

static int render_doc(struct render *r, const xmlNode *data_root, xmlDocPtr out) {
        xmlNode *root = xmlNewNode(NULL, BAD_CAST "unattend");
        if (!root)
                return log_oom();
        xmlDocSetRootElement(out, root);
        r->ns = xmlNewNs(root, BAD_CAST UNATTEND_NS, NULL);
        r->wcm = xmlNewNs(root, BAD_CAST WCM_NS, BAD_CAST "wcm");
        if (!r->ns || !r->wcm || !xmlNewNs(root, BAD_CAST XSI_NS, BAD_CAST "xsi"))
                return log_oom();
        xmlSetNs(root, r->ns);
        for (const xmlNode *c = data_root->children; c; c = c->next) {
                if (c->type != XML_ELEMENT_NODE || is_element(c, "default") || is_element(c, "computer-name"))
                        continue;
                if (!is_element(c, "settings")) {
                        log_error("answer-file data: unknown element <%s> (line %ld)", (const char *)c->name,
                                  xmlGetLineNo(c));
                        return -EINVAL;
                }
                int k = render_settings(r, c, root);
                if (k < 0)
                        return k;
        }
        return 0;
}

int unattend_render(const struct unattend_params *p, char **xml) {
        int k = check_params(p);
        if (k < 0)
                return k;
        _cleanup_xml_doc_ xmlDocPtr data = NULL;
        if ((k = load_os_data(p->os, &data)) < 0)
                return k;
        struct render r = { .p = p };
        _cleanup_xml_doc_ xmlDocPtr out = xmlNewDoc(BAD_CAST "1.0");
        if (!out)
                return log_oom();
        if ((k = render_values(&r)) < 0 || (k = apply_defaults(&r, xmlDocGetRootElement(data))) < 0 ||
            (k = render_doc(&r, xmlDocGetRootElement(data), out)) < 0) {
                render_done(&r);
                return k;
        }
        render_done(&r);
        xmlChar *mem = NULL;
        int len = 0;
        xmlDocDumpFormatMemoryEnc(out, &mem, &len, "UTF-8", 1);
        if (!mem)
                return log_oom();
        _cleanup_free_ char *text = strndup((const char *)mem, (size_t)len);
        xmlFree(mem);
        if (!text)
                return log_oom();
        _cleanup_free_ char *problem = NULL;
        if ((k = unattend_check(text, &problem)) < 0) {
                if (k == -ENOMEM)
                        return log_oom();
                log_error("the answer file made from data/windows/%s.xml breaks a rule: %s", p->os, strempty(problem));
                return -EINVAL;
        }
        *xml = TAKE_PTR(text);
        return 0;
}

/* --- checking --- */

static const char *const passes[] = { "windowsPE", "offlineServicing", "generalize", "specialize",
                                      "auditSystem", "auditUser", "oobeSystem", NULL };

struct check {
        char *problem;   /* the first problem found */
        int oom;
};

static void fail(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct check *c, const char *fmt, ...) {
        if (c->problem)
                return;
        va_list ap;
        va_start(ap, fmt);
        c->problem = strdup_vprintf(fmt, ap);
        va_end(ap);
        if (!c->problem)
                c->oom = -ENOMEM;
}

static bool in_unattend_ns(const xmlNode *n) {
        return n->ns && n->ns->href && streq((const char *)n->ns->href, UNATTEND_NS);
}

static int parse_order(const xmlChar *s, unsigned *ret) {
        return s ? parse_uint((const char *)s, 1, 1000000, ret) : -EINVAL;
}

/* A list of wcm:action items with unique integer Orders, and the child each item needs. */
static void check_list(struct check *c, const xmlNode *list, const char *item, const char *needs) {
        unsigned seen[256];
        size_t n = 0;
        for (const xmlNode *e = list->children; e && !c->problem; e = e->next) {
                if (e->type != XML_ELEMENT_NODE)
                        continue;
                if (!is_element(e, item)) {
                        fail(c, "%s holds <%s>; only <%s> belongs there", (const char *)list->name,
                             (const char *)e->name, item);
                        return;
                }
                _cleanup_xml_char_ xmlChar *action = xmlGetNsProp(e, BAD_CAST "action", BAD_CAST WCM_NS);
                if (!action)
                        fail(c, "<%s> (line %ld) has no wcm:action", item, xmlGetLineNo(e));
                _cleanup_xml_char_ xmlChar *order = child_text(e, "Order");
                unsigned o;
                if (parse_order(order, &o) < 0) {
                        fail(c, "<%s> (line %ld) has no integer Order", item, xmlGetLineNo(e));
                        return;
                }
                for (size_t i = 0; i < n; i++)
                        if (seen[i] == o)
                                fail(c, "%s has Order %u twice", (const char *)list->name, o);
                if (n < ELEMENTSOF(seen))
                        seen[n++] = o;
                if (needs && !child_element(e, needs))
                        fail(c, "<%s> with Order %u has no <%s>", item, o, needs);
        }
}

/* The partition InstallTo names: created on that disk, and formatted NTFS. */
static void check_install_to(struct check *c, const xmlNode *component, const xmlNode *install_to) {
        _cleanup_xml_char_ xmlChar *disk_s = child_text(install_to, "DiskID");
        _cleanup_xml_char_ xmlChar *part_s = child_text(install_to, "PartitionID");
        unsigned disk, part;
        if (!disk_s || !part_s || parse_uint((const char *)disk_s, 0, 1000, &disk) < 0 ||
            parse_uint((const char *)part_s, 1, 1000, &part) < 0) {
                fail(c, "InstallTo needs an integer DiskID and PartitionID");
                return;
        }
        const xmlNode *dc = child_element(component, "DiskConfiguration");
        for (const xmlNode *d = dc ? dc->children : NULL; d; d = d->next) {
                _cleanup_xml_char_ xmlChar *id = is_element(d, "Disk") ? child_text(d, "DiskID") : NULL;
                unsigned did;
                if (!id || parse_uint((const char *)id, 0, 1000, &did) < 0 || did != disk)
                        continue;
                bool created = false, ntfs = false;
                const xmlNode *cps = child_element(d, "CreatePartitions"), *mps = child_element(d, "ModifyPartitions");
                unsigned count = 0;
                for (const xmlNode *cp = cps ? cps->children : NULL; cp; cp = cp->next)
                        count += is_element(cp, "CreatePartition");
                created = part <= count;
                for (const xmlNode *mp = mps ? mps->children : NULL; mp; mp = mp->next) {
                        _cleanup_xml_char_ xmlChar *pid = is_element(mp, "ModifyPartition") ? child_text(mp, "PartitionID") : NULL;
                        _cleanup_xml_char_ xmlChar *fmt = pid ? child_text(mp, "Format") : NULL;
                        unsigned v;
                        if (pid && parse_uint((const char *)pid, 1, 1000, &v) == 0 && v == part && fmt &&
                            streq((const char *)fmt, "NTFS"))
                                ntfs = true;
                }
                if (!created || !ntfs)
                        fail(c, "InstallTo names disk %u partition %u, which DiskConfiguration does not %s", disk, part,
                             created ? "format NTFS" : "create");
                return;
        }
        fail(c, "InstallTo names disk %u, which DiskConfiguration does not configure", disk);
}

static void check_tree(struct check *c, const xmlNode *component, const xmlNode *n) {
        for (const xmlNode *e = n->children; e && !c->problem; e = e->next) {
                if (e->type != XML_ELEMENT_NODE)
                        continue;
                if (!in_unattend_ns(e)) {
                        fail(c, "<%s> (line %ld) is not in the unattend namespace", (const char *)e->name,
                             xmlGetLineNo(e));
                        return;
                }
                const char *name = (const char *)e->name;
                if (streq(name, "RunSynchronous"))
                        check_list(c, e, "RunSynchronousCommand", "Path");
                else if (streq(name, "FirstLogonCommands"))
                        check_list(c, e, "SynchronousCommand", "CommandLine");
                else if (streq(name, "CreatePartitions"))
                        check_list(c, e, "CreatePartition", "Type");
                else if (streq(name, "ModifyPartitions"))
                        check_list(c, e, "ModifyPartition", "PartitionID");
                else if (streq(name, "InstallTo"))
                        check_install_to(c, component, e);
                else if (streq(name, "ComputerName")) {
                        _cleanup_xml_char_ xmlChar *v = xmlNodeGetContent(e);
                        char buf[NAME_PROBLEM_MAX];
                        const char *why = v && !streq((const char *)v, "*") ? name_problem(NAME_WINDOWS_HOSTNAME, (const char *)v, buf) : NULL;
                        if (why)
                                fail(c, "ComputerName '%s': %s", (const char *)v, why);
                }
                check_tree(c, component, e);
        }
}

static void check_component(struct check *c, const xmlNode *comp) {
        static const char *const fixed[][2] = {
                { "publicKeyToken", PUBLIC_KEY_TOKEN }, { "language", "neutral" }, { "versionScope", "nonSxS" } };
        _cleanup_xml_char_ xmlChar *name = xmlGetNoNsProp(comp, BAD_CAST "name");
        _cleanup_xml_char_ xmlChar *arch = xmlGetNoNsProp(comp, BAD_CAST "processorArchitecture");
        if (!name || !*name) {
                fail(c, "a component (line %ld) has no name", xmlGetLineNo(comp));
                return;
        }
        if (!arch || (!streq((const char *)arch, "amd64") && !streq((const char *)arch, "x86") &&
                      !streq((const char *)arch, "wow64")))
                fail(c, "component %s: processorArchitecture must be amd64, x86 or wow64", (const char *)name);
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++) {
                _cleanup_xml_char_ xmlChar *v = xmlGetNoNsProp(comp, BAD_CAST fixed[i][0]);
                if (!v || !streq((const char *)v, fixed[i][1]))
                        fail(c, "component %s: %s must be %s", (const char *)name, fixed[i][0], fixed[i][1]);
        }
        check_tree(c, comp, comp);
}

static void check_settings(struct check *c, const xmlNode *s, unsigned *seen) {
        _cleanup_xml_char_ xmlChar *pass = xmlGetNoNsProp(s, BAD_CAST "pass");
        size_t i = 0;
        while (passes[i] && !(pass && streq(passes[i], (const char *)pass)))
                i++;
        if (!passes[i]) {
                fail(c, "settings pass '%s' is not a Windows Setup pass", pass ? (const char *)pass : "");
                return;
        }
        if (*seen & 1u << i) {
                fail(c, "settings pass %s appears twice", passes[i]);
                return;
        }
        *seen |= 1u << i;
        _cleanup_strv_free_ char **names = NULL;
        for (const xmlNode *e = s->children; e && !c->problem; e = e->next) {
                if (e->type != XML_ELEMENT_NODE)
                        continue;
                if (!is_element(e, "component") || !in_unattend_ns(e)) {
                        fail(c, "settings %s holds <%s>; only components belong there", passes[i], (const char *)e->name);
                        return;
                }
                check_component(c, e);
                _cleanup_xml_char_ xmlChar *name = xmlGetNoNsProp(e, BAD_CAST "name");
                if (name && strv_contains(names, (const char *)name))
                        fail(c, "component %s appears twice in pass %s", (const char *)name, passes[i]);
                else if (name && strv_extend(&names, (const char *)name) < 0)
                        c->oom = -ENOMEM;
        }
}

int unattend_check(const char *xml, char **problem) {
        struct check c = { 0 };
        xmlResetLastError();
        _cleanup_xml_doc_ xmlDocPtr d = xml ? xmlReadMemory(xml, (int)strlen(xml), "autounattend.xml", NULL,
                                                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)
                                            : NULL;
        const xmlNode *root = d ? xmlDocGetRootElement(d) : NULL;
        if (!d)
                fail(&c, "not well-formed XML: %s", xml_reason());
        else if (!is_element(root, "unattend") || !in_unattend_ns(root))
                fail(&c, "the root element must be <unattend xmlns=\"" UNATTEND_NS "\">");
        unsigned seen = 0;
        for (const xmlNode *s = root ? root->children : NULL; s && !c.problem; s = s->next) {
                if (s->type != XML_ELEMENT_NODE)
                        continue;
                if (!is_element(s, "settings") || !in_unattend_ns(s))
                        fail(&c, "<unattend> holds <%s>; only <settings> belong there", (const char *)s->name);
                else
                        check_settings(&c, s, &seen);
        }
        if (c.oom) {
                free(c.problem);
                return -ENOMEM;
        }
        if (!c.problem)
                return 0;
        if (problem)
                *problem = c.problem;
        else
                free(c.problem);
        return -EINVAL;
}

/* --- names --- */

char *win_computer_name_random(const char *os) {
        _cleanup_xml_doc_ xmlDocPtr data = NULL;
        if (load_os_data(os, &data) < 0)
                return NULL;
        xmlNode *cn = child_element(xmlDocGetRootElement(data), "computer-name");
        _cleanup_xml_char_ xmlChar *pattern = cn ? xmlGetNoNsProp(cn, BAD_CAST "pattern") : NULL;
        _cleanup_xml_char_ xmlChar *words_s = cn ? xmlGetNoNsProp(cn, BAD_CAST "words") : NULL;
        if (!pattern) {
                log_error("answer-file data of %s has no <computer-name pattern=...>", os);
                return NULL;
        }
        _cleanup_strv_free_ char **words = NULL;
        char *save = NULL;
        for (char *w = words_s ? strtok_r((char *)words_s, " ", &save) : NULL; w; w = strtok_r(NULL, " ", &save))
                if (strv_extend(&words, w) < 0) {
                        log_oom();
                        return NULL;
                }
        char out[64];
        size_t o = 0;
        for (const char *p = (const char *)pattern; *p && o < sizeof out - 1;) {
                unsigned n;
                char tail;
                if (startswith(p, "{word}") && words) {
                        o += (size_t)snprintf(out + o, sizeof out - o, "%s", words[random_u32_below((uint32_t)strv_length(words))]);
                        p += strlen("{word}");
                } else if (sscanf(p, "{alnum%u%c", &n, &tail) == 2 && tail == '}' && n < sizeof out - o) {
                        _cleanup_free_ char *r = random_serial(n);
                        if (!r) {
                                log_oom();
                                return NULL;
                        }
                        o += (size_t)snprintf(out + o, sizeof out - o, "%s", r);
                        p = strchr(p, '}') + 1;
                } else
                        out[o++] = *p++;
        }
        out[o] = 0;
        if (win_computer_name_check(out) < 0)
                return NULL;
        char *r = strdup(out);
        if (!r)
                log_oom();
        return r;
}

int win_computer_name_check(const char *name) { return vcheck_windows_hostname(name); }

int win_user_name_check(const char *name) {
        static const char *const reserved[] = { "Guest", "DefaultAccount", "WDAGUtilityAccount", "SYSTEM",
                                                "LOCAL SERVICE", "NETWORK SERVICE", "None", NULL };
        const char *why = NULL;
        size_t len = name ? utf8_length(name) : 0;
        if (len == 0)
                why = "it is empty";
        else if (len > 20)
                why = "it is longer than 20 characters";
        else if (strpbrk(name, "\"/\\[]:;|=,+*?<>@"))
                why = "it contains one of \"/\\[]:;|=,+*?<>@";
        else if (name[strlen(name) - 1] == '.')
                why = "it ends in '.'";
        else if (strspn(name, ". ") == strlen(name))
                why = "it is only dots and spaces";
        for (const char *p = name; !why && *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        why = "it contains control characters";
        for (size_t i = 0; !why && reserved[i]; i++)
                if (strcasecmp(name, reserved[i]) == 0)
                        why = "it is a reserved Windows account";
        if (!why)
                return 0;
        /* A name with control characters is not echoed: the message stays one line. */
        bool printable = !strpbrk(strempty(name), "\t\r\n\x0b\x0c");
        log_error("invalid Windows user name '%s': %s; a Windows user name is 1 to 20 characters, none of "
                  "\"/\\[]:;|=,+*?<>@, not ending in '.'", printable ? strempty(name) : "...", why);
        return -EINVAL;
}
