// Proxy: the sidecar process's I/O. One listener per upstream (each new
// connection goes to an instance its balancer picks, with connect timeout,
// retry elsewhere and outlier ejection), an inbound listener forwarding to
// the local app, /metrics, load reports, and a graceful drain on SIGTERM.
// Everything runs on one io_context thread; the registry watches and the
// load reporter run on threads of their own and post into it.
#pragma once

#include <memory>

#include "common/result.hpp"
#include "proxy/config.hpp"

namespace cairn::proxy {

// Binds every listener (errors name the address), prints one line
// "proxy listening metrics=HOST:PORT [inbound=HOST:PORT] [upstream.NAME=HOST:PORT ...]"
// on stdout, then serves until SIGTERM/SIGINT and a drain. Returns the
// process exit code.
int runProxy(const ProxyConfig& config);

// `cairn proxy ARGS...`: parses the flags and runs. Usage errors return 2.
int runProxyCommand(const std::vector<std::string>& args);

}  // namespace cairn::proxy
