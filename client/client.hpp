// Client: a small synchronous client for Cairn's (Consul-compatible) HTTP API.
//
//   auto client = cairn::Client::create({.address = "127.0.0.1:8500"});
//   if (!client) { ...client.error().message... }
//   auto nodes = (*client)->catalogNodes();
//
// One keep-alive connection, opened on the first request and reused; every
// method blocks the calling thread until the answer arrives or a timeout
// fires. Not thread-safe: use one Client per thread. Errors are values whose
// messages name the server, the request and what went wrong. Asynchronous
// calls on an Asio executor are in client/async.hpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "client/types.hpp"
#include "client/watch.hpp"
#include "common/result.hpp"

namespace cairn::client {

class Transport;

struct ClientConfig {
  // "host:port", "host", "http://host:port", "https://host:port" or
  // "[::1]:port". Empty means $CAIRN_HTTP_ADDR (else $CONSUL_HTTP_ADDR), else
  // 127.0.0.1:8500. An address without a scheme is HTTPS when
  // $CAIRN_HTTP_SSL (else $CONSUL_HTTP_SSL) is "true" or "1".
  std::string address;
  std::chrono::milliseconds connectTimeout{5000};
  // Bounds one request: writing it plus reading the whole response.
  std::chrono::milliseconds timeout{30000};
  // Larger responses fail (a snapshot of a big catalog needs more).
  std::size_t maxResponseBytes = std::size_t{64} << 20;
  // Sent as X-Consul-Token (for ACLs). Empty means $CAIRN_HTTP_TOKEN (else
  // $CONSUL_HTTP_TOKEN).
  std::string token;

  // TLS, for an https address (unused over plain HTTP). The server's
  // certificate must chain to a trusted CA and hold the server's name (a DNS
  // name, or an IP address among its IP SANs). An empty field takes the
  // environment variable named beside it (CAIRN_*, else Consul's CONSUL_*).
  //
  // PEM bundle of the CAs to trust ($CAIRN_CACERT). With neither caFile nor
  // caPath, the system's trusted CAs.
  std::string caFile;
  // A directory whose every file holding PEM certificates is trusted
  // ($CAIRN_CAPATH).
  std::string caPath;
  // This client's certificate and unencrypted key, PEM, for a server with
  // verify_incoming ($CAIRN_CLIENT_CERT, $CAIRN_CLIENT_KEY); both or neither.
  std::string clientCert;
  std::string clientKey;
  // The name the server's certificate must hold, also sent as SNI; empty:
  // the address's host ($CAIRN_TLS_SERVER_NAME).
  std::string tlsServerName;
  // Accept any server certificate (no CA or name check): for tests only.
  // Also on when $CAIRN_HTTP_SSL_VERIFY is "false" or "0".
  bool insecureSkipVerify = false;
};

// How long a blocking query with this `wait` may take: the wait, the up to
// 1/16 jitter the server adds, and a margin (the server's default is 5m).
std::chrono::milliseconds blockingTimeout(std::chrono::milliseconds wait);

class Client {
 public:
  // Fails (kInvalidArgument, naming the field) on a malformed address, a
  // non-positive timeout, or (https) an unreadable or malformed CA, client
  // certificate or key, or a key that is not the certificate's. Does not
  // connect.
  static Result<std::unique_ptr<Client>> create(ClientConfig config);
  // For tests and embedding: drives the API over `transport`.
  static std::unique_ptr<Client> createWithTransport(std::string address,
                                                     std::unique_ptr<Transport> transport);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Aborts the request in flight (it fails), or else the next one. The one
  // method that may be called from another thread: it stops a watch at once
  // when options.stop is set first.
  void cancel();

  // The server's address as "host:port".
  const std::string& address() const { return address_; }

  // Sends `method target` and returns the response whatever its status.
  // Errors only when no response arrived; messages name the address.
  Result<Response> request(std::string_view method, std::string_view target,
                           std::string_view body = {});
  // GET `target`; returns the body of a 2xx response, else an Error holding
  // the status and the body's text.
  Result<std::string> get(std::string_view target);

  // --- Agent writes. ---
  // PUT /v1/agent/service/register with a service definition (a JSON object
  // as Consul's agent API takes it), sent as is.
  Status registerService(std::string_view definitionJson);
  // The same from a struct (see encode.hpp for what is refused locally).
  Status registerService(const ServiceRegistration& service);
  Status deregisterService(std::string_view serviceId);
  // A check on its own, or attached to a service with check.serviceId.
  Status registerCheck(const CheckDefinition& check);
  Status deregisterCheck(std::string_view checkId);

  // Sets a TTL check's status; `note` becomes its output (may be empty).
  Status checkPass(std::string_view checkId, std::string_view note = {});
  Status checkWarn(std::string_view checkId, std::string_view note = {});
  Status checkFail(std::string_view checkId, std::string_view note = {});
  // PUT /v1/agent/check/update: `status` is "passing", "warning" or
  // "critical"; `output` replaces the check's output.
  Status checkUpdate(std::string_view checkId, std::string_view status, std::string_view output);

  // --- Queries. `options` carries consistency, tags, passing and, for a
  // blocking query, index and wait (see QueryOptions). ---
  // Service name -> tags.
  Result<std::map<std::string, std::vector<std::string>>> catalogServices(
      const QueryOptions& options = {});
  Result<std::vector<CatalogNode>> catalogNodes(const QueryOptions& options = {});
  Result<std::vector<CatalogServiceInstance>> catalogService(std::string_view name,
                                                             const QueryOptions& options = {});
  Result<std::vector<HealthServiceEntry>> healthService(std::string_view name,
                                                        const QueryOptions& options = {});
  // With `passingOnly`, the server drops instances with any non-passing check.
  Result<std::vector<HealthServiceEntry>> healthService(std::string_view name, bool passingOnly);
  // The checks of every instance of a service.
  Result<std::vector<HealthCheck>> healthChecks(std::string_view service,
                                                const QueryOptions& options = {});
  // Every check in a state: "any", "passing", "warning" or "critical".
  Result<std::vector<HealthCheck>> healthState(std::string_view state,
                                               const QueryOptions& options = {});
  Result<std::vector<Member>> members();
  Result<std::vector<RaftServer>> raftPeers();
  // The leader's server address ("" while there is none).
  Result<std::string> leader();

  // --- Watches (see watch.hpp for the rules). ---
  // Runs blocking GETs of `target` (a read endpoint, e.g. from
  // paths::healthService) on the calling thread and calls `handler` with each
  // new state, the first one included. Returns OK when the handler returned
  // false or options.stop was set, else the error that made it give up.
  Status watch(std::string_view target, const WatchOptions& options, const WatchHandler& handler);
  // A watch of health service `name` with the answers decoded. An answer
  // that does not decode ends the watch with that error.
  using ServiceHandler =
      std::function<bool(const std::vector<HealthServiceEntry>&, std::uint64_t index)>;
  Status watchService(std::string_view name, const QueryOptions& query, const WatchOptions& options,
                      const ServiceHandler& handler);

  // Cluster operations (servers only). join: the agent connects to the
  // server at `serverAddress` ("ip:server-port") and the clusters' leader
  // adds whichever side is new. leave: the agent leaves the cluster
  // gracefully and stops. removePeer: by ID (as list-peers shows), node ID,
  // name, or "ip:port". transferLeader: to `id`, or any voter when empty.
  Status join(std::string_view serverAddress);
  Status leave();
  Status removePeer(std::string_view idOrAddress, bool isAddress);
  Status transferLeader(std::string_view id);

  // GET /v1/snapshot: a point-in-time copy of the whole catalog, the bytes of
  // a snapshot file as the server sent them (checked by the caller, see
  // registry/snapshot_file.hpp). By default the server includes every write
  // committed before the request; with `stale` any server answers from its
  // own state. `index` is the server's X-Consul-Index.
  Result<Snapshot> snapshotSave(bool stale = false);
  // PUT /v1/snapshot: replaces the whole catalog with a snapshot file's.
  // Returns the index at which the restore was applied.
  Result<std::uint64_t> snapshotRestore(std::string_view file);

 private:
  Client(std::string address, std::unique_ptr<Transport> transport);
  // request() that turns a non-2xx status into an Error. A zero timeout
  // means the transport's.
  Result<Response> call(std::string_view method, std::string_view target,
                        std::string_view body = {}, std::string_view contentType = kJsonContentType,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // GET of a read endpoint, decoded; waits long enough for a blocking query.
  template <typename T>
  Result<T> query(const std::string& target, const QueryOptions& options,
                  Result<T> (*decode)(std::string_view));
  Status put(const std::string& target, std::string_view body = {});
  static constexpr std::string_view kJsonContentType = "application/json";
  Status updateCheck(std::string_view status, std::string_view checkId, std::string_view note);

  std::string address_;
  std::unique_ptr<Transport> transport_;
};

}  // namespace cairn::client

namespace cairn {
using client::Client;
using client::ClientConfig;
}  // namespace cairn
