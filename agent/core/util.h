/* SPDX-License-Identifier: MIT */
#pragma once

/* Small helpers shared by every module: cleanup attributes and fd/FILE closers. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
        free(*(void **)p);
}

static inline void closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}

static inline void fclosep(FILE **f)
{
        if (*f)
                fclose(*f);
}

#define _cleanup_(f)     __attribute__((cleanup(f)))
#define _cleanup_free_   _cleanup_(freep)
#define _cleanup_close_  _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hands ownership out of a cleanup variable: returns the value and clears the variable. */
#define TAKE_PTR(p)                        \
        ({                                 \
                __typeof__(p) _tmp_ = (p); \
                (p) = NULL;                \
                _tmp_;                     \
        })
#define TAKE_FD(fd)               \
        ({                        \
                int _tmp_ = (fd); \
                (fd) = -1;        \
                _tmp_;            \
        })
