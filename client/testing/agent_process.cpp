#include "client/testing/agent_process.hpp"

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <thread>

extern char** environ;

namespace cairn::client::testing {

Result<std::unique_ptr<AgentProcess>> AgentProcess::start(std::vector<std::string> extraArgs,
                                                          std::string dataDir) {
  const char* bin = std::getenv("CAIRN_BIN");
  if (bin == nullptr) return invalidArgument("CAIRN_BIN is not set");
  std::unique_ptr<AgentProcess> agent(new AgentProcess());
  if (dataDir.empty()) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cairn-client-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return ioError("mkdtemp failed");
    dataDir = tmpl;
    agent->ownsDir_ = true;
  }
  agent->dataDir_ = dataDir;
  std::vector<std::string> args = {bin,           "agent",      "-dev",      "-http-port", "0",
                                   "-dns-port",   "0",          "-data-dir", dataDir,      "-node",
                                   "client-test", "-log-level", "warn"};
  args.insert(args.end(), extraArgs.begin(), extraArgs.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int out[2];
  if (::pipe(out) != 0) return ioError("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out[0]);
  int rc = posix_spawn(&agent->pid_, bin, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    return ioError("cannot start " + std::string(bin));
  }
  std::string text;
  std::regex line(R"(listening(?: http=([\d.]+:\d+))?(?: https=([\d.]+:\d+))? dns=([\d.]+:\d+))");
  std::smatch m;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!std::regex_search(text, m, line) && std::chrono::steady_clock::now() < deadline) {
    pollfd p{out[0], POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char buf[512];
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  agent->stdout_ = out[0];  // kept open: the agent may print more
  if (!std::regex_search(text, m, line)) return unavailable("agent did not start: " + text);
  agent->http_ = m[1];
  agent->https_ = m[2];
  agent->dns_ = m[3];
  return agent;
}

void AgentProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 1000; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

AgentProcess::~AgentProcess() {
  stop();
  if (stdout_ >= 0) ::close(stdout_);
  if (ownsDir_) {
    std::error_code ec;
    std::filesystem::remove_all(dataDir_, ec);
  }
}

}  // namespace cairn::client::testing
