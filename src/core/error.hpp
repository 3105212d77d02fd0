// The project's one error type, without any array header: the device layer
// (src/device/, whose .cu files must not see xtensor) throws it too.
//
// Every user-facing failure (bad input, bad file, diverging run) is an
// am::Error whose message says what was wrong and where.
// Design: docs/design.md#core
#pragma once

#include <stdexcept>
#include <string>

namespace am {

struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

#define AM_CHECK(cond, msg)                                    \
    do {                                                       \
        if (!(cond)) throw ::am::Error(std::string(msg));      \
    } while (0)

}  // namespace am
