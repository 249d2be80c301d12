#include "tuning/tuning_cache.h"

#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>
#include <utility>

namespace kiln {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS kiln_tuning ("
    " gpu_name TEXT NOT NULL, compute_capability TEXT NOT NULL, cuda_version TEXT NOT NULL,"
    " cutlass_version TEXT NOT NULL, op_signature TEXT NOT NULL, shape TEXT NOT NULL,"
    " config TEXT NOT NULL, time_us REAL NOT NULL, recorded_at TEXT NOT NULL,"
    " PRIMARY KEY (gpu_name, compute_capability, cuda_version, cutlass_version, op_signature,"
    " shape))";

// A prepared statement, finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* get() const { return stmt_; }
  void Bind(int index, const std::string& text) {
    sqlite3_bind_text(stmt_, index, text.c_str(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  // Binds the six key columns to parameters 1..6.
  void BindKey(const TuningKey& key) {
    Bind(1, key.device.gpu_name);
    Bind(2, key.device.compute_capability);
    Bind(3, key.device.cuda_version);
    Bind(4, key.device.cutlass_version);
    Bind(5, key.op_signature);
    Bind(6, key.shape);
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

Status DbError(sqlite3* db, const std::string& path, const std::string& what) {
  return InternalError("tuning cache " + path + ": " + what + ": " + sqlite3_errmsg(db));
}

}  // namespace

std::string TuningCache::DefaultPath() {
  if (const char* p = std::getenv("KILN_TUNING_CACHE"); p != nullptr && *p != '\0') return p;
  fs::path base;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != '\0') {
    base = x;
  } else if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
    base = fs::path(h) / ".cache";
  } else {
    base = fs::temp_directory_path();
  }
  return (base / "kiln" / "tuning.sqlite").string();
}

StatusOr<TuningCache> TuningCache::Open(const std::string& path) {
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    Status s = db != nullptr ? DbError(db, path, "cannot open")
                             : InternalError("tuning cache " + path + ": cannot open");
    sqlite3_close(db);
    return s;
  }
  TuningCache cache(db, path);
  sqlite3_busy_timeout(db, 10000);
  char* message = nullptr;
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string why = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    return InvalidArgument("tuning cache " + path + " is not a kiln tuning database (" + why +
                           "); remove it or point KILN_TUNING_CACHE elsewhere");
  }
  // A table of that name from something else: check the columns a lookup reads.
  Statement probe(db, "SELECT config, time_us FROM kiln_tuning WHERE gpu_name = ?1 AND "
                      "compute_capability = ?2 AND cuda_version = ?3 AND cutlass_version = ?4 "
                      "AND op_signature = ?5 AND shape = ?6");
  if (probe.get() == nullptr) {
    return InvalidArgument("tuning cache " + path +
                           " has a kiln_tuning table of another layout (" + sqlite3_errmsg(db) +
                           "); remove it or point KILN_TUNING_CACHE elsewhere");
  }
  return cache;
}

TuningCache::TuningCache(TuningCache&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

TuningCache& TuningCache::operator=(TuningCache&& other) noexcept {
  if (this != &other) {
    sqlite3_close(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

TuningCache::~TuningCache() { sqlite3_close(db_); }

StatusOr<std::optional<TuningRecord>> TuningCache::Lookup(const TuningKey& key) const {
  Statement st(db_, "SELECT config, time_us FROM kiln_tuning WHERE gpu_name = ?1 AND "
                    "compute_capability = ?2 AND cuda_version = ?3 AND cutlass_version = ?4 AND "
                    "op_signature = ?5 AND shape = ?6");
  if (st.get() == nullptr) return DbError(db_, path_, "preparing a lookup");
  st.BindKey(key);
  const int rc = sqlite3_step(st.get());
  if (rc == SQLITE_DONE) return std::optional<TuningRecord>();
  if (rc != SQLITE_ROW) return DbError(db_, path_, "looking up " + key.op_signature);
  TuningRecord record;
  record.config = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0));
  record.time_us = sqlite3_column_double(st.get(), 1);
  return std::optional<TuningRecord>(record);
}

Status TuningCache::Store(const TuningKey& key, const TuningRecord& record) {
  Statement st(db_,
               "INSERT OR REPLACE INTO kiln_tuning VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
               "datetime('now'))");
  if (st.get() == nullptr) return DbError(db_, path_, "preparing a store");
  st.BindKey(key);
  st.Bind(7, record.config);
  sqlite3_bind_double(st.get(), 8, record.time_us);
  if (sqlite3_step(st.get()) != SQLITE_DONE) {
    return DbError(db_, path_, "storing " + key.op_signature);
  }
  return Status::Ok();
}

StatusOr<int64_t> TuningCache::Size() const {
  Statement st(db_, "SELECT COUNT(*) FROM kiln_tuning");
  if (st.get() == nullptr || sqlite3_step(st.get()) != SQLITE_ROW) {
    return DbError(db_, path_, "counting records");
  }
  return static_cast<int64_t>(sqlite3_column_int64(st.get(), 0));
}

}  // namespace kiln
