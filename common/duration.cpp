#include "common/duration.hpp"

#include <cmath>
#include <string>

namespace cairn {

Result<std::chrono::milliseconds> parseDuration(std::string_view text) {
  if (text.empty()) return invalidArgument("empty duration");
  std::string_view s = text;
  bool bareNumber = s.find_first_not_of("0123456789.") == std::string_view::npos;
  if (bareNumber) {
    double secs = 0;
    try {
      secs = std::stod(std::string(s));
    } catch (...) {
      return invalidArgument("bad duration \"" + std::string(text) + "\"");
    }
    if (secs > 1e9) return invalidArgument("duration too large: " + std::string(text));
    return std::chrono::milliseconds(static_cast<long long>(secs * 1000));
  }
  double totalMs = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    if (start == i) return invalidArgument("bad duration \"" + std::string(text) + "\"");
    double num = 0;
    try {
      num = std::stod(std::string(s.substr(start, i - start)));
    } catch (...) {
      return invalidArgument("bad duration \"" + std::string(text) + "\"");
    }
    size_t ustart = i;
    while (i < s.size() && !((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    std::string_view unit = s.substr(ustart, i - ustart);
    double mult = 0;
    if (unit == "ns")
      mult = 1e-6;
    else if (unit == "us" || unit == "\xC2\xB5s")
      mult = 1e-3;
    else if (unit == "ms")
      mult = 1;
    else if (unit == "s")
      mult = 1000;
    else if (unit == "m")
      mult = 60'000;
    else if (unit == "h")
      mult = 3'600'000;
    else
      return invalidArgument("bad duration \"" + std::string(text) + "\": unknown unit \"" +
                             std::string(unit) + "\"");
    totalMs += num * mult;
    if (totalMs > 1e15) return invalidArgument("duration too large: " + std::string(text));
  }
  return std::chrono::milliseconds(static_cast<long long>(std::llround(totalMs)));
}

std::string formatDuration(std::chrono::milliseconds d) {
  long long ms = d.count();
  if (ms % 1000 != 0) return std::to_string(ms) + "ms";
  long long s = ms / 1000;
  if (s < 60) return std::to_string(s) + "s";
  long long m = s / 60;
  s %= 60;
  if (m < 60) return std::to_string(m) + "m" + std::to_string(s) + "s";
  return std::to_string(m / 60) + "h" + std::to_string(m % 60) + "m" + std::to_string(s) + "s";
}

}  // namespace cairn
