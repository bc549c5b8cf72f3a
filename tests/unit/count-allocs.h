/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * n_allocs counts the heap allocations made anywhere in the test process, by interposing
 * malloc, calloc and realloc (glibc allows it). Include it in one test file only; under a
 * sanitizer (which interposes malloc itself) COUNT_ALLOCS is 0 and nothing is counted.
 */

#include <stddef.h>

/* Sanitizers interpose malloc themselves: count allocations only in the plain build. */
#if defined(__SANITIZE_ADDRESS__)
#define COUNT_ALLOCS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define COUNT_ALLOCS 0
#endif
#endif
#ifndef COUNT_ALLOCS
#define COUNT_ALLOCS 1
#endif

#if COUNT_ALLOCS
/* Counts the heap allocations made anywhere in the process (glibc allows interposing). */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
static size_t n_allocs;

void *malloc(size_t n)
{
        n_allocs++;
        return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
        n_allocs++;
        return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
        n_allocs++;
        return __libc_realloc(p, n);
}
#else
/* Nothing counts under a sanitizer; tests check COUNT_ALLOCS and skip. */
__attribute__((unused)) static size_t n_allocs;
#endif
