// The tuning cache: which kernel configuration won the profiling of one op on one GPU, kept in a
// SQLite database so that a later compile of any model with the same op reuses the answer
// instead of profiling again.
//
// A record is keyed by everything that can change the winner: the GPU (name and compute
// capability), the toolchain (CUDA and CUTLASS versions), the op signature (kind, dtypes,
// layouts, epilogue: what selects the candidate space, e.g. "gemm f16*f16->f16 tn bias,gelu")
// and the problem shape ("M=4096,N=4096,K=4096,L=1"). Its value is the winning configuration's
// name (what the emitter reads back, e.g. "sm90_coop_128x256x64_c2x1") and its measured time.
//
// The database is one table, created on first open; concurrent compiles may share the file
// (SQLite's locking; writes are single statements, retried while busy for up to 10 s). A file
// that is not a kiln tuning database (another schema, not SQLite at all) is an error naming the
// path, never overwritten.
#ifndef KILN_TUNING_TUNING_CACHE_H_
#define KILN_TUNING_TUNING_CACHE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kiln/status.h"

struct sqlite3;

namespace kiln {

/// The device and toolchain a measurement holds for.
struct TuningDevice {
  std::string gpu_name;            // e.g. "NVIDIA H100 80GB HBM3"
  std::string compute_capability;  // e.g. "9.0"
  std::string cuda_version;        // e.g. "13.0"
  std::string cutlass_version;     // e.g. "4.2.0"
};

struct TuningKey {
  TuningDevice device;
  std::string op_signature;
  std::string shape;
};

struct TuningRecord {
  std::string config;  // the winning configuration's name
  double time_us = 0;  // its measured time per call
};

/// An open tuning database (see the file comment). Movable, not copyable.
class TuningCache {
 public:
  /// Opens (creating if missing, with its parent directories) the database at `path`.
  static StatusOr<TuningCache> Open(const std::string& path);
  /// The default location: $KILN_TUNING_CACHE, else $XDG_CACHE_HOME/kiln/tuning.sqlite, else
  /// ~/.cache/kiln/tuning.sqlite.
  static std::string DefaultPath();

  TuningCache(TuningCache&&) noexcept;
  TuningCache& operator=(TuningCache&&) noexcept;
  ~TuningCache();

  /// The stored winner for `key`, or nullopt.
  StatusOr<std::optional<TuningRecord>> Lookup(const TuningKey& key) const;
  /// Stores (replacing) the winner for `key`.
  Status Store(const TuningKey& key, const TuningRecord& record);
  /// Number of records (for reports and tests).
  StatusOr<int64_t> Size() const;
  const std::string& path() const { return path_; }

 private:
  TuningCache(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace kiln

#endif  // KILN_TUNING_TUNING_CACHE_H_
