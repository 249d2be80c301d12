// SHA-256 (FIPS 180-4), used to key the object cache by content.
//
// Why our own: OpenSSL is not a kiln dependency and the cache needs a collision-resistant key that
// is stable across machines and releases (a cache directory may be shared); SHA-256 is the
// well-known choice and fits in ~100 lines. Speed is irrelevant next to a compiler run.
#ifndef KILN_BUILD_SHA256_H_
#define KILN_BUILD_SHA256_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace kiln {

/// Incremental SHA-256: Update() any number of times, then Finish() once.
class Sha256 {
 public:
  Sha256();
  /// Appends bytes to the message.
  void Update(std::string_view data);
  /// Pads, returns the 32-byte digest; the object must not be updated afterwards.
  std::array<uint8_t, 32> Finish();
  /// Finish() as 64 lowercase hex characters.
  std::string FinishHex();

 private:
  void Block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buf_{};
  size_t buf_len_ = 0;
  uint64_t total_len_ = 0;
};

/// The lowercase hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

}  // namespace kiln

#endif  // KILN_BUILD_SHA256_H_
