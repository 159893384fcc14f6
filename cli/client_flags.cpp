#include "cli/client_flags.hpp"

#include <string_view>

namespace cairn::cli {
namespace {

Result<bool> parseBool(std::string_view flag, std::string_view value) {
  if (value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  return invalidArgument("invalid value \"" + std::string(value) + "\" for flag " +
                         std::string(flag) + ": want true or false");
}

}  // namespace

Result<ClientFlags> parseClientFlags(const std::vector<std::string>& args) {
  ClientFlags flags;
  bool flagsEnded = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flagsEnded || arg.size() < 2 || arg[0] != '-') {
      flags.positionals.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flagsEnded = true;
      continue;
    }
    std::string_view body(arg);
    body.remove_prefix(body.substr(0, 2) == "--" ? 2 : 1);
    std::string_view name = body.substr(0, body.find('='));
    bool hasValue = name.size() < body.size();
    std::string_view flag = std::string_view(arg).substr(0, arg.size() - body.size() + name.size());
    std::string value = hasValue ? std::string(body.substr(name.size() + 1)) : std::string();

    if (name == "http-addr" || name == "format" || name == "id" || name == "address") {
      if (!hasValue) {
        if (i + 1 >= args.size()) {
          return invalidArgument("flag " + std::string(flag) + " needs a value");
        }
        value = args[++i];
      }
      if (value.empty()) return invalidArgument("flag " + std::string(flag) + " needs a value");
      if (name == "http-addr") {
        flags.httpAddr = value;
      } else if (name == "id") {
        flags.id = value;
      } else if (name == "address") {
        flags.address = value;
      } else if (value == "table") {
        flags.format = OutputFormat::kTable;
      } else if (value == "json") {
        flags.format = OutputFormat::kJson;
      } else {
        return invalidArgument("invalid value \"" + value + "\" for flag " + std::string(flag) +
                               ": want table or json");
      }
    } else if (name == "passing" || name == "stale") {
      bool on = true;
      if (hasValue) {
        auto parsed = parseBool(flag, value);
        if (!parsed) return parsed.error();
        on = *parsed;
      }
      (name == "passing" ? flags.passing : flags.stale) = on;
      (name == "passing" ? flags.passingGiven : flags.staleGiven) = true;
    } else if ((name == "h" || name == "help") && !hasValue) {
      flags.help = true;
    } else {
      return invalidArgument("unknown flag \"" + std::string(flag) + "\"");
    }
  }
  return flags;
}

}  // namespace cairn::cli
