/* Streaming multipart/form-data parser: bodies of any size pass through a fixed-size buffer. */
#pragma once

#include <stddef.h>

#define MULTIPART_MAX_BOUNDARY 200
#define MULTIPART_MAX_PART_HEAD (16 * 1024)

struct multipart_callbacks {
        /* A part starts; name/filename are "" when absent. A negative return aborts. */
        int (*part_begin)(void *userdata, const char *name, const char *filename);
        int (*part_data)(void *userdata, const char *data, size_t len);
        int (*part_end)(void *userdata);
};

struct multipart;

/* Errors: -ENOMEM, or -EINVAL for a bad boundary. */
int multipart_new(const char *boundary, const struct multipart_callbacks *cb, void *userdata,
                  struct multipart **ret);
/* Feed body bytes in any slicing. Returns 0, a callback's negative value, or -EBADMSG for
 * malformed input (-E2BIG for an oversize part head). After an error, further feeds fail. */
int multipart_feed(struct multipart *m, const char *data, size_t len);
/* The body has ended: 0 if the closing boundary was seen, else -EBADMSG (truncated). */
int multipart_finish(struct multipart *m);
void multipart_free(struct multipart *m);
