// Threads: OpenMP for the project's own loops, OpenBLAS's pool for matrix
// products. The two must not fight over the same cores.
#pragma once

#include <string>

namespace am {

// Number of OpenMP threads (1 without OpenMP).
int omp_threads();
// Sets the OpenMP pool and the BLAS pool sizes (either may be 0: leave as is).
void set_threads(int omp, int blas);
// Number of BLAS threads (OpenBLAS's openblas_get_num_threads).
int blas_threads();
// One line: compiler, OpenMP, BLAS and their thread counts.
std::string build_info();

}  // namespace am
