// Status and StatusOr: how every user-caused failure travels in kiln.
//
// A user error (bad model, bad shape, unsupported op, ...) is returned as a Status with a code and
// a message that says what, where, and expected vs actual. Compiler bugs are not Statuses: they
// abort through KILN_CHECK (src/support/check.h).
#ifndef KILN_STATUS_H_
#define KILN_STATUS_H_

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

namespace kiln {

/// Error categories; stable numbers (they cross the module C ABI later).
enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,  // bad input: shapes, dtypes, attributes, malformed files
  kNotFound = 2,         // missing file, weight, op or model
  kUnimplemented = 3,    // valid but unsupported (op, attribute value, dtype)
  kOutOfRange = 4,       // dynamic dim outside its declared range
  kInternal = 5,         // external tool failed (compiler, loader)
  kParseError = 6,       // text or binary format errors (with line:column where known)
  kOutOfMemory = 7,      // host or device allocation failed
  kCuda = 8,             // a CUDA runtime/driver call failed
};

/// Returns "invalid argument", "not found", ...
const char* StatusCodeName(StatusCode code);

/// A success or an error code plus a human-readable message.
class Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  /// "invalid argument: <message>", or "ok".
  std::string ToString() const;
  /// Returns a copy whose message is "<context>: <message>" (used to add where an error arose).
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status InternalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status ParseError(std::string m) { return {StatusCode::kParseError, std::move(m)}; }
inline Status OutOfMemory(std::string m) { return {StatusCode::kOutOfMemory, std::move(m)}; }
inline Status CudaError(std::string m) { return {StatusCode::kCuda, std::move(m)}; }

/// Either a value or an error Status. Accessing the value of an error aborts.
template <typename T>
class StatusOr {
 public:
  StatusOr(const Status& status) : status_(status) {  // NOLINT: implicit by design
    if (status_.ok()) std::abort();                    // an ok Status carries no value
  }
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { Check(); return *value_; }
  const T& value() const& { Check(); return *value_; }
  T&& value() && { Check(); return std::move(*value_); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void Check() const {
    if (!value_) std::abort();
  }
  Status status_;
  std::optional<T> value_;
};

}  // namespace kiln

#define KILN_CONCAT_INNER_(a, b) a##b
#define KILN_CONCAT_(a, b) KILN_CONCAT_INNER_(a, b)

/// Returns the Status from the enclosing function if `expr` is an error.
#define KILN_RETURN_IF_ERROR(expr)             \
  do {                                         \
    ::kiln::Status kiln_status_ = (expr);      \
    if (!kiln_status_.ok()) return kiln_status_; \
  } while (0)

/// `KILN_ASSIGN_OR_RETURN(auto x, F());` declares x from F()'s value or returns F()'s error.
#define KILN_ASSIGN_OR_RETURN(lhs, expr) \
  KILN_ASSIGN_OR_RETURN_IMPL_(KILN_CONCAT_(kiln_statusor_, __LINE__), lhs, expr)
#define KILN_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()

#endif  // KILN_STATUS_H_
