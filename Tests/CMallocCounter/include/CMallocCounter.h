#ifndef CMALLOCCOUNTER_H
#define CMALLOCCOUNTER_H
/// Test-only malloc call counter. This target defines malloc/calloc/realloc/free for the
/// test executable (they forward to glibc's __libc_* entry points) and counts the calls
/// made by a thread between begin and end. Other threads are never counted.
void credit_malloc_count_begin(void);
long credit_malloc_count_end(void);
#endif
