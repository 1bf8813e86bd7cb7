// Which instruction set the kernels use: the best the processor has, found once.
#pragma clang fp contract(off)

#include "CProjectionKernels.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/// -1 until first asked.
static _Atomic int best_level = -1;
static _Atomic int level_in_use = -1;

static idz_kernel_level detect_best_level(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return IDZ_KERNEL_LEVEL_AVX512;
    if (__builtin_cpu_supports("avx2")) return IDZ_KERNEL_LEVEL_AVX2;
#endif
    return IDZ_KERNEL_LEVEL_PORTABLE;
}

idz_kernel_level idz_kernel_best_level(void) {
    int level = atomic_load_explicit(&best_level, memory_order_relaxed);
    if (level < 0) {
        level = (int)detect_best_level();
        atomic_store_explicit(&best_level, level, memory_order_relaxed);
    }
    return (idz_kernel_level)level;
}

idz_kernel_level idz_kernel_supported(idz_kernel_level level) {
    idz_kernel_level best = idz_kernel_best_level();
    return level < best ? level : best;
}

idz_kernel_level idz_kernel_level_in_use(void) {
    int level = atomic_load_explicit(&level_in_use, memory_order_relaxed);
    if (level < 0) {
        idz_kernel_level wanted = IDZ_KERNEL_LEVEL_AVX512;
        const char *name = getenv("IDZIP_PROJECTION_KERNELS");
        if (name && strcmp(name, "portable") == 0) wanted = IDZ_KERNEL_LEVEL_PORTABLE;
        if (name && strcmp(name, "avx2") == 0) wanted = IDZ_KERNEL_LEVEL_AVX2;
        level = (int)idz_kernel_supported(wanted);
        atomic_store_explicit(&level_in_use, level, memory_order_relaxed);
    }
    return (idz_kernel_level)level;
}
