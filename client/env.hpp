// Environment variables of the client library (internal).
#pragma once

#include <cstdlib>
#include <initializer_list>
#include <string>

namespace cairn::client {

// The first of the variables that is set and not empty, or "".
inline std::string firstEnv(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    const char* v = std::getenv(name);
    if (v != nullptr && *v != '\0') return v;
  }
  return "";
}

}  // namespace cairn::client
