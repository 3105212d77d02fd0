#include "core/parallel.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

// OpenBLAS's own thread controls (declared in its cblas.h as well).
extern "C" {
int openblas_get_num_threads(void);
void openblas_set_num_threads(int);
char* openblas_get_config(void);
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

std::string build_info() {
    std::string s = "compiler: g++ " __VERSION__;
#ifdef _OPENMP
    s += "; OpenMP: yes (" + std::to_string(omp_threads()) + " threads)";
#else
    s += "; OpenMP: no";
#endif
    s += "; BLAS: " + std::string(openblas_get_config()) + " (" + std::to_string(blas_threads()) + " threads)";
#ifdef NDEBUG
    s += "; optimised build";
#else
    s += "; debug build";
#endif
    return s;
}

}  // namespace am
