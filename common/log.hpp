// One spdlog logger per component ("http", "catalog", ...), all writing to
// stderr in one format. Fields are written key=value in the message.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace cairn::log {

// Returns the component's logger, creating it on first use. Thread-safe.
std::shared_ptr<spdlog::logger> get(const std::string& component);

// Sets the level of every logger ("trace", "debug", "info", "warn", "error").
// Returns false for an unknown level name.
bool setLevel(const std::string& level);

// Switches every logger to one JSON object per line.
void setJson(bool json);

}  // namespace cairn::log
