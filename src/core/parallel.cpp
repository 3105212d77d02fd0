// Design: docs/design.md#core
#include "core/parallel.hpp"

#include <malloc.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>

#ifdef _OPENMP
#include <omp.h>
#endif

// OpenBLAS's own thread controls (declared in its cblas.h as well).
extern "C" {
int openblas_get_num_threads(void);
void openblas_set_num_threads(int);
char* openblas_get_config(void);
char* openblas_get_corename(void);
}

namespace am {

int omp_threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

void set_threads(int omp, int blas) {
#ifdef _OPENMP
    if (omp > 0) omp_set_num_threads(omp);
#else
    (void)omp;
#endif
    if (blas > 0) openblas_set_num_threads(blas);
}

int blas_threads() { return openblas_get_num_threads(); }

std::string blas_kernels() { return openblas_get_corename(); }

void ensure_fast_blas_kernels(char** argv) {
    if (std::getenv("OPENBLAS_CORETYPE") || std::getenv("AMFLOW_BLAS_REEXEC")) return;
    std::string core = blas_kernels();
    for (auto& ch : core) ch = char(std::tolower(static_cast<unsigned char>(ch)));
    const bool old = core == "prescott" || core == "core2" || core == "penryn" || core == "dunnington" ||
                     core == "nehalem" || core == "atom" || core == "katmai" || core == "coppermine" ||
                     core == "northwood" || core == "banias";
    if (!old) return;
    const char* better = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                         : __builtin_cpu_supports("avx2") ? "Haswell"
                                                          : nullptr;
    if (!better) return;
    setenv("OPENBLAS_CORETYPE", better, 1);
    setenv("AMFLOW_BLAS_REEXEC", "1", 1);
    execv("/proc/self/exe", argv);
    // execv returned: carry on with the slow kernels rather than fail
    std::fprintf(stderr, "note: OpenBLAS uses its %s kernels (could not re-execute with %s)\n",
                 blas_kernels().c_str(), better);
}

void keep_freed_memory() {
    mallopt(M_MMAP_THRESHOLD, 64 << 20);  // blocks below 64 MiB come from the heap
    mallopt(M_TRIM_THRESHOLD, 1 << 30);   // and freed memory up to 1 GiB stays there (no re-faulting)
}

std::string build_info() {
    std::string s = "compiler: g++ " __VERSION__;
#ifdef _OPENMP
    s += "; OpenMP: yes (" + std::to_string(omp_threads()) + " threads)";
#else
    s += "; OpenMP: no";
#endif
    s += "; BLAS: " + std::string(openblas_get_config()) + ", kernels " + blas_kernels() + " (" +
         std::to_string(blas_threads()) + " threads)";
#ifdef NDEBUG
    s += "; optimised build";
#else
    s += "; debug build";
#endif
    return s;
}

}  // namespace am
