// The device layer's one matrix product (never written by hand: a Thrust-only
// product measured 8x slower than OpenBLAS).
//
//   C (m, n) = alpha op(A) op(B) + beta C,   op(A) (m, k), op(B) (k, n),
//
// all row-major device pointers with leading dimensions lda, ldb, ldc (the row
// strides of A, B, C as stored). CPU build: cblas_sgemm (OpenBLAS). CUDA
// build: cublasSgemm, which is column-major, so it computes the transpose
// C^T = op(B)^T op(A)^T with the operands swapped.
// Reference twin: am::gemm (src/core/tensor.hpp), compared in tests/test_device.cpp.
// Design: docs/design.md#the-thrust-engine
#pragma once

namespace am::device {

void gemm(bool transA, bool transB, int m, int n, int k, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc);

}  // namespace am::device
