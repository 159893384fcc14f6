#include "dns/wire.hpp"

namespace cairn::dns {

size_t encodeName(std::string_view dotted, uint8_t* out, bool lower) {
  if (dotted == "." || dotted.empty()) {
    out[0] = 0;
    return 1;
  }
  if (dotted.back() == '.') dotted.remove_suffix(1);
  size_t len = 0, start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    std::string_view label =
        dotted.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > kMaxLabel) return 0;
    if (len + 1 + label.size() + 1 > kMaxNameWire) return 0;  // room for the root label
    out[len++] = static_cast<uint8_t>(label.size());
    for (char c : label)
      out[len++] = lower ? asciiLower(static_cast<uint8_t>(c)) : static_cast<uint8_t>(c);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  out[len++] = 0;
  return len;
}

bool encodeName(std::string_view dotted, std::string& out, bool lower) {
  uint8_t buf[kMaxNameWire];
  size_t n = encodeName(dotted, buf, lower);
  out.assign(reinterpret_cast<const char*>(buf), n);
  return n != 0;
}

}  // namespace cairn::dns
