// Asynchronous calls of the client library on a caller-provided Asio
// executor. The only public header that includes Asio.
//
//   boost::asio::io_context io;
//   auto client = cairn::AsyncClient::create(io.get_executor(), {.address = "127.0.0.1:8500"});
//   (*client)->run([](cairn::Client& c) { return c.healthService("web", true); },
//                  [](auto result) { ... runs on io's executor ... });
//   io.run();
//
// Each object owns one worker thread and one connection (or DNS channel):
// operations run there in the order submitted, each with the blocking call's
// timeouts, and their handlers are posted to the executor with the Result.
// Destroying the object drops operations not started and waits for the one
// running; handlers of finished operations may still run on the executor
// afterwards (they hold only their own state).
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <memory>
#include <type_traits>
#include <utility>

#include "client/client.hpp"
#include "client/resolver.hpp"
#include "client/worker.hpp"

namespace cairn::client {

namespace detail {
// Runs op(target) on `worker`, then handler(result) on `executor`.
template <typename Target, typename Op, typename Handler>
void runOn(Worker& worker, Target& target, const boost::asio::any_io_executor& executor, Op op,
           Handler handler) {
  worker.submit([&target, executor, op = std::move(op), handler = std::move(handler)]() mutable {
    auto result = op(target);
    boost::asio::post(executor,
                      [handler = std::move(handler), result = std::move(result)]() mutable {
                        handler(std::move(result));
                      });
  });
}
}  // namespace detail

// A running watch; stops it when destroyed.
class AsyncWatch {
 public:
  AsyncWatch(std::unique_ptr<Client> client, std::shared_ptr<std::atomic<bool>> stop)
      : client_(std::move(client)), stop_(std::move(stop)) {}
  ~AsyncWatch() { stop(); }
  // Stops the watch: aborts the query in flight; no onChange runs after
  // stop() (those already posted check the flag). Thread-safe.
  void stop() {
    stop_->store(true);
    client_->cancel();
  }

 private:
  std::unique_ptr<Client> client_;
  std::shared_ptr<std::atomic<bool>> stop_;
  Worker worker_;  // destroyed first: joins the watch loop
  friend class AsyncClient;
};

class AsyncClient {
 public:
  static Result<std::unique_ptr<AsyncClient>> create(boost::asio::any_io_executor executor,
                                                     ClientConfig config) {
    auto client = Client::create(config);
    if (!client) return client.error();
    return std::unique_ptr<AsyncClient>(
        new AsyncClient(std::move(executor), std::move(config), std::move(*client)));
  }

  // Runs op(Client&) (any Client method, e.g. [](Client& c) { return
  // c.catalogServices(); }) on the worker, then handler(result) on the
  // executor.
  template <typename Op, typename Handler>
  void run(Op op, Handler handler) {
    detail::runOn(worker_, *client_, executor_, std::move(op), std::move(handler));
  }

  // The common calls by name.
  template <typename Handler>
  void healthService(std::string name, QueryOptions options, Handler handler) {
    run([name = std::move(name),
         options = std::move(options)](Client& c) { return c.healthService(name, options); },
        std::move(handler));
  }
  template <typename Handler>
  void registerService(ServiceRegistration service, Handler handler) {
    run([service = std::move(service)](Client& c) { return c.registerService(service); },
        std::move(handler));
  }
  template <typename Handler>
  void deregisterService(std::string id, Handler handler) {
    run([id = std::move(id)](Client& c) { return c.deregisterService(id); }, std::move(handler));
  }

  // Watches health service `name` on a thread and connection of its own;
  // onChange(entries, index) runs on the executor for each new state, and
  // onEnd(Status) once if the watch gives up (see WatchOptions). The watch
  // runs until the returned object is destroyed or stopped.
  template <typename OnChange, typename OnEnd>
  Result<std::unique_ptr<AsyncWatch>> watchService(std::string name, QueryOptions query,
                                                   WatchOptions options, OnChange onChange,
                                                   OnEnd onEnd) {
    auto client = Client::create(config_);
    if (!client) return client.error();
    auto stop = std::make_shared<std::atomic<bool>>(false);
    auto watch = std::make_unique<AsyncWatch>(std::move(*client), stop);
    Client& c = *watch->client_;
    watch->worker_.submit([&c, stop, executor = executor_, name = std::move(name),
                           query = std::move(query), options = std::move(options), onChange,
                           onEnd]() mutable {
      options.stop = stop.get();
      Status st =
          c.watchService(name, query, options,
                         [&](const std::vector<HealthServiceEntry>& entries, std::uint64_t index) {
                           boost::asio::post(executor, [stop, onChange, entries, index]() mutable {
                             if (!stop->load()) onChange(entries, index);
                           });
                           return true;
                         });
      if (stop->load()) return;
      boost::asio::post(executor, [onEnd, st]() mutable { onEnd(st); });
    });
    return watch;
  }

  const boost::asio::any_io_executor& executor() const { return executor_; }

 private:
  AsyncClient(boost::asio::any_io_executor executor, ClientConfig config,
              std::unique_ptr<Client> client)
      : executor_(std::move(executor)), config_(std::move(config)), client_(std::move(client)) {}

  boost::asio::any_io_executor executor_;
  ClientConfig config_;
  std::unique_ptr<Client> client_;
  Worker worker_;  // destroyed first, before the client it uses
};

class AsyncResolver {
 public:
  static Result<std::unique_ptr<AsyncResolver>> create(boost::asio::any_io_executor executor,
                                                       ResolverConfig config) {
    auto resolver = Resolver::create(std::move(config));
    if (!resolver) return resolver.error();
    return std::unique_ptr<AsyncResolver>(
        new AsyncResolver(std::move(executor), std::move(*resolver)));
  }

  // handler(Result<SrvInstance>) on the executor.
  template <typename Handler>
  void resolve(std::string name, Handler handler) {
    detail::runOn(
        worker_, *resolver_, executor_,
        [name = std::move(name)](Resolver& r) { return r.resolve(name); }, std::move(handler));
  }
  // handler(Result<std::vector<SrvInstance>>) on the executor.
  template <typename Handler>
  void lookup(std::string name, Handler handler) {
    detail::runOn(
        worker_, *resolver_, executor_,
        [name = std::move(name)](Resolver& r) { return r.lookup(name); }, std::move(handler));
  }

 private:
  AsyncResolver(boost::asio::any_io_executor executor, std::unique_ptr<Resolver> resolver)
      : executor_(std::move(executor)), resolver_(std::move(resolver)) {}

  boost::asio::any_io_executor executor_;
  std::unique_ptr<Resolver> resolver_;
  Worker worker_;
};

}  // namespace cairn::client

namespace cairn {
using client::AsyncClient;
using client::AsyncResolver;
using client::AsyncWatch;
}  // namespace cairn
