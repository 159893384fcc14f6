#include "dns/wire.hpp"

namespace cairn::dns {

bool encodeName(std::string_view dotted, std::string& out, bool lower) {
  out.clear();
  if (dotted == "." || dotted.empty()) {
    out.push_back('\0');
    return true;
  }
  if (dotted.back() == '.') dotted.remove_suffix(1);
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    std::string_view label =
        dotted.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > kMaxLabel) return false;
    out.push_back(static_cast<char>(label.size()));
    for (char c : label)
      out.push_back(lower ? static_cast<char>(asciiLower(static_cast<uint8_t>(c))) : c);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  out.push_back('\0');
  return out.size() <= kMaxNameWire;
}

}  // namespace cairn::dns
