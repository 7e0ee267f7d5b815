/* LD_PRELOAD allocation counter for creditd (bench only). Every malloc, calloc, realloc,
 * memalign, posix_memalign, aligned_alloc and valloc call adds one to a 64-bit counter kept
 * in a shared file mapping ($MALLOC_COUNT_FILE), which credit-bench maps and reads while the
 * daemon runs: no signals, no syscalls on the counted path. The real work is done by glibc's
 * __libc_* entry points (no dlsym bootstrapping problem).
 *   cc -O2 -shared -fPIC -o malloc_count.so malloc_count.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

static uint64_t early_count;
static uint64_t *counter = &early_count;

__attribute__((constructor)) static void setup(void) {
    const char *path = getenv("MALLOC_COUNT_FILE");
    if (!path) return;
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return;
    if (ftruncate(fd, 4096) == 0) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p != MAP_FAILED) {
            *(uint64_t *)p = __atomic_load_n(&early_count, __ATOMIC_RELAXED);
            counter = (uint64_t *)p;
        }
    }
    close(fd);
}

#define COUNT() __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED)

void *malloc(size_t n) { COUNT(); return __libc_malloc(n); }
void *calloc(size_t a, size_t b) { COUNT(); return __libc_calloc(a, b); }
void *realloc(void *p, size_t n) { COUNT(); return __libc_realloc(p, n); }
void free(void *p) { __libc_free(p); }
void *memalign(size_t al, size_t n) { COUNT(); return __libc_memalign(al, n); }
void *aligned_alloc(size_t al, size_t n) { COUNT(); return __libc_memalign(al, n); }
void *valloc(size_t n) { COUNT(); return __libc_memalign((size_t)sysconf(_SC_PAGESIZE), n); }
int posix_memalign(void **out, size_t al, size_t n) {
    COUNT();
    if (al < sizeof(void *) || (al & (al - 1)) != 0) return EINVAL;
    void *p = __libc_memalign(al, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
