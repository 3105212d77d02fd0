// Threads: OpenMP for the project's own loops, OpenBLAS's pool for matrix
// products. The two must not fight over the same cores.
// Design: docs/design.md#core
#pragma once

#include <string>

namespace am {

// Number of OpenMP threads (1 without OpenMP).
int omp_threads();
// Sets the OpenMP pool and the BLAS pool sizes (either may be 0: leave as is).
void set_threads(int omp, int blas);
// Number of BLAS threads (OpenBLAS's openblas_get_num_threads).
int blas_threads();
// OpenBLAS picks its kernels from the CPU model when it is loaded. On a
// virtual machine that reports a generic model it falls back to its oldest
// kernels (Prescott, SSE3), 3-5x slower than the CPU can go. If that
// happened and the CPU has AVX-512 (or AVX2), this re-executes the program
// with OPENBLAS_CORETYPE=SkylakeX (or Haswell), once; otherwise it returns.
// A user's own OPENBLAS_CORETYPE is respected.
void ensure_fast_blas_kernels(char** argv);

// Keeps large freed blocks in the heap for reuse (glibc otherwise returns
// every block over its mmap threshold to the system and page-faults it back
// on the next op: the sampler and the adjoint allocate the same shapes at
// every step).
void keep_freed_memory();

// Both of the above: call first thing in main().
inline void init_runtime(char** argv) {
    ensure_fast_blas_kernels(argv);
    keep_freed_memory();
}
// The kernel family OpenBLAS uses ("SkylakeX", "Haswell", "Prescott", ...).
std::string blas_kernels();

// One line: compiler, OpenMP, BLAS and their thread counts.
std::string build_info();

}  // namespace am
