// The one definition of the instruction sets behind the levels of CIdzipKernels.h, for
// the kernels' function attributes; cpu.c detects the same features.
#ifndef C_IDZIP_KERNELS_LEVELS_H
#define C_IDZIP_KERNELS_LEVELS_H

#if defined(__x86_64__)
/// IDZ_KERNELS_AVX2.
#define IDZ_TARGET_AVX2 __attribute__((target("avx2")))
/// IDZ_KERNELS_AVX512: AVX512F, AVX512DQ and AVX512VL.
#define IDZ_TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl")))
#endif

#endif
