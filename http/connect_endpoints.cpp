// The mesh's CA and identity endpoints, as Consul's: CA roots, leaf
// certificates (signed here, cached per service, blocking until renewal is
// due), authorize, CA rotation, and /v1/health/connect/:service.
#include <boost/json.hpp>
#include <charconv>

#include "common/duration.hpp"
#include "http/api.hpp"
#include "http/connect_json.hpp"
#include "http/decode.hpp"
#include "http/encode.hpp"
#include "http/filters.hpp"
#include "http/json_fields.hpp"
#include "http/leaf_cache.hpp"
#include "registry/ca_plan.hpp"
#include "registry/intentions.hpp"
#include "registry/spiffe.hpp"

namespace cairn::http {
namespace json = boost::json;

namespace {

json::object leafJson(const LeafCache::Leaf& l) {
  return {{"SerialNumber", l.serialHex},
          {"CertPEM", l.certPem},
          {"PrivateKeyPEM", l.keyPem},
          {"Service", l.service},
          {"ServiceURI", l.serviceUri},
          {"ValidAfter", rfc3339(l.validAfter)},
          {"ValidBefore", rfc3339(l.validBefore)},
          {"CreateIndex", l.index},
          {"ModifyIndex", l.index}};
}

std::vector<const registry::Intention*> allIntentions(const registry::View& v) {
  std::vector<const registry::Intention*> out;
  out.reserve(v.intentions.size());
  v.intentions.forEach([&](const std::string&, const registry::IntentionPtr& i) {
    out.push_back(i.get());
    return true;
  });
  return out;
}

}  // namespace

int64_t Api::nowSeconds() const {
  if (opts_.connect.now) return opts_.connect.now();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Outcome Api::connectCaRoots(const Request& req, const std::string&) {
  bool pem = req.flag("pem");
  return query(
      req, {std::string(registry::kCaTableKey)},
      [](const View& v) { return std::max<uint64_t>(v.caIndex, 1); },
      [pem](const View& v) {
        if (pem) {
          std::string chain;
          if (v.ca)
            for (const auto& r : v.ca->roots) chain += r.rootCert;
          Response r = Response::text(200, std::move(chain));
          r.contentType = "application/pem-certificate-chain";
          return r;
        }
        return Response::json(serialize(caRootsJson(v.ca.get())));
      });
}

Outcome Api::connectCaLeaf(const Request& req, const std::string& service) {
  if (Status st = validateName("service", service, true); !st.ok())
    return errorResponse(st.error());
  uint64_t minIndex = 0;
  if (const auto* p = req.param("index"); p && !p->empty()) {
    auto [end, ec] = std::from_chars(p->data(), p->data() + p->size(), minIndex);
    if (ec != std::errc() || end != p->data() + p->size())
      return Response::text(400, "Invalid index: \"" + *p + "\" is not a number");
  }
  auto wait = opts_.defaultWait;
  if (const auto* w = req.param("wait")) {
    auto d = parseDuration(*w);
    if (!d.ok()) return Response::text(400, "Invalid wait time: " + d.error().message);
    wait = std::min(*d, opts_.maxWait);
  }
  // Signs (or takes from the cache) the leaf as of the current view.
  auto current = [this, service]() -> Result<LeafCache::LeafPtr> {
    auto v = hub_.view();
    if (!v->ca) return unavailable("the cluster's CA is not initialized yet (no leader?)");
    return leaves_->get(*v->ca, self_.datacenter, service, nowSeconds(),
                        opts_.connect.leafCertTtlSeconds, v->index);
  };
  auto answer = [this](const Result<LeafCache::LeafPtr>& leaf) {
    if (!leaf.ok()) return errorResponse(leaf.error());
    Response r = Response::json(serialize(leafJson(**leaf)));
    addIndexHeaders(r, (*leaf)->index);
    return r;
  };
  auto leaf = current();
  if (!leaf.ok() || minIndex == 0 || (*leaf)->index != minIndex) return answer(leaf);
  // Blocks until the active root changes or the leaf is due for renewal
  // (whichever comes first, within the wait), then answers with the leaf of
  // that moment: a new one if it was due.
  std::string rootId = (*leaf)->rootId;
  int64_t untilRenewal = std::max<int64_t>((*leaf)->renewAt() - nowSeconds(), 0);
  Blocking b;
  b.keys = {std::string(registry::kCaTableKey)};
  b.ready = [rootId](const View& v) {
    return v.ca && v.ca->active() && v.ca->active()->id != rootId;
  };
  b.wait = std::min<std::chrono::milliseconds>(
      wait, std::chrono::seconds(untilRenewal) + std::chrono::milliseconds(50));
  b.render = [current, answer] { return answer(current()); };
  return b;
}

Outcome Api::connectAuthorize(const Request& req, const std::string&) {
  auto body = parseJsonObject(req.body);
  if (!body.ok()) return errorResponse(body.error());
  Fields f(*body);
  std::string target, uri;
  if (Status st = f.str("Target", target); !st.ok()) return errorResponse(st.error());
  if (Status st = f.str("ClientCertURI", uri); !st.ok()) return errorResponse(st.error());
  if (target.empty()) return Response::text(400, "Target service must be specified");
  if (uri.empty()) return Response::text(400, "ClientCertURI must be specified");
  auto id = registry::parseSpiffeServiceUri(uri);
  if (!id) return Response::text(400, "ClientCertURI not a valid Connect identifier");
  auto v = hub_.view();
  if (!v->ca) return Response::text(503, "the cluster's CA is not initialized yet");
  auto reply = [](bool ok, std::string reason) {
    return Response::json(serialize(json::object{{"Authorized", ok}, {"Reason", reason}}));
  };
  if (id->trustDomain != v->ca->trustDomain())
    return reply(false, "Identity from an external trust domain");
  auto d =
      registry::decideIntention(allIntentions(*v), id->service, target, opts_.connect.defaultAllow);
  return reply(d.allowed, d.reason);
}

Outcome Api::connectCaConfiguration(const Request& req, const std::string& arg) {
  if (req.method == "PUT") {
    auto body = parseJsonObject(req.body);
    if (!body.ok()) return errorResponse(body.error());
    std::string provider = "consul";
    if (Status st = Fields(*body).str("Provider", provider); !st.ok())
      return errorResponse(st.error());
    if (provider != "consul")
      return Response::text(400, "CA provider \"" + provider +
                                     "\" is not supported; only the built-in \"consul\" one is");
    // Cairn: with the built-in provider, setting the configuration rotates
    // to a new root (cross-signed by the current one).
    return connectCaRotate(req, arg);
  }
  return query(
      req, {std::string(registry::kCaTableKey)},
      [](const View& v) { return std::max<uint64_t>(v.caIndex, 1); },
      [this](const View& v) {
        std::string ttl = std::to_string(opts_.connect.leafCertTtlSeconds / 3600) + "h";
        json::object o{
            {"Provider", "consul"},
            {"Config",
             json::object{{"LeafCertTTL", ttl}, {"PrivateKeyType", "ec"}, {"PrivateKeyBits", 256}}},
            {"ClusterID", v.ca ? v.ca->clusterId : ""},
            {"CreateIndex", v.ca ? v.ca->createIndex : 0},
            {"ModifyIndex", v.ca ? v.ca->modifyIndex : 0}};
        return Response::json(serialize(o));
      });
}

Outcome Api::connectCaRotate(const Request&, const std::string&) {
  auto v = hub_.view();
  if (!v->ca) return Response::text(503, "the cluster's CA is not initialized yet");
  auto cmd = registry::planRotation(*v->ca, nowSeconds());
  if (!cmd.ok()) return errorResponse(cmd.error());
  return write(*cmd, [](uint64_t) { return Response::json("true"); });
}

Outcome Api::healthConnect(const Request& req, const std::string& name) {
  auto filter = parseInstanceFilter(req);
  if (!filter.ok()) return errorResponse(filter.error());
  bool passing = req.flag("passing");
  auto v = hub_.view();
  std::vector<std::string> keys = {registry::serviceWatchKey(name),
                                   registry::connectWatchKey(name)};
  if (const auto* d = v->connectDests.find(name))
    for (const auto& p : (*d)->proxies) keys.push_back(registry::serviceWatchKey(p));
  return query(
      req, std::move(keys), [name](const View& v) { return v.connectIndex(name); },
      [name, passing, f = *filter](const View& v) {
        json::array out;
        auto add = [&](const registry::NodeEntry& n, const registry::Instance& i) {
          if (passing) {
            for (const auto& c : n.checks)
              if (c->status != registry::HealthStatus::kPassing) return;
            for (const auto& c : i.checks)
              if (c->status != registry::HealthStatus::kPassing) return;
          }
          json::array checks;
          for (const auto& c : n.checks) checks.push_back(checkJson(*c, nullptr));
          for (const auto& c : i.checks) checks.push_back(checkJson(*c, i.service.get()));
          out.push_back(json::object{{"Node", nodeJson(n.node)},
                                     {"Service", healthServiceJson(*i.service)},
                                     {"Checks", std::move(checks)}});
        };
        // The proxies of the service, then its native instances.
        if (const auto* d = v.connectDests.find(name))
          for (const auto& p : (*d)->proxies)
            forEachInstance(v, p, f,
                            [&](const registry::NodeEntry& n, const registry::Instance& i) {
                              const auto& s = *i.service;
                              if (s.kind == registry::kConnectProxyKind &&
                                  s.proxy.destinationServiceName == name)
                                add(n, i);
                            });
        forEachInstance(v, name, f, [&](const registry::NodeEntry& n, const registry::Instance& i) {
          if (i.service->connectNative) add(n, i);
        });
        return Response::json(serialize(out));
      });
}

}  // namespace cairn::http
