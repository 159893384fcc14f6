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

namespace {

// Walks the rows of a view; values are encoded only when withValues.
template <typename Fn>
void walkRows(const View& v, bool withValues, const Fn& fn) {
  auto enc = [withValues](auto&& encode) { return withValues ? encode() : std::string(); };
  v.nodes.forEach([&](const std::string& name, const NodeEntryPtr& n) {
    fn(Table::kNodes, name, enc([&] { return encodeNode(n->node); }));
    fn(Table::kIndexes, "n/" + name, enc([&] { return std::to_string(n->index); }));
    return true;
  });
  v.nodeServices.forEach([&](const std::string& key, const InstancePtr& i) {
    fn(Table::kServices, key, enc([&] { return encodeService(*i->service); }));
    return true;
  });
  v.checks.forEach([&](const std::string& key, const CheckPtr& c) {
    fn(Table::kChecks, key, enc([&] { return encodeCheck(*c); }));
    return true;
  });
  v.services.forEach([&](const std::string& name, const ServiceGroupPtr& g) {
    fn(Table::kIndexes, "s/" + name, enc([&] { return std::to_string(g->index); }));
    return true;
  });
  fn(Table::kIndexes, "t/nodes", enc([&] { return std::to_string(v.nodesIndex); }));
  fn(Table::kIndexes, "t/services", enc([&] { return std::to_string(v.servicesIndex); }));
  fn(Table::kIndexes, "t/checks", enc([&] { return std::to_string(v.checksIndex); }));
}

}  // namespace

void forEachRow(const View& v, const RowFn& fn) {
  walkRows(v, true,
           [&](Table t, const std::string& key, const std::string& value) { fn(t, key, value); });
}

void forEachRowKey(const View& v, const std::function<void(Table, std::string_view)>& fn) {
  walkRows(v, false, [&](Table t, const std::string& key, const std::string&) { fn(t, key); });
}

std::string serializeView(const View& v) {
  std::string out(kMagic);
  forEachRow(
      v, [&](Table t, std::string_view key, std::string_view value) { row(out, t, key, value); });
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
