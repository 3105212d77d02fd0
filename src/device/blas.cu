// gemm: cblas_sgemm in the CPU build, cublasSgemm in the CUDA build.
// Design: docs/design.md#the-thrust-engine
#include "device/blas.hpp"

#include <string>

#include "core/error.hpp"

#ifdef __CUDACC__
#include <cublas_v2.h>
#else
#include <cblas.h>
#endif

namespace am::device {

#ifdef __CUDACC__
namespace {
// One handle for the process, created on first use.
cublasHandle_t handle() {
    static cublasHandle_t h = [] {
        cublasHandle_t created = nullptr;
        const cublasStatus_t s = cublasCreate(&created);
        AM_CHECK(s == CUBLAS_STATUS_SUCCESS,
                 "gemm: cublasCreate failed with status " + std::to_string(int(s)));
        return created;
    }();
    return h;
}
}  // namespace
#endif

void gemm(bool transA, bool transB, int m, int n, int k, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc) {
    AM_CHECK(m >= 0 && n >= 0 && k >= 0, "gemm: negative size m " + std::to_string(m) + ", n " +
                                             std::to_string(n) + ", k " + std::to_string(k));
    if (m == 0 || n == 0) return;
#ifdef __CUDACC__
    // Row-major C (m, n) is column-major C^T (n, m) = op(B)^T (n, k) op(A)^T (k, m).
    const cublasStatus_t s =
        cublasSgemm(handle(), transB ? CUBLAS_OP_T : CUBLAS_OP_N, transA ? CUBLAS_OP_T : CUBLAS_OP_N, n, m,
                    k, &alpha, B, ldb, A, lda, &beta, C, ldc);
    AM_CHECK(s == CUBLAS_STATUS_SUCCESS, "gemm: cublasSgemm failed with status " + std::to_string(int(s)));
#else
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n,
                k, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

}  // namespace am::device
