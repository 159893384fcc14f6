#include "client/decode.hpp"

#include <boost/json.hpp>

namespace cairn::client {
namespace {

namespace json = boost::json;

Error badField(std::string_view field, std::string_view want) {
  return corruption("unexpected JSON from server: " + std::string(field) + " is not " +
                    std::string(want));
}

Result<json::value> parse(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return corruption("server sent invalid JSON: " + ec.message());
  return v;
}

// Reads o[key] into out; a missing or null field leaves out untouched.
Status readString(const json::object& o, std::string_view key, std::string& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return {};
  if (!v->is_string()) return badField(key, "a string");
  out = std::string(v->get_string());
  return {};
}

Status readPort(const json::object& o, std::string_view key, int& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return {};
  if (!v->is_number()) return badField(key, "a number");
  boost::system::error_code ec;
  auto port = v->to_number<std::int64_t>(ec);
  if (ec || port < 0 || port > 65535) return badField(key, "a port number");
  out = static_cast<int>(port);
  return {};
}

Status readStrings(const json::value* v, std::string_view key, std::vector<std::string>& out) {
  if (v == nullptr || v->is_null()) return {};
  if (!v->is_array()) return badField(key, "an array");
  for (const json::value& item : v->get_array()) {
    if (!item.is_string()) return badField(key, "an array of strings");
    out.emplace_back(item.get_string());
  }
  return {};
}

// Decodes a top-level array, calling decodeOne(object, out) per element.
template <typename T, typename F>
Result<std::vector<T>> decodeArray(std::string_view text, std::string_view what, F decodeOne) {
  auto parsed = parse(text);
  if (!parsed) return parsed.error();
  if (parsed->is_null()) return std::vector<T>{};
  if (!parsed->is_array()) return badField(what, "an array");
  std::vector<T> out;
  for (const json::value& item : parsed->get_array()) {
    if (!item.is_object()) return badField(what, "an array of objects");
    T one;
    if (Status st = decodeOne(item.get_object(), one); !st) return st.error();
    out.push_back(std::move(one));
  }
  return out;
}

Status all(std::initializer_list<Status> statuses) {
  for (const Status& st : statuses) {
    if (!st) return st;
  }
  return {};
}

Status readBool(const json::object& o, std::string_view key, bool& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return {};
  if (!v->is_bool()) return badField(key, "a boolean");
  out = v->get_bool();
  return {};
}

Status readInt(const json::object& o, std::string_view key, std::int64_t& out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return {};
  if (!v->is_number()) return badField(key, "a number");
  boost::system::error_code ec;
  out = v->to_number<std::int64_t>(ec);
  if (ec) return badField(key, "an integer");
  return {};
}

Status decodeCheck(const json::object& o, HealthCheck& c) {
  return all({readString(o, "Node", c.node), readString(o, "CheckID", c.checkId),
              readString(o, "Name", c.name), readString(o, "Status", c.status),
              readString(o, "Notes", c.notes), readString(o, "Output", c.output),
              readString(o, "ServiceID", c.serviceId), readString(o, "ServiceName", c.serviceName),
              readString(o, "Type", c.type)});
}

}  // namespace

Result<ServiceTags> decodeCatalogServices(std::string_view text) {
  auto parsed = parse(text);
  if (!parsed) return parsed.error();
  if (!parsed->is_object()) return badField("catalog services", "an object");
  ServiceTags out;
  for (const auto& [name, tags] : parsed->get_object()) {
    std::vector<std::string>& slot = out[std::string(name)];
    if (Status st = readStrings(&tags, name, slot); !st) return st.error();
  }
  return out;
}

Result<std::vector<CatalogNode>> decodeCatalogNodes(std::string_view text) {
  return decodeArray<CatalogNode>(text, "catalog nodes", [](const json::object& o, CatalogNode& n) {
    return all({readString(o, "Node", n.node), readString(o, "Address", n.address),
                readString(o, "Datacenter", n.datacenter)});
  });
}

Result<std::vector<CatalogServiceInstance>> decodeCatalogService(std::string_view text) {
  return decodeArray<CatalogServiceInstance>(
      text, "catalog service", [](const json::object& o, CatalogServiceInstance& s) {
        return all({readString(o, "Node", s.node), readString(o, "Address", s.address),
                    readString(o, "ServiceID", s.serviceId),
                    readString(o, "ServiceName", s.serviceName),
                    readString(o, "ServiceAddress", s.serviceAddress),
                    readPort(o, "ServicePort", s.servicePort),
                    readStrings(o.if_contains("ServiceTags"), "ServiceTags", s.serviceTags)});
      });
}

Result<std::vector<HealthServiceEntry>> decodeHealthService(std::string_view text) {
  return decodeArray<HealthServiceEntry>(
      text, "health service", [](const json::object& o, HealthServiceEntry& e) -> Status {
        static const json::object kEmpty;
        const json::value* node = o.if_contains("Node");
        const json::value* service = o.if_contains("Service");
        const json::value* checks = o.if_contains("Checks");
        if (node != nullptr && !node->is_object() && !node->is_null()) {
          return badField("Node", "an object");
        }
        if (service != nullptr && !service->is_object() && !service->is_null()) {
          return badField("Service", "an object");
        }
        const json::object& n = node && node->is_object() ? node->get_object() : kEmpty;
        const json::object& s = service && service->is_object() ? service->get_object() : kEmpty;
        Status st =
            all({readString(n, "Node", e.node), readString(n, "Address", e.nodeAddress),
                 readString(s, "ID", e.serviceId), readString(s, "Service", e.serviceName),
                 readString(s, "Address", e.serviceAddress), readPort(s, "Port", e.servicePort),
                 readStrings(s.if_contains("Tags"), "Service.Tags", e.serviceTags)});
        if (!st) return st;
        std::vector<std::string> statuses;
        if (checks != nullptr && !checks->is_null()) {
          if (!checks->is_array()) return badField("Checks", "an array");
          for (const json::value& c : checks->get_array()) {
            if (!c.is_object()) return badField("Checks", "an array of objects");
            HealthCheck check;
            if (Status cs = decodeCheck(c.get_object(), check); !cs) return cs;
            statuses.push_back(check.status);
            e.checks.push_back(std::move(check));
          }
        }
        e.status = aggregateStatus(statuses);
        return {};
      });
}

Result<std::vector<HealthCheck>> decodeHealthChecks(std::string_view text) {
  return decodeArray<HealthCheck>(text, "health checks", decodeCheck);
}

Result<std::vector<Member>> decodeMembers(std::string_view text) {
  return decodeArray<Member>(text, "members", [](const json::object& o, Member& m) -> Status {
    std::string addr;
    std::int64_t port = 0;
    std::int64_t status = -1;
    Status st = all({readString(o, "Name", m.name), readString(o, "Addr", addr),
                     readInt(o, "Port", port), readInt(o, "Status", status)});
    if (!st) return st;
    m.address = port > 0 ? addr + ":" + std::to_string(port) : addr;
    static constexpr const char* kStatus[] = {"none", "alive", "leaving", "left", "failed"};
    m.status = status >= 0 && status <= 4 ? kStatus[status] : "unknown";
    const json::value* tags = o.if_contains("Tags");
    if (tags != nullptr && tags->is_object())
      return readString(tags->get_object(), "dc", m.datacenter);
    return {};
  });
}

Result<std::vector<RaftServer>> decodeRaftConfiguration(std::string_view text) {
  auto parsed = parse(text);
  if (!parsed) return parsed.error();
  if (!parsed->is_object()) return badField("raft configuration", "an object");
  const json::value* servers = parsed->get_object().if_contains("Servers");
  if (servers == nullptr || !servers->is_array()) return badField("Servers", "an array");
  return decodeArray<RaftServer>(
      json::serialize(*servers), "Servers", [](const json::object& o, RaftServer& r) {
        return all({readString(o, "ID", r.id), readString(o, "Node", r.node),
                    readString(o, "Address", r.address), readBool(o, "Leader", r.leader),
                    readBool(o, "Voter", r.voter)});
      });
}

Result<std::string> decodeString(std::string_view text) {
  auto parsed = parse(text);
  if (!parsed) return parsed.error();
  if (!parsed->is_string()) return badField("answer", "a string");
  return std::string(parsed->get_string());
}

std::string aggregateStatus(const std::vector<std::string>& checkStatuses) {
  int worst = 0;  // 0 passing, 1 warning, 2 critical
  for (const std::string& s : checkStatuses) {
    int rank = s == "passing" ? 0 : s == "warning" ? 1 : 2;
    worst = std::max(worst, rank);
  }
  static constexpr const char* kNames[] = {"passing", "warning", "critical"};
  return kNames[worst];
}

}  // namespace cairn::client
