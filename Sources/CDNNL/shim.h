// The only C header the engine sees for oneDNN. Macros that do not import
// into Swift are re-exported here as static inline functions.
#ifndef NORMBENCH_CDNNL_SHIM_H
#define NORMBENCH_CDNNL_SHIM_H

#include <dnnl.h>
#include <dlfcn.h>
#include <stdlib.h>

static inline void *nb_dnnl_memory_allocate(void) { return DNNL_MEMORY_ALLOCATE; }
static inline int nb_dnnl_arg_src(void) { return DNNL_ARG_SRC; }
static inline int nb_dnnl_arg_dst(void) { return DNNL_ARG_DST; }
static inline int nb_dnnl_arg_weights(void) { return DNNL_ARG_WEIGHTS; }
static inline int nb_dnnl_arg_bias(void) { return DNNL_ARG_BIAS; }
static inline int nb_dnnl_arg_diff_src(void) { return DNNL_ARG_DIFF_SRC; }
static inline int nb_dnnl_arg_diff_dst(void) { return DNNL_ARG_DIFF_DST; }
static inline int nb_dnnl_arg_diff_weights(void) { return DNNL_ARG_DIFF_WEIGHTS; }
static inline int nb_dnnl_arg_diff_bias(void) { return DNNL_ARG_DIFF_BIAS; }
static inline int nb_dnnl_arg_scratchpad(void) { return DNNL_ARG_SCRATCHPAD; }
static inline int nb_dnnl_arg_from(void) { return DNNL_ARG_FROM; }
static inline int nb_dnnl_arg_to(void) { return DNNL_ARG_TO; }

/// Sets the OpenMP thread count (oneDNN's runtime is libgomp) for the calling
/// thread's subsequent parallel regions. Looked up at run time in the libgomp
/// that libdnnl already loaded, so nothing extra is linked. Returns 0 when
/// found and called, -1 otherwise. The setting is per calling thread (an ICV),
/// so the engine calls it before every oneDNN execution.
static inline int nb_omp_set_num_threads(int n) {
    static void (*fn)(int) = 0;
    static int looked = 0;
    if (!looked) { fn = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads"); looked = 1; }
    if (!fn) return -1;
    fn(n);
    return 0;
}

/// omp_get_max_threads() of the calling thread, or -1 when libgomp is absent.
static inline int nb_omp_get_max_threads(void) {
    int (*fn)(void) = (int (*)(void))dlsym(RTLD_DEFAULT, "omp_get_max_threads");
    return fn ? fn() : -1;
}

/// glibc's malloc_trim(0): returns the C heap's free pages to the system, so the
/// resident size counts memory in use. Looked up at run time like the OpenMP
/// calls above (a no-op where the C library has no such function).
static inline void nb_malloc_trim(void) {
    int (*fn)(size_t) = (int (*)(size_t))dlsym(RTLD_DEFAULT, "malloc_trim");
    if (fn) fn(0);
}

/// The ISA the including translation unit was compiled for: tells at run time
/// which -march the Swift modules were built with (clang's importer compiles
/// this with the same -Xcc flags as the Swift code).
static inline const char *nb_build_target_features(void) {
    return ""
#if defined(__AVX512F__)
        "avx512f "
#endif
#if defined(__AVX2__)
        "avx2 "
#endif
#if defined(__FMA__)
        "fma "
#endif
#if defined(__AVX__)
        "avx "
#endif
#if defined(__SSE4_2__)
        "sse4.2 "
#endif
#if defined(__aarch64__)
        "neon "
#endif
        ;
}

#endif
