#include "CMallocCounter.h"
#include <stddef.h>

// glibc's own allocator entry points (exported by libc.so.6).
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static _Thread_local int counting;
static _Thread_local long calls;

void *malloc(size_t n) { if (counting) calls++; return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { if (counting) calls++; return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { if (counting) calls++; return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }

void credit_malloc_count_begin(void) { calls = 0; counting = 1; }
long credit_malloc_count_end(void) { counting = 0; return calls; }
