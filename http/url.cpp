#include "http/url.hpp"

namespace cairn::http {

Result<std::string> percentDecode(std::string_view s, bool plusIsSpace) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return invalidArgument("bad percent-escape in URL");
      int h = hex(s[i + 1]), l = hex(s[i + 2]);
      if (h < 0 || l < 0) return invalidArgument("bad percent-escape in URL");
      c = static_cast<char>(h * 16 + l);
      i += 2;
    } else if (c == '+' && plusIsSpace) {
      c = ' ';
    }
    if (c == '\0') return invalidArgument("NUL byte in URL");
    out.push_back(c);
  }
  return out;
}

Result<Target> parseTarget(std::string_view target) {
  Target t;
  size_t q = target.find('?');
  auto path = percentDecode(target.substr(0, q), false);
  if (!path.ok()) return path.error();
  t.path = std::move(*path);
  if (t.path.empty() || t.path[0] != '/')
    return invalidArgument("request target must start with /");
  if (q == std::string_view::npos) return t;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    auto k = percentDecode(part.substr(0, eq), true);
    if (!k.ok()) return k.error();
    std::string v;
    if (eq != std::string_view::npos) {
      auto dv = percentDecode(part.substr(eq + 1), true);
      if (!dv.ok()) return dv.error();
      v = std::move(*dv);
    }
    t.query.emplace_back(std::move(*k), std::move(v));
  }
  return t;
}

}  // namespace cairn::http
