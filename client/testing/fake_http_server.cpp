#include "client/testing/fake_http_server.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <mutex>
#include <thread>

namespace cairn::client::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

}  // namespace

struct FakeHttpServer::State {
  explicit State(Handler h) : handler(std::move(h)) {}

  Handler handler;
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::uint16_t port = 0;
  std::thread thread;

  mutable std::mutex mu;
  std::vector<RecordedRequest> requests;  // guarded by mu
  int connections = 0;                    // guarded by mu
};

namespace {

// One accepted connection; serves requests until the peer closes, a handler
// asks to close, or the server stops.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(FakeHttpServer::State& state, tcp::socket socket, int id)
      : state_(state), socket_(std::move(socket)), id_(id) {}

  void readNext() {
    request_ = {};
    http::async_read(socket_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec) self->onRequest();
                     });
  }

 private:
  void onRequest() {
    RecordedRequest rec;
    rec.method = std::string(request_.method_string());
    rec.target = std::string(request_.target());
    rec.body = request_.body();
    rec.connection = id_;
    for (const auto& field : request_) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      rec.headers[name] = std::string(field.value());
    }
    {
      std::lock_guard lock(state_.mu);
      state_.requests.push_back(rec);
    }
    std::optional<CannedResponse> canned = state_.handler(rec);
    if (!canned) {
      // Never answer; keep the socket open by parking ourselves in a read
      // that only the server's shutdown ends.
      http::async_read(socket_, buffer_, request_,
                       [self = shared_from_this()](beast::error_code, std::size_t) {});
      return;
    }
    response_ = {};
    response_.version(11);
    response_.result(canned->status);
    response_.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : canned->headers) response_.set(name, value);
    response_.body() = canned->body;
    response_.keep_alive(!canned->close && request_.keep_alive());
    response_.prepare_payload();
    silentClose_ = canned->silentClose;
    http::async_write(socket_, response_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return;
                        if (self->silentClose_) {
                          beast::error_code ignored;
                          self->socket_.close(ignored);
                        } else if (self->response_.keep_alive()) {
                          self->readNext();
                        } else {
                          beast::error_code ignored;
                          self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
                        }
                      });
  }

  FakeHttpServer::State& state_;
  tcp::socket socket_;
  int id_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  bool silentClose_ = false;
};

void acceptNext(FakeHttpServer::State& state) {
  state.acceptor.async_accept([&state](beast::error_code ec, tcp::socket socket) {
    if (ec) return;
    int id = 0;
    {
      std::lock_guard lock(state.mu);
      id = ++state.connections;
    }
    std::make_shared<Session>(state, std::move(socket), id)->readNext();
    acceptNext(state);
  });
}

}  // namespace

Handler routes(std::map<std::string, CannedResponse> table) {
  return [table = std::move(table)](const RecordedRequest& req) -> std::optional<CannedResponse> {
    auto it = table.find(req.method + " " + req.target);
    if (it != table.end()) return it->second;
    CannedResponse notFound;
    notFound.status = 404;
    notFound.body = "no route for " + req.method + " " + req.target;
    return notFound;
  };
}

std::unique_ptr<FakeHttpServer> FakeHttpServer::start(Handler handler) {
  auto state = std::make_unique<State>(std::move(handler));
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  state->acceptor.open(ep.protocol());
  state->acceptor.bind(ep);
  state->acceptor.listen();
  state->port = state->acceptor.local_endpoint().port();
  acceptNext(*state);
  State* raw = state.get();
  state->thread = std::thread([raw] { raw->ioc.run(); });
  return std::unique_ptr<FakeHttpServer>(new FakeHttpServer(std::move(state)));
}

FakeHttpServer::FakeHttpServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

FakeHttpServer::~FakeHttpServer() {
  state_->ioc.stop();
  state_->thread.join();
  // Pending handlers (and the sessions they own) are destroyed with ioc,
  // which closes their sockets.
}

std::uint16_t FakeHttpServer::port() const {
  return state_->port;
}

std::vector<RecordedRequest> FakeHttpServer::requests() const {
  std::lock_guard lock(state_->mu);
  return state_->requests;
}

int FakeHttpServer::connections() const {
  std::lock_guard lock(state_->mu);
  return state_->connections;
}

std::uint16_t closedPort() {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

}  // namespace cairn::client::testing
