/* Inside guest/ only: writing a libisofs image to a file, shared by the linux ISO builder and
 * the Windows media combiner. Includes libisofs, so no public header includes it. */
#pragma once

#define LIBISOFS_WITHOUT_LIBBURN 1
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <libisofs/libisofs.h>

/* The oldest queued libisofs message (messages at SORRY and above are queued by the caller's
 * iso_set_msgs_severities), else libisofs's text for code; for our one error line. */
const char *libisofs_reason(int code, char *buf, size_t size);

/* Write img with wo into a temporary file beside out, renamed into place once complete:
 * out is whole or absent. Honours Ctrl-C (-ECANCELED); one line on failure. */
int libisofs_write_file(IsoImage *img, IsoWriteOpts *wo, const char *out);

/* Write out through fill(fd) into a temporary file beside it, then move it into place with
 * mode 0644: replace = rename over an existing out, else link (an existing out is kept and
 * -EEXIST returned). fill logs its own errors; out is whole or absent. */
int guest_write_atomic(const char *out, bool replace, int (*fill)(int fd, void *userdata), void *userdata);
