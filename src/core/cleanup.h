/* Scope-based cleanup helpers (GCC/Clang cleanup attribute), systemd style. */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                close(*fd);
                errno = saved;
        }
}
static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Define a pointer cleanup function for a type with a free function. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                         \
        static inline void func##p(type *p) {                           \
                if (*p)                                                 \
                        func(*p);                                       \
        }

/* Take ownership away from a _cleanup_ variable. */
#define TAKE_PTR(ptr)                                                   \
        ({                                                              \
                __typeof__(ptr) _ptr_ = (ptr);                          \
                (ptr) = NULL;                                           \
                _ptr_;                                                  \
        })

#define TAKE_FD(fd)                                                     \
        ({                                                              \
                int _fd_ = (fd);                                        \
                (fd) = -1;                                              \
                _fd_;                                                   \
        })

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
