// HOST_DEVICE marks a function that runs on the CPU and, in the CUDA build,
// on the GPU: `__host__ __device__` when nvcc compiles the file (__CUDACC__),
// nothing otherwise. The functors of src/device/ and the Philox generator use
// it, so one definition serves the OpenMP build (g++) and the CUDA build (nvcc).
// Design: docs/design.md#the-thrust-engine
#pragma once

#ifdef __CUDACC__
#define HOST_DEVICE __host__ __device__
#else
#define HOST_DEVICE
#endif
