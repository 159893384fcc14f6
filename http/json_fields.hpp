// Reading JSON objects the way Consul's clients write them: keys matched
// case-insensitively with '_' ignored ("ServiceID", "serviceid", "service_id"),
// and every type error reported with the field's path.
#pragma once

#include <boost/json/value.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace cairn::http {

// Parses a request body; an empty body parses as an empty object.
Result<boost::json::value> parseJson(std::string_view body);
// Parses a request body that must be a JSON object (an empty body is {}).
Result<boost::json::object> parseJsonObject(std::string_view body);

class Fields {
 public:
  // `where` prefixes error messages ("Check." for a nested object).
  Fields(const boost::json::object& obj, std::string where = "")
      : obj_(obj), where_(std::move(where)) {}

  // The value of key (matched loosely), or nullptr if absent or null.
  const boost::json::value* find(std::string_view key) const;

  // Each getter leaves `out` untouched when the key is absent, and returns
  // an error naming the field when the type is wrong.
  Status str(std::string_view key, std::string& out) const;
  Status integer(std::string_view key, int& out) const;
  Status boolean(std::string_view key, bool& out) const;
  Status strList(std::string_view key, std::vector<std::string>& out) const;
  Status strMap(std::string_view key, std::map<std::string, std::string>& out) const;
  // A Go duration: a string ("10s") or a number of nanoseconds.
  Status duration(std::string_view key, std::string& out) const;
  // The nested object, or nullptr if absent; error if not an object.
  Result<const boost::json::object*> object(std::string_view key) const;

  std::string name(std::string_view key) const { return where_ + std::string(key); }

 private:
  const boost::json::object& obj_;
  std::string where_;
};

}  // namespace cairn::http
