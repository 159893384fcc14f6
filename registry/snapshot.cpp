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
  if (v.acl)
    fn(Table::kIndexes, std::string(kAclStateRowKey), enc([&] { return encodeAclState(*v.acl); }));
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

Status serializeViewTo(const View& v, const std::function<Status(std::string_view)>& write,
                       size_t pieceBytes) {
  std::string buf(kMagic);
  Status st;
  forEachRow(v, [&](Table t, std::string_view key, std::string_view value) {
    if (!st.ok()) return;
    row(buf, t, key, value);
    if (buf.size() >= pieceBytes) {
      st = write(buf);
      buf.clear();
    }
  });
  if (st.ok() && !buf.empty()) st = write(buf);
  return st;
}

Status SnapshotRowReader::fill(size_t need) {
  if (buf_.size() - pos_ >= need) return {};
  buf_.erase(0, pos_);
  pos_ = 0;
  while (buf_.size() < need) {
    if (offset_ >= size_) return corruption("catalog snapshot: truncated");
    uint64_t n = std::max<uint64_t>(need - buf_.size(), 1 << 20);
    auto piece = read_(offset_, std::min<uint64_t>(n, size_ - offset_));
    if (!piece.ok()) return piece.error();
    if (piece->empty()) return corruption("catalog snapshot: short read");
    offset_ += piece->size();
    buf_ += *piece;
  }
  return {};
}

Result<std::vector<RowWrite>> SnapshotRowReader::next(size_t maxBytes) {
  std::string_view magic(kMagic);
  if (!headerDone_) {
    if (Status st = fill(magic.size()); !st.ok()) return st.error();
    if (std::string_view(buf_).substr(pos_, magic.size()) != magic)
      return corruption("catalog snapshot: bad header");
    pos_ += magic.size();
    headerDone_ = true;
  }
  auto get32 = [&](size_t at) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(buf_[at + i]);
    return v;
  };
  std::vector<RowWrite> rows;
  size_t bytes = 0;
  while (bytes < maxBytes && (pos_ < buf_.size() || offset_ < size_)) {
    if (Status st = fill(5); !st.ok()) return st.error();
    auto t = static_cast<uint8_t>(buf_[pos_]);
    if (t > static_cast<uint8_t>(Table::kIndexes)) return corruption("catalog snapshot: bad table");
    uint32_t klen = get32(pos_ + 1);
    if (Status st = fill(5 + size_t{klen} + 4); !st.ok()) return st.error();
    uint32_t vlen = get32(pos_ + 5 + klen);
    size_t total = 5 + size_t{klen} + 4 + vlen;
    if (Status st = fill(total); !st.ok()) return st.error();
    rows.push_back(
        {static_cast<Table>(t), buf_.substr(pos_ + 5, klen), buf_.substr(pos_ + 9 + klen, vlen)});
    pos_ += total;
    bytes += total;
  }
  return rows;
}

}  // namespace cairn::registry
