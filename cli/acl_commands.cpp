#include "cli/acl_commands.hpp"

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <ostream>
#include <sstream>

#include "client/client.hpp"
#include "client/url.hpp"

namespace cairn::cli {
namespace {

namespace json = boost::json;

constexpr const char* kAclUsage =
    "Usage: cairn acl <command> [flags]\n"
    "  bootstrap                     create the initial management token (once)\n"
    "  policy create -name N -rules R|@file [-description D]\n"
    "  policy list\n"
    "  token create [-description D] [-policy-name N]... [-policy-id ID]...\n"
    "  token list\n"
    "  token delete -id ACCESSOR_ID\n"
    "Flags: -http-addr ADDR, -token SECRET ($CAIRN_HTTP_TOKEN, $CONSUL_HTTP_TOKEN), "
    "-format table|json\n"
    "HTTPS (https://host:port): -ca-file F, -ca-path DIR, -client-cert F, -client-key F,\n"
    "-tls-server-name NAME (or $CAIRN_CACERT ... as in `cairn members -help`)\n";

struct AclFlags {
  std::vector<std::string> words;
  std::multimap<std::string, std::string> values;
  std::string first(const std::string& k) const {
    auto it = values.find(k);
    return it == values.end() ? "" : it->second;
  }
};

bool parse(const std::vector<std::string>& args, AclFlags& f, std::string& why) {
  static const char* known[] = {
      "http-addr", "token", "format",  "name",    "description", "rules",      "policy-name",
      "policy-id", "id",    "ca-file", "ca-path", "client-cert", "client-key", "tls-server-name"};
  for (size_t i = 1; i < args.size(); ++i) {
    std::string a = args[i];
    if (a.size() < 2 || a[0] != '-') {
      f.words.push_back(a);
      continue;
    }
    std::string name = a.substr(a[1] == '-' ? 2 : 1), value;
    auto eq = name.find('=');
    bool hasValue = eq != std::string::npos;
    if (hasValue) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    bool ok = false;
    for (const char* k : known) ok = ok || name == k;
    if (!ok) {
      why = "unknown flag -" + name;
      return false;
    }
    if (!hasValue) {
      if (i + 1 >= args.size()) {
        why = "flag -" + name + " needs a value";
        return false;
      }
      value = args[++i];
    }
    f.values.emplace(name, value);
  }
  return true;
}

int usage(std::ostream& err, const std::string& why) {
  err << "cairn acl: " << why << "\n\n" << kAclUsage;
  return 1;
}

}  // namespace

int runAclCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  AclFlags f;
  std::string why;
  if (!parse(args, f, why)) return usage(err, why);
  if (f.words.empty()) return usage(err, "missing command");
  std::string token = f.first("token");
  if (token.empty())
    for (const char* env : {"CAIRN_HTTP_TOKEN", "CONSUL_HTTP_TOKEN"})
      if (const char* v = std::getenv(env); v && *v && token.empty()) token = v;
  bool asJson = f.first("format") == "json";
  if (!f.first("format").empty() && !asJson && f.first("format") != "table")
    return usage(err, "-format must be table or json");

  std::string method, path, body;
  const std::string cmd = f.words[0] + (f.words.size() > 1 ? " " + f.words[1] : "");
  if (cmd == "bootstrap") {
    method = "PUT", path = "/v1/acl/bootstrap";
  } else if (cmd == "policy create") {
    std::string rules = f.first("rules");
    if (f.first("name").empty()) return usage(err, "policy create needs -name");
    if (!rules.empty() && rules[0] == '@') {
      std::ifstream in(rules.substr(1));
      if (!in) return usage(err, "cannot read rules file " + rules.substr(1));
      std::stringstream ss;
      ss << in.rdbuf();
      rules = ss.str();
    }
    method = "PUT", path = "/v1/acl/policy";
    body = json::serialize(json::object{
        {"Name", f.first("name")}, {"Description", f.first("description")}, {"Rules", rules}});
  } else if (cmd == "policy list") {
    method = "GET", path = "/v1/acl/policies";
  } else if (cmd == "token create") {
    json::array policies;
    for (auto [it, end] = f.values.equal_range("policy-name"); it != end; ++it)
      policies.push_back(json::object{{"Name", it->second}});
    for (auto [it, end] = f.values.equal_range("policy-id"); it != end; ++it)
      policies.push_back(json::object{{"ID", it->second}});
    method = "PUT", path = "/v1/acl/token";
    body = json::serialize(
        json::object{{"Description", f.first("description")}, {"Policies", std::move(policies)}});
  } else if (cmd == "token list") {
    method = "GET", path = "/v1/acl/tokens";
  } else if (cmd == "token delete") {
    if (f.first("id").empty()) return usage(err, "token delete needs -id");
    method = "DELETE", path = "/v1/acl/token/" + client::escapeComponent(f.first("id"));
  } else {
    return usage(err, "unknown command \"" + cmd + "\"");
  }
  client::ClientConfig config;
  config.address = f.first("http-addr");
  config.token = token;  // sent as X-Consul-Token, never in the URL
  config.caFile = f.first("ca-file");
  config.caPath = f.first("ca-path");
  config.clientCert = f.first("client-cert");
  config.clientKey = f.first("client-key");
  config.tlsServerName = f.first("tls-server-name");
  auto c = client::Client::create(config);
  if (!c) {
    err << "cairn acl: " << c.error().message << "\n";
    return 1;
  }
  auto r = (*c)->request(method, path, body);
  if (!r) {
    err << "cairn acl: " << r.error().message << "\n";
    return 1;
  }
  if (r->status != 200) {
    err << "cairn acl: " << cmd << " failed (" << r->status << "): " << r->body << "\n";
    return 1;
  }
  if (asJson || cmd == "token delete") {
    out << (cmd == "token delete" ? "Token \"" + f.first("id") + "\" deleted" : r->body) << "\n";
    return 0;
  }
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  if (ec) {
    out << r->body << "\n";
    return 0;
  }
  auto print = [&out](const json::object& o) {
    for (const char* k : {"AccessorID", "SecretID", "ID", "Name", "Description"}) {
      const auto* x = o.if_contains(k);
      if (x && x->is_string())
        out << k << ":" << std::string(14 - std::string(k).size(), ' ')
            << std::string_view(x->get_string()) << "\n";
    }
    if (const auto* ps = o.if_contains("Policies"); ps && ps->is_array()) {
      out << "Policies:\n";
      for (const auto& p : ps->get_array())
        if (p.is_object() && p.get_object().contains("Name"))
          out << "   " << std::string_view(p.at("Name").get_string()) << "\n";
    }
  };
  if (v.is_array()) {
    bool firstItem = true;
    for (const auto& item : v.get_array()) {
      if (!item.is_object()) continue;
      if (!firstItem) out << "\n";
      firstItem = false;
      print(item.get_object());
    }
  } else if (v.is_object()) {
    print(v.get_object());
  }
  return 0;
}

}  // namespace cairn::cli
