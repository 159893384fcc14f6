// loadRegistration (registration.hpp): the I/O half, in the proxy library
// that links the client.
#include "client/client.hpp"
#include "proxy/registration.hpp"

namespace cairn::proxy {

namespace {

std::string percentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

Status loadRegistration(ProxyConfig& cfg) {
  client::ClientConfig cc;
  cc.address = cfg.agentAddress;
  cc.token = cfg.token;
  auto client = Client::create(cc);
  if (!client.ok()) return client.error();
  std::string id = cfg.proxyId;
  if (id.empty()) {
    auto all = (*client)->get("/v1/agent/services");
    if (!all.ok()) return Error{all.error().code, "-sidecar-for: " + all.error().message};
    auto found = findSidecarProxyId(*all, cfg.sidecarFor);
    if (!found.ok()) return Error{found.error().code, "-sidecar-for: " + found.error().message};
    id = *found;
  }
  auto body = (*client)->get("/v1/agent/service/" + percentEncode(id));
  if (!body.ok())
    return Error{body.error().code, "proxy service " + id + ": " + body.error().message};
  auto reg = decodeProxyRegistration(*body);
  if (!reg.ok()) return reg.error();
  applyRegistration(cfg, *reg);
  if (Status st = cfg.validate(); !st.ok())
    return invalidArgument("with the registration of " + id + ": " + st.error().message);
  return {};
}

}  // namespace cairn::proxy
