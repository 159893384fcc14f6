// The mesh's part of Mutation: the CA, intentions, and the proxy lists that
// /v1/health/connect reads.
#include <algorithm>
#include <set>

#include "registry/apply.hpp"
#include "registry/intentions.hpp"

namespace cairn::registry {
namespace {

constexpr std::string_view kCaRow = "ca";
constexpr std::string_view kCaIdx = "t/ca";
constexpr std::string_view kIntentionsIdx = "t/intentions";

std::string intentionRow(std::string_view id) {
  return "i/" + std::string(id);
}

std::string proxyDest(const Service* s) {
  if (!s || s->kind != kConnectProxyKind) return {};
  return s->proxy.destinationServiceName;
}

const Intention* findByNames(const PMap<IntentionPtr>& all, const std::string& source,
                             const std::string& destination) {
  const Intention* found = nullptr;
  all.forEach([&](const std::string&, const IntentionPtr& i) {
    if (i->sourceName == source && i->destinationName == destination) {
      found = i.get();
      return false;
    }
    return true;
  });
  return found;
}

}  // namespace

void Mutation::setConnectTableIndex(std::string_view rowKey, uint64_t View::*field,
                                    std::string_view watchKey) {
  keys_.emplace_back(watchKey);
  if (w_.*field == idx_) return;
  w_.*field = idx_;
  rows_.push_back({Table::kIndexes, std::string(rowKey), std::to_string(idx_)});
}

Status Mutation::caSet(const CaSetCommand& c) {
  uint64_t current = w_.ca ? w_.ca->modifyIndex : 0;
  if (current != c.expectModifyIndex)
    return invalidArgument("the CA changed concurrently (at index " + std::to_string(current) +
                           ", expected " + std::to_string(c.expectModifyIndex) + "); try again");
  if (c.state.clusterId.empty()) return invalidArgument("CA: cluster ID missing");
  if (w_.ca && w_.ca->clusterId != c.state.clusterId)
    return invalidArgument("CA: the cluster ID (trust domain) cannot change");
  size_t active = std::count_if(c.state.roots.begin(), c.state.roots.end(),
                                [](const CaRoot& r) { return r.active; });
  if (active != 1) return invalidArgument("CA: exactly one root must be active");
  std::set<std::string> ids;
  for (const auto& r : c.state.roots)
    if (r.id.empty() || r.rootCert.empty() || !ids.insert(r.id).second)
      return invalidArgument("CA: every root needs an ID and a certificate, and IDs are unique");

  auto next = std::make_shared<CaState>(c.state);
  next->createIndex = w_.ca ? w_.ca->createIndex : idx_;
  next->modifyIndex = idx_;
  for (auto& r : next->roots) {
    const CaRoot* before = nullptr;
    if (w_.ca)
      for (const auto& o : w_.ca->roots)
        if (o.id == r.id) before = &o;
    r.createIndex = before ? before->createIndex : idx_;
    CaRoot cmp = r;
    if (before) {
      cmp.createIndex = before->createIndex;
      cmp.modifyIndex = before->modifyIndex;
    }
    r.modifyIndex = before && cmp == *before ? before->modifyIndex : idx_;
  }
  rows_.push_back({Table::kConnect, std::string(kCaRow), encodeCaState(*next)});
  w_.ca = std::move(next);
  setConnectTableIndex(kCaIdx, &View::caIndex, kCaTableKey);
  return {};
}

Status Mutation::intentionPut(const IntentionPutCommand& c) {
  Intention in = c.intention;
  if (Status st = validateIntention(in); !st.ok()) return st;
  const Intention* same = findByNames(w_.intentions, in.sourceName, in.destinationName);
  if (c.byName && same) in.id = same->id;
  if (in.id.empty()) return invalidArgument("intention ID missing");
  if (!c.byName && same && same->id != in.id)
    return invalidArgument("duplicate intention found: " + same->sourceName + " => " +
                           same->destinationName + " (" + same->id + ")");
  const auto* old = w_.intentions.find(in.id);
  if (c.mustExist && !old) return notFound("Intention not found: " + in.id);
  if (old) {
    if ((*old)->sameContent(in)) return {};
    in.createdAt = (*old)->createdAt;
    in.createIndex = (*old)->createIndex;
  } else {
    in.createIndex = idx_;
  }
  in.modifyIndex = idx_;
  rows_.push_back({Table::kConnect, intentionRow(in.id), encodeIntention(in)});
  std::string id = in.id;
  w_.intentions = w_.intentions.set(id, std::make_shared<const Intention>(std::move(in)));
  setConnectTableIndex(kIntentionsIdx, &View::intentionsIndex, kIntentionsTableKey);
  return {};
}

Status Mutation::intentionDelete(const IntentionDeleteCommand& c) {
  std::string id = c.id;
  if (id.empty()) {
    const Intention* same = findByNames(w_.intentions, c.sourceName, c.destinationName);
    if (!same) return {};
    id = same->id;
  }
  if (!w_.intentions.find(id)) return {};
  w_.intentions = w_.intentions.erase(id);
  rows_.push_back({Table::kConnect, intentionRow(id), {}, true});
  setConnectTableIndex(kIntentionsIdx, &View::intentionsIndex, kIntentionsTableKey);
  return {};
}

void Mutation::noteProxy(const Service* before, const Service* after) {
  std::string was = proxyDest(before), now = proxyDest(after);
  if (!now.empty()) {
    const auto* d = w_.connectDests.find(now);
    bool listed = d && std::binary_search((*d)->proxies.begin(), (*d)->proxies.end(), after->name);
    if (!listed) {
      auto nd = d ? std::make_shared<ConnectDest>(**d) : std::make_shared<ConnectDest>();
      nd->proxies.insert(std::lower_bound(nd->proxies.begin(), nd->proxies.end(), after->name),
                         after->name);
      nd->index = idx_;
      w_.connectDests = w_.connectDests.set(now, std::move(nd));
      keys_.push_back(connectWatchKey(now));
    }
  }
  if (was.empty() || (was == now && before->name == after->name)) return;
  // `before` no longer points at `was`: keep its service listed only while
  // another of its instances still does.
  const std::string& name = before->name;
  bool still = false;
  if (const auto* g = w_.services.find(name))
    (*g)->instances.forEach([&](const std::string&, const InstancePtr& i) {
      still = proxyDest(i->service.get()) == was;
      return !still;
    });
  if (still) return;
  const auto* d = w_.connectDests.find(was);
  if (!d) return;
  auto nd = std::make_shared<ConnectDest>(**d);
  auto it = std::lower_bound(nd->proxies.begin(), nd->proxies.end(), name);
  if (it == nd->proxies.end() || *it != name) return;
  nd->proxies.erase(it);
  keys_.push_back(connectWatchKey(was));
  // An emptied list stays (until a restart), so its index never goes back.
  nd->index = idx_;
  w_.connectDests = w_.connectDests.set(was, std::move(nd));
}

PMap<ConnectDestPtr> buildConnectDests(const PMap<InstancePtr>& instances, uint64_t index) {
  std::map<std::string, std::set<std::string>> dests;
  instances.forEach([&](const std::string&, const InstancePtr& i) {
    std::string d = proxyDest(i->service.get());
    if (!d.empty()) dests[d].insert(i->service->name);
    return true;
  });
  std::vector<std::pair<std::string, ConnectDestPtr>> items;
  for (auto& [d, names] : dests) {
    auto e = std::make_shared<ConnectDest>();
    e->proxies.assign(names.begin(), names.end());
    e->index = index;
    items.emplace_back(d, std::move(e));
  }
  return PMap<ConnectDestPtr>::fromSorted(std::move(items));
}

}  // namespace cairn::registry
