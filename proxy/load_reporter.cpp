#include "proxy/load_reporter.hpp"

#include "common/log.hpp"

namespace cairn::proxy {

Result<std::unique_ptr<LoadReporter>> LoadReporter::create(client::ClientConfig clientConfig,
                                                           std::string serviceId,
                                                           std::chrono::milliseconds interval,
                                                           const std::atomic<uint64_t>* load) {
  if (serviceId.empty()) return invalidArgument("-service-id: empty");
  clientConfig.connectTimeout =
      std::min(clientConfig.connectTimeout, std::chrono::milliseconds(2000));
  clientConfig.timeout = std::min(clientConfig.timeout, std::chrono::milliseconds(2000));
  auto client = Client::create(clientConfig);
  if (!client.ok()) return client.error();
  std::unique_ptr<LoadReporter> r(new LoadReporter());
  r->client_ = std::move(*client);
  std::string escaped;
  for (unsigned char c : serviceId) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      escaped += static_cast<char>(c);
    } else {
      escaped += '%';
      escaped += kHex[c >> 4];
      escaped += kHex[c & 15];
    }
  }
  r->path_ = "/v1/agent/service/load/" + escaped;
  r->interval_ = interval;
  auto ttl = std::max(interval * 3, std::chrono::milliseconds(5000));
  r->ttl_ = std::to_string(ttl.count()) + "ms";
  r->load_ = load;
  r->thread_ = std::thread([p = r.get()] { p->run(); });
  return r;
}

LoadReporter::~LoadReporter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void LoadReporter::run() {
  auto log = log::get("proxy");
  bool warned = false;
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    std::string body = "{\"Load\":" + std::to_string(load_->load(std::memory_order_relaxed)) +
                       ",\"TTL\":\"" + ttl_ + "\"}";
    auto resp = client_->request("PUT", path_, body);
    bool ok = resp.ok() && resp->status == 200;
    if (!ok && !warned) {
      log->warn("load report failed path={} error=\"{}\"", path_,
                resp.ok() ? std::to_string(resp->status) + " " + resp->body.substr(0, 200)
                          : resp.error().message);
    }
    warned = !ok;
    lock.lock();
    cv_.wait_for(lock, interval_, [&] { return stop_; });
  }
}

}  // namespace cairn::proxy
