// Result<T>: the value of an operation that can fail in an expected way.
// Broken invariants are bugs and abort (see CAIRN_CHECK); expected failures
// (bad input, I/O errors, missing data) travel as Result.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

namespace cairn {

enum class ErrorCode {
  kInvalidArgument,  // the caller's input is wrong (HTTP 400)
  kNotFound,         // the thing named does not exist (HTTP 404)
  kPermissionDenied,
  kUnavailable,  // try again later (no leader, shutting down)
  kIo,           // disk or network failure
  kCorruption,   // stored data fails validation
  kInternal,
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

inline Error invalidArgument(std::string msg) {
  return {ErrorCode::kInvalidArgument, std::move(msg)};
}
inline Error notFound(std::string msg) {
  return {ErrorCode::kNotFound, std::move(msg)};
}
inline Error unavailable(std::string msg) {
  return {ErrorCode::kUnavailable, std::move(msg)};
}
inline Error ioError(std::string msg) {
  return {ErrorCode::kIo, std::move(msg)};
}
inline Error corruption(std::string msg) {
  return {ErrorCode::kCorruption, std::move(msg)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return err_; }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Result<void>;

[[noreturn]] inline void checkFailed(const char* expr, const char* file, int line,
                                     const char* msg) {
  std::fprintf(stderr, "CHECK failed: %s at %s:%d: %s\n", expr, file, line, msg);
  std::abort();
}

}  // namespace cairn

// Aborts on a broken internal invariant, in every build type.
#define CAIRN_CHECK(cond, msg) \
  ((cond) ? (void)0 : ::cairn::checkFailed(#cond, __FILE__, __LINE__, (msg)))
