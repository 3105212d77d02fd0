// Design: docs/design.md#command-line
#include "cli/common.hpp"

#include <cmath>
#include <limits>

#include "core/parse.hpp"

namespace am::cli {

CLI::Validator integer_in(long lo, long hi) {
    const std::string range = "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
    return CLI::Validator(
        [lo, hi, range](std::string& s) -> std::string {
            const auto v = parse_long(s);
            if (!v || *v < lo || *v > hi) return "must be an integer in " + range + ", got '" + s + "'";
            return "";
        },
        "INT in " + range);
}

CLI::Validator real_in(double lo, double hi, bool open_lo, bool open_hi) {
    const std::string range = (open_lo ? "(" : "[") + format_number(lo) + ", " + format_number(hi) + (open_hi ? ")" : "]");
    return CLI::Validator(
        [=](std::string& s) -> std::string {
            const auto v = parse_double(s);
            if (!v || !std::isfinite(*v) || *v < lo || *v > hi || (open_lo && *v == lo) || (open_hi && *v == hi))
                return "must be a number in " + range + ", got '" + s + "'";
            return "";
        },
        "NUMBER in " + range);
}

CLI::Validator seed_value() { return integer_in(0, std::numeric_limits<long>::max()); }

void check_ode_method(const CLI::App& cmd, const std::string& noise) {
    AM_CHECK(noise == "ode" || cmd.count("--ode-method") == 0,
             "--ode-method is for --noise ode; with the SDE noise schedule '" + noise +
                 "' the sampler is the SDE's (--scheme)");
}

void check_loss_steps(const std::string& spec, int K) {
    if (spec.rfind("last:", 0) != 0) return;
    const auto n = parse_long(spec.substr(5));
    AM_CHECK(n && *n >= 1 && *n <= K, "--loss-steps " + spec + ": N must be in [1, K] with K = --steps = " +
                                          std::to_string(K));
}

void require_positive(double v, const std::string& option) {
    AM_CHECK(v > 0 && std::isfinite(v), option + " must be positive, got " + std::to_string(v));
}

}  // namespace am::cli
