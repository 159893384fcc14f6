#include "cli/service_definition.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cctype>

namespace cairn::cli {
namespace {

namespace json = boost::json;

// Go initialisms Consul's field names spell in capitals.
constexpr std::array<std::string_view, 10> kInitialisms = {"id",  "ttl",  "http", "tcp", "udp",
                                                           "tls", "grpc", "url",  "ip",  "os"};
// Fields whose keys are user data.
constexpr std::array<std::string_view, 4> kOpaqueMaps = {"Meta", "NodeMeta", "Header", "Config"};

bool contains(const auto& list, std::string_view s) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

Result<json::value> canonicalize(const json::value& v);

Result<json::value> canonicalizeObject(const json::object& in) {
  json::object out;
  for (const auto& [key, value] : in) {
    std::string name = apiFieldName(key);
    if (out.contains(name)) return invalidArgument("duplicate key \"" + name + "\"");
    if (contains(kOpaqueMaps, name)) {
      out[name] = value;
    } else if (name == "TaggedAddresses" && value.is_object()) {
      json::object tagged;
      for (const auto& [tag, address] : value.get_object()) {
        auto c = canonicalize(address);
        if (!c) return c.error();
        tagged[tag] = std::move(*c);
      }
      out[name] = std::move(tagged);
    } else {
      auto c = canonicalize(value);
      if (!c) return c.error();
      out[name] = std::move(*c);
    }
  }
  return json::value(std::move(out));
}

Result<json::value> canonicalize(const json::value& v) {
  if (v.is_object()) return canonicalizeObject(v.get_object());
  if (v.is_array()) {
    json::array out;
    for (const json::value& item : v.get_array()) {
      auto c = canonicalize(item);
      if (!c) return c.error();
      out.push_back(std::move(*c));
    }
    return json::value(std::move(out));
  }
  return v;
}

Result<json::value> parseWithPosition(std::string_view text) {
  json::stream_parser parser;
  boost::system::error_code ec;
  std::size_t used = parser.write(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec) {
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < used && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    return invalidArgument("not valid JSON at line " + std::to_string(line) + ", column " +
                           std::to_string(column) + ": " + ec.message());
  }
  return parser.release();
}

// Finds the one key that names the wrapper ("service" or "services", any
// case) in a config-file object; null when `o` is a bare definition.
Result<const json::value*> wrapped(const json::object& o, std::string& wrapperKey) {
  const json::value* found = nullptr;
  for (const auto& [key, value] : o) {
    std::string lower(key);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "service" || lower == "services") {
      found = &value;
      wrapperKey = lower;
    }
  }
  if (found != nullptr && o.size() != 1) {
    return invalidArgument("a config file may hold only \"" + wrapperKey + "\" at the top level");
  }
  return found;
}

Result<ServiceDefinition> makeDefinition(const json::value& v, std::string_view where) {
  if (!v.is_object()) return invalidArgument(std::string(where) + " is not a JSON object");
  auto c = canonicalize(v);
  if (!c) return Error{c.error().code, std::string(where) + ": " + c.error().message};
  const json::value* name = c->get_object().if_contains("Name");
  if (name == nullptr || !name->is_string() || name->get_string().empty()) {
    return invalidArgument(std::string(where) + " has no \"name\"");
  }
  return ServiceDefinition{std::string(name->get_string()), json::serialize(*c)};
}

}  // namespace

std::string apiFieldName(std::string_view key) {
  bool snake = std::none_of(key.begin(), key.end(),
                            [](char c) { return std::isupper(static_cast<unsigned char>(c)); });
  if (!snake) return std::string(key);
  std::string out;
  std::size_t start = 0;
  while (start <= key.size()) {
    std::size_t end = key.find('_', start);
    if (end == std::string_view::npos) end = key.size();
    std::string_view part = key.substr(start, end - start);
    if (contains(kInitialisms, part)) {
      for (char c : part)
        out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    } else if (!part.empty()) {
      out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(part[0]))));
      out.append(part.substr(1));
    }
    start = end + 1;
  }
  return out;
}

Result<std::vector<ServiceDefinition>> parseServiceDefinitions(std::string_view text) {
  auto parsed = parseWithPosition(text);
  if (!parsed) return parsed.error();
  if (!parsed->is_object()) return invalidArgument("the service definition is not a JSON object");
  std::string wrapperKey;
  auto inner = wrapped(parsed->get_object(), wrapperKey);
  if (!inner) return inner.error();

  std::vector<ServiceDefinition> out;
  if (*inner == nullptr) {
    auto def = makeDefinition(*parsed, "the service definition");
    if (!def) return def.error();
    out.push_back(std::move(*def));
  } else if (wrapperKey == "service") {
    auto def = makeDefinition(**inner, "\"service\"");
    if (!def) return def.error();
    out.push_back(std::move(*def));
  } else {
    if (!(*inner)->is_array() || (*inner)->get_array().empty()) {
      return invalidArgument("\"services\" must be a non-empty array of service definitions");
    }
    const json::array& list = (*inner)->get_array();
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto def = makeDefinition(list[i], "services[" + std::to_string(i) + "]");
      if (!def) return def.error();
      out.push_back(std::move(*def));
    }
  }
  return out;
}

}  // namespace cairn::cli
