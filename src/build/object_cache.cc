#include "build/object_cache.h"

#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <system_error>

#include "build/sha256.h"

namespace kiln {
namespace fs = std::filesystem;
namespace {

// Length-prefixed so that ("ab", "c") and ("a", "bc") hash differently.
void AddField(Sha256& sha, std::string_view field) {
  uint64_t n = field.size();
  char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  sha.Update(std::string_view(len, 8));
  sha.Update(field);
}

// Copies `from` to `to` through a temp file renamed into place.
Status AtomicCopy(const fs::path& from, const fs::path& to) {
  fs::path tmp = UniqueTempPath(to);
  std::error_code ec;
  fs::copy_file(from, tmp, fs::copy_options::overwrite_existing, ec);
  if (!ec) fs::rename(tmp, to, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return InternalError("cannot copy '" + from.string() + "' to '" + to.string() +
                         "': " + ec.message());
  }
  return Status::Ok();
}

}  // namespace

fs::path UniqueTempPath(const fs::path& path) {
  static std::atomic<uint64_t> counter{0};
  return path.string() + ".tmp." + std::to_string(::getpid()) + "." +
         std::to_string(counter.fetch_add(1));
}

StatusOr<fs::path> ObjectCache::DefaultDir() {
  const char* dir = std::getenv("KILN_CACHE_DIR");
  if (dir != nullptr && *dir != '\0') return fs::path(dir);
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    return InvalidArgument(
        "no object cache directory: neither KILN_CACHE_DIR nor HOME is set (set KILN_CACHE_DIR)");
  }
  return fs::path(home) / ".cache" / "kiln" / "objects";
}

std::string ObjectCache::Key(std::string_view source_text, const Toolchain& toolchain,
                             std::string_view salt) {
  Sha256 sha;
  AddField(sha, "kiln-object-cache-v1");  // bump when the encoding or object handling changes
  AddField(sha, salt);
  AddField(sha, source_text);
  AddField(sha, toolchain.compiler);
  AddField(sha, toolchain.version);
  AddField(sha, std::to_string(toolchain.flags.size()));
  for (const std::string& flag : toolchain.flags) AddField(sha, flag);
  return sha.FinishHex();
}

fs::path ObjectCache::EntryPath(const std::string& key) const {
  return dir_ / key.substr(0, 2) / (key + ".o");
}

StatusOr<bool> ObjectCache::Fetch(const std::string& key, const fs::path& dest) const {
  fs::path entry = EntryPath(key);
  std::error_code ec;
  if (!fs::is_regular_file(entry, ec)) return false;
  KILN_RETURN_IF_ERROR(AtomicCopy(entry, dest));
  return true;
}

Status ObjectCache::Store(const std::string& key, const fs::path& object) const {
  fs::path entry = EntryPath(key);
  std::error_code ec;
  fs::create_directories(entry.parent_path(), ec);
  if (ec) {
    return InternalError("cannot create object cache directory '" +
                         entry.parent_path().string() + "': " + ec.message() +
                         " (set KILN_CACHE_DIR to a writable directory)");
  }
  return AtomicCopy(object, entry).WithContext("object cache");
}

}  // namespace kiln
