// loadRegistration (registration.hpp): the I/O half, in the proxy library
// that links the client.
#include <thread>

#include "client/client.hpp"
#include "proxy/registration.hpp"
#include "proxy/watch_support.hpp"

namespace cairn::proxy {

namespace {

Status loadOnce(ProxyConfig& cfg, Client& client) {
  std::string id = cfg.proxyId;
  if (id.empty()) {
    auto all = client.get("/v1/agent/services");
    if (!all.ok()) return Error{all.error().code, "-sidecar-for: " + all.error().message};
    auto found = findSidecarProxyId(*all, cfg.sidecarFor);
    if (!found.ok()) return Error{found.error().code, "-sidecar-for: " + found.error().message};
    id = *found;
  }
  auto body = client.get("/v1/agent/service/" + percentEncode(id));
  if (!body.ok())
    return Error{body.error().code, "proxy service " + id + ": " + body.error().message};
  auto reg = decodeProxyRegistration(*body);
  if (!reg.ok()) return reg.error();
  applyRegistration(cfg, *reg);
  if (Status st = cfg.validate(); !st.ok())
    return invalidArgument("with the registration of " + id + ": " + st.error().message);
  return {};
}

}  // namespace

Status loadRegistration(ProxyConfig& cfg) {
  client::ClientConfig cc;
  cc.address = cfg.agentAddress;
  cc.token = cfg.token;
  cc.connectTimeout = std::min(cc.connectTimeout, std::chrono::milliseconds(2000));
  cc.timeout = std::min(cc.timeout, std::chrono::milliseconds(5000));
  auto client = Client::create(cc);
  if (!client.ok()) return client.error();
  // An agent that is not up yet (both started at boot) is waited for, as
  // long as the first leaf would be; any answer from it is final.
  auto deadline = std::chrono::steady_clock::now() + cfg.meshWait;
  auto backoff = std::chrono::milliseconds(250);
  while (true) {
    ProxyConfig attempt = cfg;
    Status st = loadOnce(attempt, **client);
    if (st.ok()) {
      cfg = std::move(attempt);
      return {};
    }
    if (st.error().code != ErrorCode::kUnavailable ||
        std::chrono::steady_clock::now() + backoff > deadline)
      return st;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
}

}  // namespace cairn::proxy
