// The `cairn agent` process: opens the data dir, replays the log, serves the
// HTTP API, and handles signals (SIGINT/SIGTERM: graceful stop; SIGHUP:
// reload log level and config-file services/checks).
#pragma once

#include <string>
#include <vector>

namespace cairn::server {

// Runs the agent until it is told to stop. `args` are the words after
// "agent". Returns the process exit code (1 for bad config, nothing started).
int runAgent(const std::vector<std::string>& args);

}  // namespace cairn::server
