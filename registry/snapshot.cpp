#include "registry/snapshot.hpp"

#include "registry/command.hpp"

namespace cairn::registry {
namespace {

constexpr char kMagic[] = "CAIRNSNAP1";

void put32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void row(std::string& out, Table t, std::string_view key, std::string_view val) {
  out.push_back(static_cast<char>(t));
  put32(out, static_cast<uint32_t>(key.size()));
  out.append(key);
  put32(out, static_cast<uint32_t>(val.size()));
  out.append(val);
}

}  // namespace

std::string serializeView(const View& v) {
  std::string out(kMagic);
  v.nodes.forEach([&](const std::string& name, const NodeEntryPtr& n) {
    row(out, Table::kNodes, name, encodeNode(n->node));
    row(out, Table::kIndexes, "n/" + name, std::to_string(n->index));
    return true;
  });
  v.nodeServices.forEach([&](const std::string& key, const InstancePtr& i) {
    row(out, Table::kServices, key, encodeService(*i->service));
    return true;
  });
  v.checks.forEach([&](const std::string& key, const CheckPtr& c) {
    row(out, Table::kChecks, key, encodeCheck(*c));
    return true;
  });
  v.services.forEach([&](const std::string& name, const ServiceGroupPtr& g) {
    row(out, Table::kIndexes, "s/" + name, std::to_string(g->index));
    return true;
  });
  row(out, Table::kIndexes, "t/nodes", std::to_string(v.nodesIndex));
  row(out, Table::kIndexes, "t/services", std::to_string(v.servicesIndex));
  row(out, Table::kIndexes, "t/checks", std::to_string(v.checksIndex));
  return out;
}

Result<std::vector<RowWrite>> parseSnapshot(std::string_view data) {
  std::string_view magic(kMagic);
  if (data.substr(0, magic.size()) != magic) return corruption("catalog snapshot: bad header");
  data.remove_prefix(magic.size());
  std::vector<RowWrite> rows;
  auto take32 = [&](uint32_t& v) {
    if (data.size() < 4) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(data[i]);
    data.remove_prefix(4);
    return true;
  };
  while (!data.empty()) {
    auto t = static_cast<uint8_t>(data[0]);
    data.remove_prefix(1);
    if (t > static_cast<uint8_t>(Table::kIndexes)) return corruption("catalog snapshot: bad table");
    uint32_t klen = 0, vlen = 0;
    if (!take32(klen) || data.size() < klen) return corruption("catalog snapshot: truncated");
    std::string key(data.substr(0, klen));
    data.remove_prefix(klen);
    if (!take32(vlen) || data.size() < vlen) return corruption("catalog snapshot: truncated");
    rows.push_back({static_cast<Table>(t), std::move(key), std::string(data.substr(0, vlen))});
    data.remove_prefix(vlen);
  }
  return rows;
}

}  // namespace cairn::registry
