// libFuzzer target: the samples CSV reader (data/csv.hpp) on arbitrary text.
// Any input must give a matrix or an am::Error, never a crash, a leak, a
// sanitizer report or an allocation beyond what the text holds.
// Design: docs/design.md#tests-notebooks-benchmarks
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    try {
        am::data::parse_samples_csv(std::string(reinterpret_cast<const char*>(data), size), "fuzz.csv");
    } catch (const am::Error&) {
    }
    return 0;
}
