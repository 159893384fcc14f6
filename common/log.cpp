#include "common/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include <mutex>

namespace cairn::log {
namespace {

std::mutex gMu;
spdlog::level::level_enum gLevel = spdlog::level::info;
bool gJson = false;

const char* pattern() {
  return gJson ? R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","component":"%n","msg":"%v"})"
               : "%Y-%m-%dT%H:%M:%S.%e%z [%l] %n: %v";
}

}  // namespace

std::shared_ptr<spdlog::logger> get(const std::string& component) {
  std::lock_guard lock(gMu);
  if (auto l = spdlog::get(component)) return l;
  auto l = std::make_shared<spdlog::logger>(component,
                                            std::make_shared<spdlog::sinks::stderr_sink_mt>());
  l->set_level(gLevel);
  l->set_pattern(pattern());
  l->flush_on(spdlog::level::info);
  spdlog::register_logger(l);
  return l;
}

bool setLevel(const std::string& level) {
  auto lvl = spdlog::level::from_str(level == "warning" ? "warn" : level);
  if (lvl == spdlog::level::off && level != "off") return false;
  std::lock_guard lock(gMu);
  gLevel = lvl;
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { l->set_level(lvl); });
  return true;
}

void setJson(bool json) {
  std::lock_guard lock(gMu);
  gJson = json;
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { l->set_pattern(pattern()); });
}

}  // namespace cairn::log
