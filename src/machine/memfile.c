/* Memory file formats: names, compression levels, magic numbers. */
#include "machine/memfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"

struct format {
        const char *name;
        unsigned default_level;   /* 0: the program takes no level */
        unsigned max_level;
        unsigned char magic[4];
        size_t magic_len;
};

static const struct format formats[] = {
        [VM_COMPRESS_LZ4] = { "lz4", 7, 12, { 0x04, 0x22, 0x4d, 0x18 }, 4 },
        [VM_COMPRESS_GZIP] = { "gzip", 3, 9, { 0x1f, 0x8b }, 2 },
        [VM_COMPRESS_ZSTD] = { "zstd", 3, 19, { 0x28, 0xb5, 0x2f, 0xfd }, 4 },
        [VM_COMPRESS_NONE] = { "none", 0, 0, { 'Q', 'E', 'V', 'M' }, 4 },
};

int vm_compress_level_range(enum vm_compress c, unsigned *ret_default, unsigned *ret_max) {
        if ((unsigned)c >= ELEMENTSOF(formats))
                return -EINVAL;
        *ret_default = formats[c].default_level;
        *ret_max = formats[c].max_level;
        return 0;
}

const char *vm_compress_to_string(enum vm_compress c) {
        return (unsigned)c < ELEMENTSOF(formats) ? formats[c].name : "?";
}

int vm_compress_from_string(const char *s, enum vm_compress *ret) {
        for (size_t i = 0; i < ELEMENTSOF(formats); i++)
                if (streq(s, formats[i].name)) {
                        *ret = (enum vm_compress)i;
                        return 0;
                }
        return -EINVAL;
}

bool vm_compress_cuckoo_compatible(enum vm_compress c) { return c != VM_COMPRESS_ZSTD; }

int vm_memfile_detect(const char *path, enum vm_compress *ret) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        unsigned char b[4];
        ssize_t k = read(fd, b, sizeof b);
        if (k < 0)
                return -EIO;
        if (k == 0)
                return -ENODATA;
        for (size_t i = 0; i < ELEMENTSOF(formats); i++)
                if ((size_t)k >= formats[i].magic_len && memcmp(b, formats[i].magic, formats[i].magic_len) == 0) {
                        *ret = (enum vm_compress)i;
                        return 0;
                }
        return -EINVAL;
}
