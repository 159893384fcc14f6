// The gRPC health probe's I/O, internal to health/ (ProberImpl starts it):
// Asio TCP, optionally TLS with ALPN "h2", and an nghttp2 client session
// fed through mem_recv/mem_send. No Asio or nghttp2 type in this header.
#pragma once

#include "health/probe.hpp"

namespace boost::asio::ssl {
class context;
}

namespace cairn::health {

// Starts one probe on `ioc`; `done` runs once, on a thread running `ioc`.
// `tls` is the client context to use when spec.useTls (it decides whether the
// chain is verified), else null; it must outlive the probe.
void startGrpcProbe(boost::asio::io_context& ioc, boost::asio::ssl::context* tls,
                    GrpcProbeSpec spec, ProbeDone done);

}  // namespace cairn::health
