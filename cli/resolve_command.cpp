// cairn resolve: a service found over DNS, the way an application would.
#include <boost/json.hpp>
#include <ostream>
#include <random>

#include "cli/command.hpp"
#include "cli/output.hpp"
#include "client/resolver.hpp"

namespace cairn::cli {
namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

boost::json::object toJson(const client::SrvInstance& i) {
  boost::json::array addresses;
  for (const auto& a : i.addresses) addresses.emplace_back(a);
  return {{"Target", i.target}, {"Port", i.port}, {"Priority", i.priority},
          {"Weight", i.weight}, {"TTL", i.ttl},   {"Addresses", std::move(addresses)}};
}

}  // namespace

int resolve(client::Client&, const Invocation& inv) {
  client::ResolverConfig config;
  config.servers = inv.flags.dnsAddrs;
  auto resolver = client::Resolver::create(config);
  if (!resolver) return failure(inv.err, resolver.error().message);
  auto all = (*resolver)->lookup(inv.args[0]);
  if (!all) return failure(inv.err, all.error().message);
  std::mt19937_64 rng(std::random_device{}());
  const client::SrvInstance& chosen = (*all)[*client::selectSrv(*all, rng)];
  if (wantsJson(inv)) {
    boost::json::array set;
    for (const auto& i : *all) set.emplace_back(toJson(i));
    boost::json::object o{{"Chosen", toJson(chosen)}, {"Instances", std::move(set)}};
    auto pretty = prettyJson(boost::json::serialize(o));
    inv.out << (pretty ? *pretty : boost::json::serialize(o) + "\n");
    return kExitOk;
  }
  std::string first = chosen.addresses.empty() ? chosen.target : chosen.addresses[0];
  if (first.find(':') != std::string::npos) first = "[" + first + "]";
  inv.out << "Chosen: " << first << ":" << chosen.port << " (" << chosen.target << ")\n\n";
  Table table({"Priority", "Weight", "Port", "Target", "Addresses", "TTL"});
  for (const auto& i : *all) {
    table.addRow({std::to_string(i.priority), std::to_string(i.weight), std::to_string(i.port),
                  i.target, joined(i.addresses), std::to_string(i.ttl)});
  }
  table.print(inv.out);
  return kExitOk;
}

}  // namespace cairn::cli
