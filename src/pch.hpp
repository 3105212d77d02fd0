// Precompiled header: the heavy, stable includes, parsed once per build
// (see the Makefile). Every translation unit gets it through -include, so
// sources still include what they use.
// Design: docs/design.md#core

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>
#include <xtensor/xio.hpp>
#include <xtensor-blas/xblas.hpp>
