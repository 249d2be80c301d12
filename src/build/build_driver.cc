#include "build/build_driver.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "build/subprocess.h"

namespace kiln {
namespace fs = std::filesystem;
namespace {

constexpr int kMaxErrorLines = 60;  // enough for the first errors; template spew gets cut

// The first kMaxErrorLines lines of compiler output, noting how many were cut.
std::string TrimOutput(const std::string& output) {
  std::istringstream in(output);
  std::string line, kept;
  int lines = 0;
  while (std::getline(in, line)) {
    if (++lines <= kMaxErrorLines) kept += line + "\n";
  }
  if (lines > kMaxErrorLines) {
    kept += "... (" + std::to_string(lines - kMaxErrorLines) + " more lines of compiler output)\n";
  }
  return kept;
}

void RemoveQuietly(const fs::path& path) {
  std::error_code ignored;
  fs::remove(path, ignored);
}

StatusOr<std::string> ReadSource(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return NotFound("generated source file '" + path + "' does not exist");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) return NotFound("cannot read generated source file '" + path + "'");
  return text.str();
}

// Compiles (or fetches) one job; returns true on a cache hit.
StatusOr<bool> CompileOne(const CompileJob& job, const Toolchain& toolchain,
                          const BuildOptions& options) {
  KILN_ASSIGN_OR_RETURN(std::string source, ReadSource(job.source_path));
  fs::path object(job.object_path);
  std::error_code ec;
  if (object.has_parent_path()) fs::create_directories(object.parent_path(), ec);
  if (ec) {
    return InternalError("cannot create the directory of object '" + job.object_path +
                         "': " + ec.message());
  }
  std::string key;
  if (options.cache != nullptr) {
    key = ObjectCache::Key(source, toolchain, options.cache_salt);
    KILN_ASSIGN_OR_RETURN(bool hit, options.cache->Fetch(key, object));
    if (hit) return true;
  }
  fs::path tmp = UniqueTempPath(object);
  std::vector<std::string> argv = {toolchain.compiler};
  argv.insert(argv.end(), toolchain.flags.begin(), toolchain.flags.end());
  argv.insert(argv.end(), {"-c", job.source_path, "-o", tmp.string()});
  StatusOr<SubprocessResult> run = RunSubprocess(argv);
  if (!run.ok()) {
    return run.status().WithContext("compiling generated file '" + job.source_path + "'");
  }
  if (run->exit_code != 0 || !fs::is_regular_file(tmp, ec)) {
    RemoveQuietly(tmp);
    RemoveQuietly(object);  // a stale object from an earlier build must not be linked
    return InternalError("compiling generated file '" + job.source_path + "' failed (exit code " +
                         std::to_string(run->exit_code) + "):\n" + TrimOutput(run->output) +
                         "command: " + FormatCommandLine(argv));
  }
  fs::rename(tmp, object, ec);
  if (ec) {
    RemoveQuietly(tmp);
    return InternalError("cannot move the compiled object to '" + job.object_path +
                         "': " + ec.message());
  }
  if (options.cache != nullptr) KILN_RETURN_IF_ERROR(options.cache->Store(key, object));
  return false;
}

}  // namespace

StatusOr<BuildStats> CompileAll(const std::vector<CompileJob>& jobs, const Toolchain& toolchain,
                                const BuildOptions& options) {
  BuildStats stats;
  stats.total = static_cast<int>(jobs.size());
  std::set<std::string> objects;
  for (const CompileJob& job : jobs) {
    if (!objects.insert(job.object_path).second) {
      return InvalidArgument("two compile jobs write the same object '" + job.object_path + "'");
    }
  }
  if (jobs.empty()) return stats;

  int workers = options.jobs > 0 ? options.jobs
                                 : static_cast<int>(std::thread::hardware_concurrency());
  workers = std::clamp(workers, 1, static_cast<int>(jobs.size()));

  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;  // guards stats, first_error, other_failures, finished and progress calls
  Status first_error;
  int other_failures = 0;
  int finished = 0;

  auto worker = [&] {
    while (!failed.load()) {
      size_t i = next.fetch_add(1);
      if (i >= jobs.size()) return;
      auto start = std::chrono::steady_clock::now();
      StatusOr<bool> result = CompileOne(jobs[i], toolchain, options);
      double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::lock_guard<std::mutex> lock(mu);
      BuildEvent event;
      event.job = &jobs[i];
      event.finished = ++finished;
      event.total = stats.total;
      event.seconds = seconds;
      if (!result.ok()) {
        failed.store(true);
        if (first_error.ok()) {
          first_error = result.status();
        } else {
          ++other_failures;
        }
        event.kind = BuildEvent::Kind::kFailed;
      } else if (*result) {
        ++stats.cached;
        event.kind = BuildEvent::Kind::kCached;
      } else {
        ++stats.compiled;
        event.kind = BuildEvent::Kind::kCompiled;
      }
      if (options.progress) options.progress(event);
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < workers; ++t) threads.emplace_back(worker);
  worker();  // the calling thread is one of the workers
  for (std::thread& thread : threads) thread.join();

  if (!first_error.ok()) {
    if (other_failures > 0) {
      return Status(first_error.code(), first_error.message() + "\n(" +
                                            std::to_string(other_failures) +
                                            " other compile job(s) also failed)");
    }
    return first_error;
  }
  return stats;
}

Status LinkShared(const std::vector<std::string>& objects, const std::string& output_so,
                  const Toolchain& toolchain, const std::vector<std::string>& extra_flags) {
  if (objects.empty()) return InvalidArgument("linking '" + output_so + "': no objects given");
  std::error_code ec;
  for (const std::string& object : objects) {
    if (!fs::is_regular_file(object, ec)) {
      return NotFound("linking '" + output_so + "': object file '" + object +
                      "' does not exist");
    }
  }
  fs::path out(output_so);
  if (out.has_parent_path()) fs::create_directories(out.parent_path(), ec);
  if (ec) {
    return InternalError("cannot create the directory of '" + output_so + "': " + ec.message());
  }
  fs::path tmp = UniqueTempPath(out);
  std::vector<std::string> argv = {toolchain.compiler};
  argv.insert(argv.end(), toolchain.flags.begin(), toolchain.flags.end());
  argv.push_back("-shared");
  argv.insert(argv.end(), objects.begin(), objects.end());
  argv.insert(argv.end(), {"-o", tmp.string()});
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  StatusOr<SubprocessResult> run = RunSubprocess(argv);
  if (!run.ok()) return run.status().WithContext("linking '" + output_so + "'");
  if (run->exit_code != 0 || !fs::is_regular_file(tmp, ec)) {
    RemoveQuietly(tmp);
    return InternalError("linking shared library '" + output_so + "' failed (exit code " +
                         std::to_string(run->exit_code) + "):\n" + TrimOutput(run->output) +
                         "command: " + FormatCommandLine(argv));
  }
  fs::rename(tmp, out, ec);
  if (ec) {
    RemoveQuietly(tmp);
    return InternalError("cannot move the linked library to '" + output_so + "': " +
                         ec.message());
  }
  return Status::Ok();
}

}  // namespace kiln
