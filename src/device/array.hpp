// A float array in the device's memory: GPU memory in the CUDA build, host
// memory owned by Thrust's OpenMP (or serial) backend in the CPU build. The
// device routines take its raw pointer (data()) and sizes; the host sees its
// contents only through upload / download, one copy each way.
//
// This header is plain C++ (no Thrust, no xtensor), so .cpp files of any build
// can hold device arrays; the Thrust vector behind it lives in array.cu.
// Design: docs/design.md#the-thrust-engine
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace am::device {

class Array {
public:
    Array();
    explicit Array(std::size_t n);  // n zeros
    ~Array();
    Array(Array&&) noexcept;
    Array& operator=(Array&&) noexcept;
    Array(const Array&) = delete;  // copies are explicit: copy_from()
    Array& operator=(const Array&) = delete;

    std::size_t size() const;
    // Grows the storage when n exceeds what is held (contents then undefined);
    // never shrinks it, so a buffer reused across iterations is allocated once.
    void resize(std::size_t n);
    float* data();              // device pointer
    const float* data() const;  // device pointer

    void upload(const float* host, std::size_t n);  // resize(n), then host -> device
    void download(float* host) const;               // device -> host, size() floats
    // Part of the array: n floats from `offset` to the host, or from the host into it (no resize).
    void download(float* host, std::size_t offset, std::size_t n) const;
    void write(std::size_t offset, const float* host, std::size_t n);
    std::vector<float> to_host() const;
    void copy_from(const Array& other);             // device -> device
    void fill(float value);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The build's device system, "cuda", "omp" or "cpp" (Thrust's serial backend).
const char* device_system();

// Throws am::Error with one line when the build is CUDA and no usable GPU is
// present (the CPU builds always have their device).
void require_device();
// Whether require_device() would succeed.
bool device_available();

}  // namespace am::device
