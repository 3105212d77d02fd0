// Numbers in text: command-line values ("constant:0.5", "--lambdas 1,4"),
// reward specs, CSV fields and checkpoint entries all go through these; and
// numbers in messages (format_number). The
// whole string must be the number (no spaces, no trailing characters), in the
// C locale's format whatever the user's locale is. Non-finite values ("inf",
// "nan") parse: callers that need finite numbers say so in their message.
// Design: docs/design.md#core
#pragma once

#include <charconv>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace am {

// The whole of s as a T (double, long, ...), or nothing.
template <class T>
std::optional<T> parse_number(std::string_view s) {
    T v{};
    const char* end = s.data() + s.size();
    const auto [ptr, ec] = std::from_chars(s.data(), end, v);
    if (s.empty() || ec != std::errc() || ptr != end) return std::nullopt;
    return v;
}
inline std::optional<double> parse_double(std::string_view s) { return parse_number<double>(s); }
inline std::optional<long> parse_long(std::string_view s) { return parse_number<long>(s); }

// A number for a message: %g ("3e+20", "0.5", "inf", "-inf"), and "nan"
// for every NaN (printf writes "-nan" for some).
inline std::string format_number(double v) {
    if (v != v) return "nan";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
}

// "a,b,,c" -> {"a", "b", "", "c"}; "" -> {""}.
inline std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t at = s.find(sep, start);
        out.emplace_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
        if (at == std::string_view::npos) return out;
        start = at + 1;
    }
}

}  // namespace am
