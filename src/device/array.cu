// Array on a thrust::device_vector<float>; the device system query.
// Design: docs/design.md#the-thrust-engine
#include "device/array.hpp"

#include <string>

#include <thrust/copy.h>
#include <thrust/device_vector.h>
#include <thrust/fill.h>

#include "core/error.hpp"

#ifdef __CUDACC__
#include <cuda_runtime.h>
#endif

namespace am::device {

struct Array::Impl {
    thrust::device_vector<float> v;
    std::size_t n = 0;  // the logical size; v.size() is the capacity
};

Array::Array() : impl_(std::make_unique<Impl>()) {}
Array::Array(std::size_t n) : impl_(std::make_unique<Impl>()) {
    impl_->v.assign(n, 0.0f);
    impl_->n = n;
}
Array::~Array() = default;
Array::Array(Array&&) noexcept = default;
Array& Array::operator=(Array&&) noexcept = default;

std::size_t Array::size() const { return impl_->n; }

void Array::resize(std::size_t n) {
    if (n > impl_->v.size()) {
        impl_->v.clear();
        impl_->v.shrink_to_fit();
        impl_->v.resize(n);
    }
    impl_->n = n;
}

float* Array::data() { return thrust::raw_pointer_cast(impl_->v.data()); }
const float* Array::data() const { return thrust::raw_pointer_cast(impl_->v.data()); }

void Array::upload(const float* host, std::size_t n) {
    resize(n);
    thrust::copy(host, host + n, impl_->v.begin());
}

void Array::download(float* host) const {
    thrust::copy(impl_->v.begin(), impl_->v.begin() + impl_->n, host);
}

void Array::download(float* host, std::size_t offset, std::size_t n) const {
    AM_CHECK(offset + n <= impl_->n, "device array: reading " + std::to_string(n) + " floats at " +
                                         std::to_string(offset) + " of " + std::to_string(impl_->n));
    thrust::copy(impl_->v.begin() + offset, impl_->v.begin() + offset + n, host);
}

void Array::write(std::size_t offset, const float* host, std::size_t n) {
    AM_CHECK(offset + n <= impl_->n, "device array: writing " + std::to_string(n) + " floats at " +
                                         std::to_string(offset) + " of " + std::to_string(impl_->n));
    thrust::copy(host, host + n, impl_->v.begin() + offset);
}

std::vector<float> Array::to_host() const {
    std::vector<float> h(impl_->n);
    download(h.data());
    return h;
}

void Array::copy_from(const Array& other) {
    resize(other.size());
    thrust::copy(other.impl_->v.begin(), other.impl_->v.begin() + other.size(), impl_->v.begin());
}

void Array::fill(float value) { thrust::fill(impl_->v.begin(), impl_->v.begin() + impl_->n, value); }

const char* device_system() {
#if THRUST_DEVICE_SYSTEM == THRUST_DEVICE_SYSTEM_CUDA
    return "cuda";
#elif THRUST_DEVICE_SYSTEM == THRUST_DEVICE_SYSTEM_OMP
    return "omp";
#else
    return "cpp";
#endif
}

bool device_available() {
#ifdef __CUDACC__
    int count = 0;
    return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
#else
    return true;
#endif
}

void require_device() {
#ifdef __CUDACC__
    int count = 0;
    const cudaError_t e = cudaGetDeviceCount(&count);
    AM_CHECK(e == cudaSuccess && count > 0,
             std::string("thrust backend (CUDA build): no usable GPU (") +
                 (e == cudaSuccess ? "0 devices" : cudaGetErrorString(e)) + ")");
#endif
}

}  // namespace am::device
