#include "http/types.hpp"

namespace cairn::http {

const std::string* Request::param(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return &v;
  return nullptr;
}

bool Request::flag(std::string_view name) const {
  const auto* v = param(name);
  return v && *v != "false" && *v != "0";
}

std::vector<std::string> Request::params(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : query)
    if (k == name) out.push_back(v);
  return out;
}

Response Response::json(std::string body, int status) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::text(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  if (r.body.empty() || r.body.back() != '\n') r.body.push_back('\n');
  r.contentType = "text/plain; charset=utf-8";
  return r;
}

}  // namespace cairn::http
