// libFuzzer target: the checkpoint reader (nn/checkpoint.hpp) on arbitrary
// bytes, then the layer sizes its metadata implies checked against its
// tensors (what loading a model does before it allocates one): a checkpoint
// or an am::Error, never a crash, a leak or a sanitizer report. The checksum
// is recomputed over the input first (when it is long enough), so that the
// fuzzer reaches the parsing behind it instead of stopping at the CRC.
// Design: docs/design.md#tests-notebooks-benchmarks
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include <zlib.h>

#include "nn/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string bytes(reinterpret_cast<const char*>(data), size);
    if (size >= 4 && (size & 1)) {  // half the inputs get a correct checksum
        const std::uint32_t crc = std::uint32_t(crc32(0L, data, uInt(size - 4)));
        std::memcpy(&bytes[size - 4], &crc, 4);
    }
    try {
        const am::nn::Checkpoint ck = am::nn::parse_checkpoint(bytes, "fuzz.ckpt");
        am::nn::checkpoint_layer_sizes(ck);
    } catch (const am::Error&) {
    }
    return 0;
}
