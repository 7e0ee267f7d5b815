#include "CCPUFeatures.h"

int credit_cpu_has_avx2_fma(void) {
#if defined(__x86_64__) || defined(__i386__)
    // __builtin_cpu_supports reads cpuid once (and checks XGETBV, so an OS that does not
    // save the YMM registers reports no AVX2). __builtin_cpu_init makes the call safe even if
    // it ran before the runtime's own constructor.
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}
