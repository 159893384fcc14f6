#include "cli/handler.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

extern char** environ;

namespace cairn::cli {

Result<int> runHandler(const std::vector<std::string>& argv, std::string_view input,
                       const std::vector<std::pair<std::string, std::string>>& extraEnv) {
  if (argv.empty()) return invalidArgument("empty handler command");
  // A handler that does not read its stdin must not kill us with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> envText;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    bool replaced = false;
    for (const auto& [k, v] : extraEnv) replaced |= entry.substr(0, k.size() + 1) == k + "=";
    if (!replaced) envText.emplace_back(entry);
  }
  for (const auto& [k, v] : extraEnv) envText.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : envText) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ioError(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, cargv[0], &actions, nullptr, cargv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[0]);
  if (rc != 0) {
    ::close(fds[1]);
    return ioError("cannot run handler \"" + argv[0] + "\": " + std::strerror(rc));
  }
  for (std::size_t off = 0; off < input.size();) {
    ssize_t n = ::write(fds[1], input.data() + off, input.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EPIPE: the handler closed its stdin
    off += static_cast<std::size_t>(n);
  }
  ::close(fds[1]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ioError(std::string("waitpid: ") + std::strerror(errno));
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace cairn::cli
