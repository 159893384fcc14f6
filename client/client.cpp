#include "client/client.hpp"

#include "client/address.hpp"
#include "client/api_paths.hpp"
#include "client/decode.hpp"
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

template <typename T>
Result<T> decoded(Result<T> value, std::string_view target) {
  if (value) return value;
  Error e = value.error();
  e.message += " (GET " + std::string(target) + ")";
  return e;
}

}  // namespace

Result<std::unique_ptr<Client>> Client::create(ClientConfig config) {
  if (config.address.empty()) config.address = defaultAddress();
  auto endpoint = parseAddress(config.address);
  if (!endpoint) return endpoint.error();
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

Result<Response> Client::request(std::string_view method, std::string_view target,
                                 std::string_view body) {
  return transport_->roundTrip(method, target, body, kJsonContentType);
}

Result<Response> Client::call(std::string_view method, std::string_view target,
                              std::string_view body, std::string_view contentType) {
  auto res = transport_->roundTrip(method, target, body, contentType);
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

Status Client::registerService(std::string_view definitionJson) {
  auto res = call("PUT", paths::kRegisterService, definitionJson);
  if (!res) return res.error();
  return {};
}

Status Client::deregisterService(std::string_view serviceId) {
  if (serviceId.empty()) return invalidArgument("empty service ID");
  auto res = call("PUT", paths::deregisterService(serviceId));
  if (!res) return res.error();
  return {};
}

Result<std::map<std::string, std::vector<std::string>>> Client::catalogServices() {
  auto body = get(paths::kCatalogServices);
  if (!body) return body.error();
  return decoded(decodeCatalogServices(*body), paths::kCatalogServices);
}

Result<std::vector<CatalogNode>> Client::catalogNodes() {
  auto body = get(paths::kCatalogNodes);
  if (!body) return body.error();
  return decoded(decodeCatalogNodes(*body), paths::kCatalogNodes);
}

Result<std::vector<CatalogServiceInstance>> Client::catalogService(std::string_view name) {
  if (name.empty()) return invalidArgument("empty service name");
  std::string target = paths::catalogService(name);
  auto body = get(target);
  if (!body) return body.error();
  return decoded(decodeCatalogService(*body), target);
}

Result<std::vector<HealthServiceEntry>> Client::healthService(std::string_view name,
                                                              bool passingOnly) {
  if (name.empty()) return invalidArgument("empty service name");
  std::string target = paths::healthService(name, passingOnly);
  auto body = get(target);
  if (!body) return body.error();
  return decoded(decodeHealthService(*body), target);
}

Status Client::updateCheck(std::string_view status, std::string_view checkId,
                           std::string_view note) {
  if (checkId.empty()) return invalidArgument("empty check ID");
  auto res = call("PUT", paths::checkUpdate(status, checkId, note));
  if (!res) return res.error();
  return {};
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
