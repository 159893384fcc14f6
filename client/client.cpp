#include "client/client.hpp"

#include "client/address.hpp"
#include "client/api_paths.hpp"
#include "client/encode.hpp"
#include "client/env.hpp"
#include "client/tls_client.hpp"
#include "client/transport.hpp"
#include "client/url.hpp"

namespace cairn::client {
namespace {

constexpr std::size_t kMaxErrorBodyChars = 1000;

ErrorCode codeForStatus(unsigned status) {
  switch (status) {
    case 400:
    case 405:
    case 413:
      return ErrorCode::kInvalidArgument;
    case 401:
    case 403:
      return ErrorCode::kPermissionDenied;
    case 404:
      return ErrorCode::kNotFound;
    default:
      return status >= 500 ? ErrorCode::kUnavailable : ErrorCode::kInternal;
  }
}

// The body as one line of bounded length, for an error message.
std::string oneLine(std::string_view body) {
  std::string out;
  bool space = false;
  for (char c : body) {
    if (out.size() >= kMaxErrorBodyChars) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(c);
    if (u <= ' ' || u == 0x7F) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

bool envTrue(std::initializer_list<const char*> names) {
  std::string v = firstEnv(names);
  return v == "true" || v == "1";
}

bool envFalse(std::initializer_list<const char*> names) {
  std::string v = firstEnv(names);
  return v == "false" || v == "0";
}

// The config's TLS fields, the environment's where they are empty.
TlsClientOptions tlsOptions(const ClientConfig& c) {
  auto orEnv = [](const std::string& value, std::initializer_list<const char*> names) {
    return value.empty() ? firstEnv(names) : value;
  };
  TlsClientOptions o;
  o.caFile = orEnv(c.caFile, {"CAIRN_CACERT", "CONSUL_CACERT"});
  o.caPath = orEnv(c.caPath, {"CAIRN_CAPATH", "CONSUL_CAPATH"});
  o.clientCert = orEnv(c.clientCert, {"CAIRN_CLIENT_CERT", "CONSUL_CLIENT_CERT"});
  o.clientKey = orEnv(c.clientKey, {"CAIRN_CLIENT_KEY", "CONSUL_CLIENT_KEY"});
  o.serverName = orEnv(c.tlsServerName, {"CAIRN_TLS_SERVER_NAME", "CONSUL_TLS_SERVER_NAME"});
  o.verify =
      !c.insecureSkipVerify && !envFalse({"CAIRN_HTTP_SSL_VERIFY", "CONSUL_HTTP_SSL_VERIFY"});
  return o;
}

}  // namespace

Result<std::unique_ptr<Client>> Client::create(ClientConfig config) {
  if (config.address.empty()) config.address = defaultAddress();
  auto endpoint = parseAddress(config.address);
  if (!endpoint) return endpoint.error();
  if (!endpoint->hasScheme && envTrue({"CAIRN_HTTP_SSL", "CONSUL_HTTP_SSL"})) {
    endpoint = parseAddress("https://" + config.address);
    if (!endpoint) return endpoint.error();
  }
  if (config.connectTimeout.count() <= 0) {
    return invalidArgument("ClientConfig.connectTimeout must be positive");
  }
  if (config.timeout.count() <= 0) return invalidArgument("ClientConfig.timeout must be positive");
  HttpTransportOptions options;
  options.connectTimeout = config.connectTimeout;
  options.requestTimeout = config.timeout;
  if (config.maxResponseBytes == 0)
    return invalidArgument("ClientConfig.maxResponseBytes must be positive");
  options.maxResponseBytes = config.maxResponseBytes;
  options.token = config.token.empty() ? defaultToken() : config.token;
  if (endpoint->tls) {
    auto tls = makeTlsClientContext(tlsOptions(config));
    if (!tls) return tls.error();
    options.tls = *std::move(tls);
  }
  std::string display = endpoint->display;
  return createWithTransport(std::move(display), makeHttpTransport(*std::move(endpoint), options));
}

std::unique_ptr<Client> Client::createWithTransport(std::string address,
                                                    std::unique_ptr<Transport> transport) {
  CAIRN_CHECK(transport != nullptr, "Client needs a transport");
  return std::unique_ptr<Client>(new Client(std::move(address), std::move(transport)));
}

Client::Client(std::string address, std::unique_ptr<Transport> transport)
    : address_(std::move(address)), transport_(std::move(transport)) {}

Client::~Client() = default;

void Client::cancel() {
  transport_->cancel();
}

Result<Response> Client::request(std::string_view method, std::string_view target,
                                 std::string_view body) {
  return transport_->roundTrip({method, target, body, kJsonContentType});
}

Result<Response> Client::call(std::string_view method, std::string_view target,
                              std::string_view body, std::string_view contentType,
                              std::chrono::milliseconds timeout) {
  auto res = transport_->roundTrip({method, target, body, contentType, timeout});
  if (!res) return res;
  if (res->status >= 200 && res->status < 300) return res;
  std::string message = std::string(method) + " " + std::string(target) + " failed: HTTP " +
                        std::to_string(res->status) + " from cairn at " + address_;
  std::string text = oneLine(res->body);
  if (!text.empty()) message += ": " + text;
  return Error{codeForStatus(res->status), std::move(message)};
}

Result<std::string> Client::get(std::string_view target) {
  auto res = call("GET", target);
  if (!res) return res.error();
  return std::move(res->body);
}

Status Client::put(const std::string& target, std::string_view body) {
  auto res = call("PUT", target, body);
  if (!res) return res.error();
  return {};
}

Status Client::registerService(std::string_view definitionJson) {
  return put(std::string(paths::kRegisterService), definitionJson);
}

Status Client::registerService(const ServiceRegistration& service) {
  auto body = encodeServiceRegistration(service);
  if (!body) return body.error();
  return put(std::string(paths::kRegisterService), *body);
}

Status Client::deregisterService(std::string_view serviceId) {
  if (serviceId.empty()) return invalidArgument("empty service ID");
  return put(paths::deregisterService(serviceId));
}

Status Client::registerCheck(const CheckDefinition& check) {
  auto body = encodeCheckDefinition(check);
  if (!body) return body.error();
  return put(std::string(paths::kRegisterCheck), *body);
}

Status Client::deregisterCheck(std::string_view checkId) {
  if (checkId.empty()) return invalidArgument("empty check ID");
  return put(paths::deregisterCheck(checkId));
}

Status Client::updateCheck(std::string_view status, std::string_view checkId,
                           std::string_view note) {
  if (checkId.empty()) return invalidArgument("empty check ID");
  return put(paths::checkUpdate(status, checkId, note));
}

Status Client::checkPass(std::string_view checkId, std::string_view note) {
  return updateCheck("pass", checkId, note);
}

Status Client::checkWarn(std::string_view checkId, std::string_view note) {
  return updateCheck("warn", checkId, note);
}

Status Client::checkFail(std::string_view checkId, std::string_view note) {
  return updateCheck("fail", checkId, note);
}

Status Client::checkUpdate(std::string_view checkId, std::string_view status,
                           std::string_view output) {
  if (checkId.empty()) return invalidArgument("empty check ID");
  auto body = encodeCheckUpdate(status, output);
  if (!body) return body.error();
  return put(paths::checkUpdateWithOutput(checkId), *body);
}

Status Client::join(std::string_view serverAddress) {
  if (serverAddress.empty()) return invalidArgument("empty server address");
  auto res = call("PUT", "/v1/agent/join/" + escapeComponent(serverAddress));
  if (!res) return res.error();
  return {};
}

Status Client::leave() {
  auto res = call("PUT", "/v1/agent/leave");
  if (!res) return res.error();
  return {};
}

Status Client::removePeer(std::string_view idOrAddress, bool isAddress) {
  if (idOrAddress.empty()) return invalidArgument("empty server ID or address");
  auto res = call("DELETE", std::string("/v1/operator/raft/peer?") +
                                (isAddress ? "address=" : "id=") + escapeComponent(idOrAddress));
  if (!res) return res.error();
  return {};
}

Status Client::transferLeader(std::string_view id) {
  std::string target = "/v1/operator/raft/transfer-leader";
  if (!id.empty()) target += "?id=" + escapeComponent(id);
  auto res = call("POST", target);
  if (!res) return res.error();
  return {};
}

Result<Snapshot> Client::snapshotSave(bool stale) {
  std::string target(paths::kSnapshot);
  if (stale) target += "?stale";
  auto res = call("GET", target);
  if (!res) return res.error();
  return Snapshot{std::move(res->body), res->index};
}

Result<std::uint64_t> Client::snapshotRestore(std::string_view file) {
  if (file.empty()) return invalidArgument("empty snapshot");
  auto res = call("PUT", paths::kSnapshot, file, "application/octet-stream");
  if (!res) return res.error();
  return res->index;
}

}  // namespace cairn::client
