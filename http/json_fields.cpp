#include "http/json_fields.hpp"

#include <boost/json/parse.hpp>
#include <cctype>

namespace cairn::http {
namespace json = boost::json;

namespace {

bool looseEqual(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (true) {
    while (i < a.size() && a[i] == '_') ++i;
    while (j < b.size() && b[j] == '_') ++j;
    if (i == a.size() || j == b.size()) return i == a.size() && j == b.size();
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[j])))
      return false;
    ++i;
    ++j;
  }
}

}  // namespace

Result<json::value> parseJson(std::string_view body) {
  size_t first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return json::value(json::object());
  json::parse_options opts;
  opts.max_depth = 32;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec, {}, opts);
  if (ec) return invalidArgument("Request decode failed: " + ec.message());
  return v;
}

Result<json::object> parseJsonObject(std::string_view body) {
  auto v = parseJson(body);
  if (!v.ok()) return v.error();
  if (!v->is_object()) return invalidArgument("Request decode failed: expected a JSON object");
  return std::move(v->get_object());
}

const json::value* Fields::find(std::string_view key) const {
  for (const auto& kv : obj_) {
    if (looseEqual(kv.key(), key)) return kv.value().is_null() ? nullptr : &kv.value();
  }
  return nullptr;
}

Status Fields::str(std::string_view key, std::string& out) const {
  const auto* v = find(key);
  if (!v) return {};
  if (!v->is_string()) return invalidArgument(name(key) + ": expected a string");
  out = std::string(v->get_string());
  return {};
}

Status Fields::integer(std::string_view key, int& out) const {
  const auto* v = find(key);
  if (!v) return {};
  if (v->is_int64() && v->get_int64() >= INT32_MIN && v->get_int64() <= INT32_MAX) {
    out = static_cast<int>(v->get_int64());
    return {};
  }
  if (v->is_uint64() && v->get_uint64() <= INT32_MAX) {
    out = static_cast<int>(v->get_uint64());
    return {};
  }
  if (v->is_double() && v->get_double() == static_cast<int>(v->get_double())) {
    out = static_cast<int>(v->get_double());
    return {};
  }
  return invalidArgument(name(key) + ": expected an integer");
}

Status Fields::boolean(std::string_view key, bool& out) const {
  const auto* v = find(key);
  if (!v) return {};
  if (!v->is_bool()) return invalidArgument(name(key) + ": expected true or false");
  out = v->get_bool();
  return {};
}

Status Fields::strList(std::string_view key, std::vector<std::string>& out) const {
  const auto* v = find(key);
  if (!v) return {};
  if (!v->is_array()) return invalidArgument(name(key) + ": expected an array of strings");
  out.clear();
  for (const auto& e : v->get_array()) {
    if (!e.is_string()) return invalidArgument(name(key) + ": expected an array of strings");
    out.emplace_back(e.get_string());
  }
  return {};
}

Status Fields::strMap(std::string_view key, std::map<std::string, std::string>& out) const {
  const auto* v = find(key);
  if (!v) return {};
  if (!v->is_object()) return invalidArgument(name(key) + ": expected an object of strings");
  out.clear();
  for (const auto& kv : v->get_object()) {
    if (!kv.value().is_string())
      return invalidArgument(name(key) + "." + std::string(kv.key()) + ": expected a string");
    out[std::string(kv.key())] = std::string(kv.value().get_string());
  }
  return {};
}

Status Fields::duration(std::string_view key, std::string& out) const {
  const auto* v = find(key);
  if (!v) return {};
  if (v->is_string()) {
    out = std::string(v->get_string());
    return {};
  }
  if (v->is_int64() || v->is_uint64()) {
    int64_t ns = v->is_int64() ? v->get_int64() : static_cast<int64_t>(v->get_uint64());
    if (ns < 0) return invalidArgument(name(key) + ": negative duration");
    out = std::to_string(ns / 1'000'000) + "ms";
    return {};
  }
  return invalidArgument(name(key) + ": expected a duration such as \"10s\"");
}

Result<const json::object*> Fields::object(std::string_view key) const {
  const auto* v = find(key);
  if (!v) return static_cast<const json::object*>(nullptr);
  if (!v->is_object()) return invalidArgument(name(key) + ": expected an object");
  return &v->get_object();
}

}  // namespace cairn::http
