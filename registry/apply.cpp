#include "registry/apply.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include "registry/snapshot.hpp"
#include "registry/snapshot_file.hpp"

namespace cairn::registry {
namespace {

constexpr std::string_view kNodesIdx = "t/nodes";
constexpr std::string_view kServicesIdx = "t/services";
constexpr std::string_view kChecksIdx = "t/checks";

std::string indexRowKey(char kind, std::string_view name) {
  std::string k(1, kind);
  k.push_back('/');
  k.append(name);
  return k;
}

// Inserts, replaces or (value null) removes the check with id in a sorted list.
void upsertSorted(std::vector<CheckPtr>& list, const std::string& id, const CheckPtr& value) {
  auto it =
      std::lower_bound(list.begin(), list.end(), id,
                       [](const CheckPtr& c, const std::string& k) { return c->checkId < k; });
  bool found = it != list.end() && (*it)->checkId == id;
  if (value) {
    if (found)
      *it = value;
    else
      list.insert(it, value);
  } else if (found) {
    list.erase(it);
  }
}

}  // namespace

void Mutation::takeChanges(std::vector<RowWrite>& rows, std::vector<std::string>& keys) {
  for (auto& r : rows_) rows.push_back(std::move(r));
  for (auto& k : keys_) keys.push_back(std::move(k));
  rows_.clear();
  keys_.clear();
}

Status Mutation::apply(const Command& cmd) {
  if (const auto* r = std::get_if<RegisterCommand>(&cmd)) return registerCmd(*r);
  if (const auto* d = std::get_if<DeregisterCommand>(&cmd)) return deregister(*d);
  if (const auto* r = std::get_if<RestoreCommand>(&cmd)) return restore(*r);
  if (const auto* a = std::get_if<AclCommand>(&cmd)) return aclCmd(*a);
  if (const auto* b = std::get_if<CheckStatusBatchCommand>(&cmd)) {
    for (const auto& u : b->updates) {
      Status st = checkStatus(u);
      if (!st.ok() && st.error().code != ErrorCode::kNotFound) return st;
    }
    return {};
  }
  return checkStatus(std::get<CheckStatusCommand>(cmd));
}

void Mutation::setTableIndex(std::string_view key, uint64_t View::*field) {
  if (w_.*field == idx_) return;
  w_.*field = idx_;
  rows_.push_back({Table::kIndexes, std::string(key), std::to_string(idx_)});
  keys_.emplace_back(key == kNodesIdx      ? kNodesTableKey
                     : key == kServicesIdx ? kServicesTableKey
                                           : kChecksTableKey);
}

void Mutation::touchService(const std::string& name) {
  keys_.push_back(serviceWatchKey(name));
  const auto* g = w_.services.find(name);
  if (!g || (*g)->index == idx_) return;
  auto ng = std::make_shared<ServiceGroup>(**g);
  ng->index = idx_;
  w_.services = w_.services.set(name, std::move(ng));
  rows_.push_back({Table::kIndexes, indexRowKey('s', name), std::to_string(idx_)});
}

void Mutation::touchNode(const std::string& name, bool withServices) {
  keys_.push_back(nodeWatchKey(name));
  const auto* n = w_.nodes.find(name);
  if (!n) return;
  if ((*n)->index != idx_) {
    auto nn = std::make_shared<NodeEntry>(**n);
    nn->index = idx_;
    w_.nodes = w_.nodes.set(name, std::move(nn));
    rows_.push_back({Table::kIndexes, indexRowKey('n', name), std::to_string(idx_)});
  }
  if (withServices) {
    // A node or node-check change shows in every service on the node.
    std::set<std::string> names;
    w_.nodeServices.forEachPrefix(instanceKey(name, ""),
                                  [&](const std::string&, const InstancePtr& i) {
                                    names.insert(i->service->name);
                                    return true;
                                  });
    for (const auto& s : names) touchService(s);
  }
}

void Mutation::putNode(Node n) {
  const auto* old = w_.nodes.find(n.name);
  auto e = std::make_shared<NodeEntry>();
  if (old) {
    e->checks = (*old)->checks;
    n.createIndex = (*old)->node.createIndex;
  } else {
    n.createIndex = idx_;
  }
  n.modifyIndex = idx_;
  e->node = std::move(n);
  e->index = idx_;
  std::string name = e->node.name;
  rows_.push_back({Table::kNodes, name, encodeNode(e->node)});
  rows_.push_back({Table::kIndexes, indexRowKey('n', name), std::to_string(idx_)});
  w_.nodes = w_.nodes.set(name, std::move(e));
  setTableIndex(kNodesIdx, &View::nodesIndex);
  touchNode(name, true);
}

void Mutation::setOwnerCheck(const Check& c, const CheckPtr& value) {
  if (c.serviceId.empty()) {
    const auto* n = w_.nodes.find(c.node);
    if (!n) return;
    auto e = std::make_shared<NodeEntry>(**n);
    upsertSorted(e->checks, c.checkId, value);
    w_.nodes = w_.nodes.set(c.node, std::move(e));
    touchNode(c.node, true);
    return;
  }
  std::string key = instanceKey(c.node, c.serviceId);
  const auto* inst = w_.nodeServices.find(key);
  if (!inst) return;
  auto ni = std::make_shared<Instance>(**inst);
  upsertSorted(ni->checks, c.checkId, value);
  const std::string& svc = ni->service->name;
  const auto* g = w_.services.find(svc);
  CAIRN_CHECK(g != nullptr, "an instance's service group exists");
  auto ng = std::make_shared<ServiceGroup>(**g);
  ng->instances = ng->instances.set(key, ni);
  w_.services = w_.services.set(svc, std::move(ng));
  w_.nodeServices = w_.nodeServices.set(key, std::move(ni));
  touchService(svc);
  touchNode(c.node, false);
}

void Mutation::putCheck(CheckPtr c) {
  std::string key = instanceKey(c->node, c->checkId);
  rows_.push_back({Table::kChecks, key, encodeCheck(*c)});
  w_.checks = w_.checks.set(key, c);
  setOwnerCheck(*c, c);
  setTableIndex(kChecksIdx, &View::checksIndex);
}

void Mutation::removeCheck(const std::string& node, const std::string& checkId) {
  std::string key = instanceKey(node, checkId);
  const auto* c = w_.checks.find(key);
  if (!c) return;
  CheckPtr old = *c;
  w_.checks = w_.checks.erase(key);
  rows_.push_back({Table::kChecks, key, {}, true});
  setOwnerCheck(*old, nullptr);
  setTableIndex(kChecksIdx, &View::checksIndex);
}

void Mutation::removeService(const std::string& node, const std::string& id) {
  std::string key = instanceKey(node, id);
  const auto* found = w_.nodeServices.find(key);
  if (!found) return;
  InstancePtr inst = *found;
  for (const auto& c : inst->checks) {
    std::string ck = instanceKey(node, c->checkId);
    w_.checks = w_.checks.erase(ck);
    rows_.push_back({Table::kChecks, ck, {}, true});
    setTableIndex(kChecksIdx, &View::checksIndex);
  }
  w_.nodeServices = w_.nodeServices.erase(key);
  rows_.push_back({Table::kServices, key, {}, true});
  const std::string& name = inst->service->name;
  const auto* g = w_.services.find(name);
  CAIRN_CHECK(g != nullptr, "an instance's service group exists");
  auto ng = std::make_shared<ServiceGroup>(**g);
  ng->instances = ng->instances.erase(key);
  if (ng->instances.empty()) {
    w_.services = w_.services.erase(name);
    rows_.push_back({Table::kIndexes, indexRowKey('s', name), {}, true});
    keys_.push_back(serviceWatchKey(name));
  } else {
    w_.services = w_.services.set(name, std::move(ng));
    touchService(name);
  }
  setTableIndex(kServicesIdx, &View::servicesIndex);
  touchNode(node, false);
}

Status Mutation::registerCmd(const RegisterCommand& c) {
  if (c.node.name.empty()) return invalidArgument("Must provide node");
  const auto* existing = w_.nodes.find(c.node.name);
  if (!existing) {
    if (c.node.address.empty() && !c.skipNodeUpdate) return invalidArgument("Must provide address");
    putNode(c.node);
  } else if (!c.skipNodeUpdate && !(*existing)->node.sameContent(c.node)) {
    putNode(c.node);
  }
  const std::string& node = c.node.name;

  if (c.service) {
    Service s = *c.service;
    s.node = node;
    if (s.id.empty()) s.id = s.name;
    if (s.name.empty()) return invalidArgument("Must provide service name");
    std::string key = instanceKey(node, s.id);
    const auto* old = w_.nodeServices.find(key);
    if (!old || !(*old)->service->sameContent(s)) {
      s.createIndex = old ? (*old)->service->createIndex : idx_;
      s.modifyIndex = idx_;
      std::vector<CheckPtr> keptChecks;
      if (old) {
        keptChecks = (*old)->checks;
        if ((*old)->service->name != s.name) {
          // Renamed: leave the old group; the checks follow the instance.
          std::string oldName = (*old)->service->name;
          const auto* og = w_.services.find(oldName);
          auto ng = std::make_shared<ServiceGroup>(**og);
          ng->instances = ng->instances.erase(key);
          if (ng->instances.empty()) {
            w_.services = w_.services.erase(oldName);
            rows_.push_back({Table::kIndexes, indexRowKey('s', oldName), {}, true});
            keys_.push_back(serviceWatchKey(oldName));
          } else {
            w_.services = w_.services.set(oldName, std::move(ng));
            touchService(oldName);
          }
        }
      }
      auto inst = std::make_shared<Instance>();
      inst->service = std::make_shared<const Service>(s);
      inst->checks = std::move(keptChecks);
      rows_.push_back({Table::kServices, key, encodeService(s)});
      w_.nodeServices = w_.nodeServices.set(key, inst);
      const auto* g = w_.services.find(s.name);
      auto ng = g ? std::make_shared<ServiceGroup>(**g) : std::make_shared<ServiceGroup>();
      ng->instances = ng->instances.set(key, inst);
      ng->index = 0;  // set by touchService below
      w_.services = w_.services.set(s.name, std::move(ng));
      touchService(s.name);
      setTableIndex(kServicesIdx, &View::servicesIndex);
      touchNode(node, false);
    }
  }

  for (const auto& in : c.checks) {
    Check ck = in;
    ck.node = node;
    if (ck.checkId.empty()) ck.checkId = ck.name;
    if (ck.checkId.empty()) return invalidArgument("Must provide check ID or name");
    if (!ck.serviceId.empty()) {
      const auto* inst = w_.nodeServices.find(instanceKey(node, ck.serviceId));
      if (!inst)
        return notFound("Missing service: \"" + ck.serviceId + "\" for check \"" + ck.checkId +
                        "\"");
      ck.serviceName = (*inst)->service->name;
      ck.serviceTags = (*inst)->service->tags;
    } else {
      ck.serviceName.clear();
      ck.serviceTags.clear();
    }
    const auto* old = w_.checks.find(instanceKey(node, ck.checkId));
    if (old && (*old)->sameContent(ck)) continue;
    if (old && (*old)->serviceId != ck.serviceId) setOwnerCheck(**old, nullptr);
    ck.createIndex = old ? (*old)->createIndex : idx_;
    ck.modifyIndex = idx_;
    putCheck(std::make_shared<const Check>(std::move(ck)));
  }
  return {};
}

Status Mutation::deregister(const DeregisterCommand& c) {
  if (c.node.empty()) return invalidArgument("Must provide node");
  if (!c.checkId.empty()) {
    removeCheck(c.node, c.checkId);
    return {};
  }
  if (!c.serviceId.empty()) {
    removeService(c.node, c.serviceId);
    return {};
  }
  if (!w_.nodes.find(c.node)) return {};
  std::vector<std::string> ids;
  w_.nodeServices.forEachPrefix(instanceKey(c.node, ""),
                                [&](const std::string&, const InstancePtr& i) {
                                  ids.push_back(i->service->id);
                                  return true;
                                });
  for (const auto& id : ids) removeService(c.node, id);
  std::vector<std::string> checkIds;
  for (const auto& ck : (*w_.nodes.find(c.node))->checks) checkIds.push_back(ck->checkId);
  for (const auto& id : checkIds) removeCheck(c.node, id);
  w_.nodes = w_.nodes.erase(c.node);
  rows_.push_back({Table::kNodes, c.node, {}, true});
  rows_.push_back({Table::kIndexes, indexRowKey('n', c.node), {}, true});
  keys_.push_back(nodeWatchKey(c.node));
  setTableIndex(kNodesIdx, &View::nodesIndex);
  return {};
}

Status Mutation::checkStatus(const CheckStatusCommand& c) {
  const auto* old = w_.checks.find(instanceKey(c.node, c.checkId));
  if (!old) return notFound("Unknown check ID \"" + c.checkId + "\"");
  if ((*old)->status == c.status && (*old)->output == c.output) return {};
  auto ck = std::make_shared<Check>(**old);
  ck->status = c.status;
  ck->output = c.output;
  ck->modifyIndex = idx_;
  putCheck(std::move(ck));
  return {};
}

Status Mutation::restore(const RestoreCommand& c) {
  auto v = restoredView(c.payload, idx_);
  if (!v.ok()) return v.error();
  // A snapshot without ACL state (taken before bootstrap, or by an older
  // server) keeps this cluster's: a restore must not reopen bootstrap.
  if (!v->acl) v->acl = w_.acl;
  // One batch: every row of the old catalog goes, then every row of the new
  // one comes (a key in both is erased, then written).
  forEachRowKey(w_, [&](Table t, std::string_view key) {
    rows_.push_back({t, std::string(key), {}, true});
  });
  forEachRow(*v, [&](Table t, std::string_view key, std::string_view value) {
    rows_.push_back({t, std::string(key), std::string(value)});
  });
  w_ = std::move(v).value();
  keys_.clear();
  replacedAll_ = true;
  return {};
}

namespace {

uint64_t parseIndex(std::string_view v) {
  uint64_t x = 0;
  std::from_chars(v.data(), v.data() + v.size(), x);
  return x;
}

}  // namespace

namespace {

using RowScan =
    std::function<Status(Table, const std::function<void(std::string_view, std::string_view)>&)>;

// How buildView treats its rows: as the store's own (trusted, indexes kept)
// or as a snapshot being restored (checked, every index set to `restamp`).
struct BuildMode {
  uint64_t restamp = 0;  // 0: keep the rows' indexes
  bool strict = false;
};

Result<View> buildView(uint64_t applied, const RowScan& scan, BuildMode mode) {
  View v;
  v.index = applied;
  Status bad;
  auto fail = [&](const Error& e) {
    if (bad.ok()) bad = e;
  };
  auto stamp = [&](auto& rec) {
    if (mode.restamp) rec.createIndex = rec.modifyIndex = mode.restamp;
  };
  std::map<std::string, std::shared_ptr<NodeEntry>> nodes;
  std::map<std::string, std::shared_ptr<Instance>> instances;
  std::vector<std::pair<std::string, CheckPtr>> checks;  // sorted and deduplicated below
  Status st = scan(Table::kNodes, [&](std::string_view key, std::string_view val) {
    auto n = decodeNode(val);
    if (!n.ok()) return fail(n.error());
    if (mode.strict && (n->name.empty() || key != n->name || nodes.count(n->name)))
      return fail(corruption("node row \"" + std::string(key) + "\" holds node \"" + n->name +
                             "\" or repeats"));
    auto e = std::make_shared<NodeEntry>();
    e->node = std::move(n).value();
    stamp(e->node);
    nodes[e->node.name] = e;
  });
  if (!st.ok()) return st.error();
  st = scan(Table::kServices, [&](std::string_view key, std::string_view val) {
    auto s = decodeService(val);
    if (!s.ok()) return fail(s.error());
    if (mode.strict) {
      if (s->name.empty() || key != instanceKey(s->node, s->id) ||
          instances.count(std::string(key)))
        return fail(corruption("service row of \"" + s->id + "\" on node \"" + s->node +
                               "\" has a mismatched key, no name, or repeats"));
      if (!nodes.count(s->node))
        return fail(corruption("service \"" + s->id + "\" is on node \"" + s->node +
                               "\", which is not in the snapshot"));
    }
    auto i = std::make_shared<Instance>();
    Service svc = std::move(s).value();
    stamp(svc);
    i->service = std::make_shared<const Service>(std::move(svc));
    instances[std::string(key)] = i;
  });
  if (!st.ok()) return st.error();
  st = scan(Table::kChecks, [&](std::string_view key, std::string_view val) {
    auto c = decodeCheck(val);
    if (!c.ok()) return fail(c.error());
    if (mode.strict) {
      if (key != instanceKey(c->node, c->checkId))
        return fail(corruption("check row of \"" + c->checkId + "\" on node \"" + c->node +
                               "\" has a mismatched key"));
      if (!nodes.count(c->node))
        return fail(corruption("check \"" + c->checkId + "\" is on node \"" + c->node +
                               "\", which is not in the snapshot"));
      if (!c->serviceId.empty() && !instances.count(instanceKey(c->node, c->serviceId)))
        return fail(corruption("check \"" + c->checkId + "\" belongs to service \"" + c->serviceId +
                               "\", which is not in the snapshot"));
    }
    Check chk = std::move(c).value();
    stamp(chk);
    auto cp = std::make_shared<const Check>(std::move(chk));
    checks.emplace_back(std::string(key), cp);
    if (cp->serviceId.empty()) {
      auto it = nodes.find(cp->node);
      if (it != nodes.end()) upsertSorted(it->second->checks, cp->checkId, cp);
    } else {
      auto it = instances.find(instanceKey(cp->node, cp->serviceId));
      if (it != instances.end()) upsertSorted(it->second->checks, cp->checkId, cp);
    }
  });
  if (!st.ok()) return st.error();
  std::map<std::string, uint64_t> serviceIdx, nodeIdx;
  st = scan(Table::kIndexes, [&](std::string_view key, std::string_view val) {
    if (key == kAclStateRowKey) {
      auto a = decodeAclState(val);
      if (!a.ok()) return fail(a.error());
      if (mode.restamp) a->index = mode.restamp;
      v.acl = std::make_shared<const acl::AclState>(std::move(a).value());
      return;
    }
    uint64_t x = parseIndex(val);
    if (key == kNodesIdx)
      v.nodesIndex = x;
    else if (key == kServicesIdx)
      v.servicesIndex = x;
    else if (key == kChecksIdx)
      v.checksIndex = x;
    else if (key.starts_with("s/"))
      serviceIdx[std::string(key.substr(2))] = x;
    else if (key.starts_with("n/"))
      nodeIdx[std::string(key.substr(2))] = x;
  });
  if (!st.ok()) return st.error();
  if (!bad.ok()) return bad.error();
  if (mode.restamp) v.nodesIndex = v.servicesIndex = v.checksIndex = mode.restamp;

  // Rows arrive in key order from a store; a snapshot's are checked.
  auto byKey = [](const auto& a, const auto& b) { return a.first < b.first; };
  if (!std::is_sorted(checks.begin(), checks.end(), byKey))
    std::stable_sort(checks.begin(), checks.end(), byKey);
  auto repeat = std::adjacent_find(checks.begin(), checks.end(),
                                   [](const auto& a, const auto& b) { return a.first == b.first; });
  if (repeat != checks.end())
    return corruption("check \"" + repeat->second->checkId + "\" on node \"" +
                      repeat->second->node + "\" repeats");
  v.checks = PMap<CheckPtr>::fromSorted(std::move(checks));

  // The maps below are in key order: every PMap is built in one pass.
  std::vector<std::pair<std::string, NodeEntryPtr>> nodeItems;
  nodeItems.reserve(nodes.size());
  for (auto& [name, e] : nodes) {
    e->index = mode.restamp ? mode.restamp : nodeIdx[name];
    nodeItems.emplace_back(name, std::move(e));
  }
  v.nodes = PMap<NodeEntryPtr>::fromSorted(std::move(nodeItems));
  std::vector<std::pair<std::string, InstancePtr>> instanceItems;
  instanceItems.reserve(instances.size());
  std::map<std::string, std::vector<std::pair<std::string, InstancePtr>>> groups;
  for (auto& [key, inst] : instances) {
    groups[inst->service->name].emplace_back(key, inst);
    instanceItems.emplace_back(key, std::move(inst));
  }
  v.nodeServices = PMap<InstancePtr>::fromSorted(std::move(instanceItems));
  std::vector<std::pair<std::string, ServiceGroupPtr>> groupItems;
  groupItems.reserve(groups.size());
  for (auto& [name, members] : groups) {
    auto g = std::make_shared<ServiceGroup>();
    g->instances = PMap<InstancePtr>::fromSorted(std::move(members));
    g->index = mode.restamp ? mode.restamp : serviceIdx[name];
    groupItems.emplace_back(name, std::move(g));
  }
  v.services = PMap<ServiceGroupPtr>::fromSorted(std::move(groupItems));
  return v;
}

}  // namespace

Result<View> loadView(CatalogStore& store) {
  auto applied = store.appliedIndex();
  if (!applied.ok()) return applied.error();
  return buildView(*applied, [&](Table t, const auto& fn) { return store.scan(t, fn); }, {});
}

Result<View> restoredView(std::string_view payload, uint64_t index) {
  CAIRN_CHECK(index > 0, "a restore happens at a log index");
  auto rows = readSnapshotPayload(payload);
  if (!rows.ok()) return rows.error();
  auto scan = [&rows](Table t, const std::function<void(std::string_view, std::string_view)>& fn) {
    for (const auto& r : *rows)
      if (r.table == t) fn(r.key, r.value);
    return Status();
  };
  auto v = buildView(index, scan, {index, true});
  if (!v.ok()) return invalidArgument("invalid snapshot: " + v.error().message);
  return v;
}

}  // namespace cairn::registry
