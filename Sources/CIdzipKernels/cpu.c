// The one level every kernel family uses: CPU detection, the environment variables and
// forcing. See include/CIdzipKernels.h.
#pragma clang fp contract(off)

#include "CIdzipKernels.h"
#include "levels.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/// -2 until detected.
static _Atomic int best_level = -2;
/// -2 until first use; then the level in use.
static _Atomic int level_in_use = -2;

static int detect_best_level(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    // The features of IDZ_TARGET_AVX512 and IDZ_TARGET_AVX2 (levels.h).
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return IDZ_KERNELS_AVX512;
    if (__builtin_cpu_supports("avx2")) return IDZ_KERNELS_AVX2;
#endif
    return IDZ_KERNELS_PORTABLE;
}

int idz_kernels_best(void) {
    int level = atomic_load_explicit(&best_level, memory_order_relaxed);
    if (level < -1) {
        level = detect_best_level();
        atomic_store_explicit(&best_level, level, memory_order_relaxed);
    }
    return level;
}

int idz_kernels_supported(int level) {
    int best = idz_kernels_best();
    if (level < IDZ_KERNELS_PORTABLE) return IDZ_KERNELS_PORTABLE;
    return level < best ? level : best;
}

/// The level `name` names, else AUTO.
static int level_named(const char *name) {
    if (!name) return IDZ_KERNELS_AUTO;
    if (strcmp(name, "portable") == 0) return IDZ_KERNELS_PORTABLE;
    if (strcmp(name, "avx2") == 0) return IDZ_KERNELS_AVX2;
    if (strcmp(name, "avx512") == 0) return IDZ_KERNELS_AVX512;
    return IDZ_KERNELS_AUTO;
}

int idz_kernels_requested(const char *kernels, const char *randomAlias, const char *projectionAlias) {
    const char *names[3] = {kernels, randomAlias, projectionAlias};
    for (int k = 0; k < 3; k++) {
        int level = level_named(names[k]);
        if (level != IDZ_KERNELS_AUTO) return level;
    }
    return IDZ_KERNELS_AUTO;
}

static int automatic_level(void) {
    int requested = idz_kernels_requested(
        getenv("IDZIP_KERNELS"), getenv("IDZIP_RANDOM_KERNELS"), getenv("IDZIP_PROJECTION_KERNELS"));
    return requested == IDZ_KERNELS_AUTO ? idz_kernels_best() : idz_kernels_supported(requested);
}

int idz_kernels_level(void) {
    int level = atomic_load_explicit(&level_in_use, memory_order_relaxed);
    if (level < -1) {
        level = automatic_level();
        atomic_store_explicit(&level_in_use, level, memory_order_relaxed);
    }
    return level;
}

int idz_kernels_force(int level) {
    level = level == IDZ_KERNELS_AUTO ? automatic_level() : idz_kernels_supported(level);
    atomic_store_explicit(&level_in_use, level, memory_order_relaxed);
    return level;
}
