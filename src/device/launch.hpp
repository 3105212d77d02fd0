// How the .cu files run a functor of src/device/functors.hpp over its index
// space, one source for both builds (included by .cu files only: it brings Thrust).
//
//   for_each_row(rows, cols, f)   f(r, c0, c1) covers the columns [c0, c1) of row r;
//                                 every (r, c), r < rows, c < cols, exactly once
//   for_each_range(n, f)          f(i0, i1) covers [i0, i1); every i < n exactly once
//   for_each_index(n, f)          f(i) for every i < n (per-row reductions: one row each, both builds)
//
// CPU builds (OpenMP or serial backend): one call per row, or per chunk of
// kChunk elements, so that the functor's inner loop runs over contiguous
// memory with no index arithmetic and the compiler vectorises it (AM_SIMD);
// Thrust spreads the rows / chunks over the threads. CUDA build: one call
// per element (c1 = c0 + 1), so that a GPU runs one thread per element.
// (Measured before this form, 1 thread: the per-element form with i / width
// and i % width in each call and a scalar exp took 51% of am2d's time.)
// Design: docs/design.md#the-thrust-engine
#pragma once

#include <algorithm>
#include <cstddef>

#include <thrust/execution_policy.h>
#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>

namespace am::device {

template <class F>
void for_each_index(std::size_t n, const F& f) {
    thrust::for_each(thrust::device, thrust::counting_iterator<std::size_t>(0),
                     thrust::counting_iterator<std::size_t>(n), f);
}

namespace launch_detail {
#ifdef __CUDACC__
template <class F>
struct ElementOfRow {
    F f;
    std::size_t cols;
    __host__ __device__ void operator()(std::size_t i) const {
        const std::size_t r = i / cols, c = i % cols;
        f(r, int(c), int(c + 1));
    }
};
template <class F>
struct ElementOfRange {
    F f;
    __host__ __device__ void operator()(std::size_t i) const { f(i, i + 1); }
};
#else
template <class F>
struct WholeRow {
    F f;
    int cols;
    void operator()(std::size_t r) const { f(r, 0, cols); }
};
template <class F>
struct Chunk {
    F f;
    std::size_t n, chunk;
    void operator()(std::size_t j) const { f(j * chunk, std::min(n, (j + 1) * chunk)); }
};
#endif
}  // namespace launch_detail

// Elements per call of for_each_range on the CPU: large enough that the call
// costs nothing beside its loop, small enough to spread 10^5 elements over threads.
constexpr std::size_t kChunk = 4096;

template <class F>
void for_each_row(std::size_t rows, int cols, const F& f) {
    if (rows == 0 || cols <= 0) return;
#ifdef __CUDACC__
    for_each_index(rows * std::size_t(cols), launch_detail::ElementOfRow<F>{f, std::size_t(cols)});
#else
    for_each_index(rows, launch_detail::WholeRow<F>{f, cols});
#endif
}

template <class F>
void for_each_range(std::size_t n, const F& f) {
    if (n == 0) return;
#ifdef __CUDACC__
    for_each_index(n, launch_detail::ElementOfRange<F>{f});
#else
    for_each_index((n + kChunk - 1) / kChunk, launch_detail::Chunk<F>{f, n, kChunk});
#endif
}

}  // namespace am::device
