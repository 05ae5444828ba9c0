// Status and Result<T>: the error currency across module boundaries.
//
// A Status is either OK or a code plus a human-readable message that names what went wrong.
// Result<T> holds a T or a non-OK Status. Both are [[nodiscard]]: an ignored error is a bug.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "common/assert.h"

namespace cairn {

enum class StatusCode : uint8_t {
  kOk = 0,
  kInvalidArgument,     // the caller sent something malformed or out of range
  kNotFound,            // the thing asked for does not exist
  kAlreadyExists,       // the thing to create exists already
  kCorruption,          // stored or received data failed a checksum or a structural check
  kIoError,             // the operating system refused a file or socket operation
  kUnavailable,         // not possible now (no leader, peer down, closed); may succeed later
  kTimeout,             // a deadline passed
  kResourceExhausted,   // a named limit (*_max) would be exceeded
  kFailedPrecondition,  // the system is not in a state that allows this call
  kAborted,             // lost a race (conflicting change, leadership lost); safe to retry
  kInternal,            // an invariant of our own broke
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status Corruption(std::string m) { return {StatusCode::kCorruption, std::move(m)}; }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Timeout(std::string m) { return {StatusCode::kTimeout, std::move(m)}; }
  static Status ResourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
  static Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
  static Status Aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool IsOk() const { return code_ == StatusCode::kOk; }
  StatusCode Code() const { return code_; }
  const std::string& Message() const { return message_; }
  // "OK" or "<CodeName>: <message>".
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>"; OK stays OK.
  Status WithContext(std::string_view context) const;

  friend bool operator==(const Status& a, const Status& b) { return a.code_ == b.code_ && a.message_ == b.message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : data_(std::move(status)) {  // NOLINT: implicit by design
    CAIRN_ASSERT(!std::get<Status>(data_).IsOk(), "a Result cannot hold an OK status without a value");
  }

  bool IsOk() const { return std::holds_alternative<T>(data_); }
  // The error; OK when the Result holds a value.
  Status GetStatus() const { return IsOk() ? OkStatus() : std::get<Status>(data_); }

  T& Value() & {
    CAIRN_ASSERT(IsOk(), "Value() on an error Result: " + std::get<Status>(data_).ToString());
    return std::get<T>(data_);
  }
  const T& Value() const& {
    CAIRN_ASSERT(IsOk(), "Value() on an error Result: " + std::get<Status>(data_).ToString());
    return std::get<T>(data_);
  }
  T&& Value() && {
    CAIRN_ASSERT(IsOk(), "Value() on an error Result: " + std::get<Status>(data_).ToString());
    return std::get<T>(std::move(data_));
  }
  T ValueOr(T fallback) const& { return IsOk() ? std::get<T>(data_) : std::move(fallback); }

  T& operator*() & { return Value(); }
  const T& operator*() const& { return Value(); }
  T* operator->() { return &Value(); }
  const T* operator->() const { return &Value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace cairn

#define CAIRN_STATUS_CONCAT_INNER(a, b) a##b
#define CAIRN_STATUS_CONCAT(a, b) CAIRN_STATUS_CONCAT_INNER(a, b)

// Returns the Status of `expr` from the enclosing function if it is not OK.
#define CAIRN_RETURN_IF_ERROR(expr)                  \
  do {                                               \
    ::cairn::Status cairn_status_ = (expr);          \
    if (!cairn_status_.IsOk()) return cairn_status_; \
  } while (0)

// `lhs` = value of Result `expr`, or return its Status from the enclosing function.
#define CAIRN_ASSIGN_OR_RETURN(lhs, expr) \
  CAIRN_ASSIGN_OR_RETURN_IMPL(CAIRN_STATUS_CONCAT(cairn_result_, __LINE__), lhs, expr)
#define CAIRN_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.IsOk()) return tmp.GetStatus();          \
  lhs = std::move(tmp).Value()
