// libFuzzer target: the mixture JSON reader (data/mixture_json.hpp) on
// arbitrary text: a mixture or an am::Error, never a crash, a leak, a
// sanitizer report or a covariance allocation beyond the documented cap.
// Design: docs/design.md#tests-notebooks-benchmarks
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/mixture_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        am::data::parse_mixture_json(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json");
    } catch (const am::Error&) {
    }
    return 0;
}
