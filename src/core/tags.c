/* Machine tag sets: sorted, without duplicates, stored as comma-separated text. */
#include "core/tags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

int tags_add(char ***set, const char *tag) {
        size_t n = strv_length(*set), i = 0;
        /* A handful of tags: a linear scan keeps the order without sorting afterwards. */
        while (i < n && strcmp((*set)[i], tag) < 0)
                i++;
        if (i < n && streq((*set)[i], tag))
                return 0;
        char *copy = strdup(tag);
        char **l = copy ? realloc(*set, sizeof(char *) * (n + 2)) : NULL;
        if (!l) {
                free(copy);
                return -ENOMEM;
        }
        memmove(l + i + 1, l + i, sizeof(char *) * (n - i));
        l[i] = copy;
        l[n + 1] = NULL;
        *set = l;
        return 0;
}

int tags_add_all(char ***set, char *const *tags) {
        STRV_FOREACH(t, tags) {
                int r = tags_add(set, *t);
                if (r < 0)
                        return r;
        }
        return 0;
}

int tags_parse(const char *text, char ***ret) {
        _cleanup_strv_free_ char **set = calloc(1, sizeof(char *));
        _cleanup_free_ char *copy = strdup(strempty(text));
        if (!set || !copy)
                return -ENOMEM;
        char *save = NULL;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                int r = tags_add(&set, tok);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(set);
        return 0;
}

int tags_format(char *const *set, char **ret) {
        if (strv_length(set) == 0) {
                *ret = NULL;
                return 0;
        }
        *ret = strv_join(set, ",");
        return *ret ? 0 : -ENOMEM;
}
