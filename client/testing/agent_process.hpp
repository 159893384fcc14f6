// AgentProcess: a real `cairn agent -dev` on free ports of 127.0.0.1, for
// tests of the client library against the server. The binary's path comes
// from $CAIRN_BIN.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace cairn::client::testing {

class AgentProcess {
 public:
  // Starts the agent with `extraArgs` in `dataDir` (a new temporary
  // directory when empty) and waits (15 s at most) for its listening line.
  static Result<std::unique_ptr<AgentProcess>> start(std::vector<std::string> extraArgs = {},
                                                     std::string dataDir = {});
  ~AgentProcess();  // SIGTERM, then SIGKILL after 10 s; removes a temporary dir

  // "ip:port"; empty when that listener is off (-http-port -1, or no
  // -https-port).
  const std::string& httpAddress() const { return http_; }
  const std::string& httpsAddress() const { return https_; }
  const std::string& dnsAddress() const { return dns_; }
  const std::string& dataDir() const { return dataDir_; }
  // Stops the agent (SIGTERM) and waits for it; the data dir stays.
  void stop();

 private:
  AgentProcess() = default;
  pid_t pid_ = -1;
  int stdout_ = -1;
  std::string http_;
  std::string https_;
  std::string dns_;
  std::string dataDir_;
  bool ownsDir_ = false;
};

}  // namespace cairn::client::testing
