/* Cuckoo machine tags as vmcloak keeps them: a set of names (core/validate.h NAME_MACHINE_TAG),
 * held as a sorted NULL-terminated strv and stored in the repository (image.tags,
 * snapshot.tags, schema 4) as one comma-separated text, "dotnet,office,pdfreader". */
#pragma once

/* The set a stored text holds: its ','-separated items, sorted, without duplicates or empty
 * items (a hand-edited row may have them). NULL or "" gives an empty set.
 * Out: 0 and *ret (never NULL; free with strv_free); -ENOMEM (no message). */
int tags_parse(const char *text, char ***ret);

/* Add tag to the sorted set *set (NULL: an empty one), unless it is in it already.
 * 0 or -ENOMEM (no message). */
int tags_add(char ***set, const char *tag);
/* Each of tags (NULL-terminated, may be NULL) with tags_add(). 0 or -ENOMEM. */
int tags_add_all(char ***set, char *const *tags);

/* The stored text of a set: its items joined by ','; NULL for an empty set (a row without tags
 * holds NULL, as VMCloak's rows do). Out: 0 and *ret; -ENOMEM. */
int tags_format(char *const *set, char **ret);
