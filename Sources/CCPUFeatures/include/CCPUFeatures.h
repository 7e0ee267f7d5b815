#ifndef CCPUFEATURES_H
#define CCPUFEATURES_H

/// 1 when this CPU (and the OS, which must save the 256-bit registers) supports AVX2 and FMA,
/// i.e. CreditCoreHaswell's kernels may run here; 0 otherwise, and always 0 off x86-64.
/// Cheap but not free (cpuid on first use); CreditCore caches the answer in `Kernels.variant`.
int credit_cpu_has_avx2_fma(void);

#endif
