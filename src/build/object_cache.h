// A directory of compiled objects keyed by what determines their bytes, so that a kernel compiled
// once (per config, toolchain and flags) is reused across shapes, buckets, models and runs.
//
// Layout: <dir>/<key[0:2]>/<key>.o, key = 64 hex characters of SHA-256 (build/sha256.h) over a
// versioned, length-prefixed encoding of (salt, source text, compiler path, compiler version,
// flags). Entries appear by rename(2) of a fully written temp file in the same directory, so
// concurrent builds (threads or processes) see either no entry or a complete one; racing writers
// of one key both write identical content and the last rename wins.
//
// What the key does NOT cover: headers the source includes. Callers whose generated code includes
// files that can change (e.g. codegen runtime_src headers) fold a hash of them into the salt.
#ifndef KILN_BUILD_OBJECT_CACHE_H_
#define KILN_BUILD_OBJECT_CACHE_H_

#include <filesystem>
#include <string>
#include <string_view>

#include "build/toolchain.h"
#include "kiln/status.h"

namespace kiln {

/// A content-addressed object directory; thread-safe (it holds no mutable state but the files).
class ObjectCache {
 public:
  /// A cache in `dir`, created on first Store().
  explicit ObjectCache(std::filesystem::path dir) : dir_(std::move(dir)) {}

  /// $KILN_CACHE_DIR if set, else $HOME/.cache/kiln/objects; InvalidArgument if neither
  /// KILN_CACHE_DIR nor HOME is set.
  static StatusOr<std::filesystem::path> DefaultDir();

  /// The cache key of compiling `source_text` with `toolchain`; `salt` separates callers'
  /// namespaces (see above).
  static std::string Key(std::string_view source_text, const Toolchain& toolchain,
                         std::string_view salt = {});

  const std::filesystem::path& dir() const { return dir_; }
  /// Where the entry for `key` lives (whether or not it exists).
  std::filesystem::path EntryPath(const std::string& key) const;

  /// Copies the entry for `key` to `dest` (via a temp file and rename, so `dest` is never
  /// partial). Returns false if there is no entry; an error if copying fails.
  StatusOr<bool> Fetch(const std::string& key, const std::filesystem::path& dest) const;

  /// Publishes a copy of `object` as the entry for `key`, atomically.
  Status Store(const std::string& key, const std::filesystem::path& object) const;

 private:
  std::filesystem::path dir_;
};

/// A name beside `path` unique to this process, thread and call, for write-then-rename.
std::filesystem::path UniqueTempPath(const std::filesystem::path& path);

}  // namespace kiln

#endif  // KILN_BUILD_OBJECT_CACHE_H_
