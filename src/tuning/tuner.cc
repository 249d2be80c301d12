#include "tuning/tuner.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "build/object_cache.h"
#include "build/sha256.h"
#include "build/subprocess.h"
#include "build/toolchain.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

// Candidate libraries built at once: one per core (a candidate's time is one CUTLASS
// instantiation, a single-threaded nvcc compile), at least 2.
size_t ParallelBuilds() { return std::max(2u, std::thread::hardware_concurrency()); }

StatusOr<std::string> ReadText(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return NotFound("cannot read " + p.string());
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// "12.3 us".
std::string Micros(double us) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f us", us);
  return text;
}

// kiln_profile built with nvcc into the object cache directory (once per source and nvcc).
StatusOr<std::string> ProfilerBinary(const TuneOptions& options) {
  const fs::path source = fs::path(options.kiln_root) / "src/tuning/profiler_src/kiln_profile.cc";
  KILN_ASSIGN_OR_RETURN(std::string text, ReadText(source));
  KILN_ASSIGN_OR_RETURN(std::string abi,
                        ReadText(fs::path(options.kiln_root) / "include/kiln/module_abi.h"));
  KILN_ASSIGN_OR_RETURN(Toolchain nvcc, FindNvcc());
  const std::string hash = Sha256Hex(text + '\0' + abi + '\0' + nvcc.compiler + '\0' + nvcc.version);
  fs::path dir = options.object_cache_dir;
  if (dir.empty()) {
    KILN_ASSIGN_OR_RETURN(dir, ObjectCache::DefaultDir());
  }
  const fs::path binary = dir / ("kiln_profile-" + hash.substr(0, 16));
  if (fs::exists(binary)) return binary.string();
  std::error_code ec;
  fs::create_directories(dir, ec);
  const fs::path tmp = UniqueTempPath(binary);
  std::vector<std::string> argv = {nvcc.compiler, "-std=c++17", "-O2",
                                   "-I" + (fs::path(options.kiln_root) / "include").string(),
                                   source.string(), "-o", tmp.string(), "-ldl"};
  KILN_ASSIGN_OR_RETURN(SubprocessResult r, RunSubprocess(argv));
  if (r.exit_code != 0) {
    fs::remove(tmp, ec);
    return InternalError("building the tuning profiler failed (exit code " +
                         std::to_string(r.exit_code) + "):\n" + r.output +
                         "\ncommand: " + FormatCommandLine(argv));
  }
  fs::rename(tmp, binary, ec);
  if (ec) return InternalError("cannot move the profiler to " + binary.string() + ": " + ec.message());
  return binary.string();
}

// Splits "a b c" lines into (status, rest).
std::vector<std::pair<std::string, std::string>> ProfilerLines(const std::string& output) {
  std::vector<std::pair<std::string, std::string>> lines;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    const size_t sp = line.find(' ');
    const std::string head = line.substr(0, sp);
    if (head != "ok" && head != "error") continue;  // CUDA or library chatter
    lines.emplace_back(head, sp == std::string::npos ? "" : line.substr(sp + 1));
  }
  return lines;
}

}  // namespace

StatusOr<TuningDevice> DetectGpu() {
  StatusOr<SubprocessResult> r =
      RunSubprocess({"nvidia-smi", "--query-gpu=name,compute_cap", "--format=csv,noheader", "-i", "0"});
  if (!r.ok() || r->exit_code != 0) return NotFound("no GPU: nvidia-smi does not list one");
  const std::string line = Trim(r->output.substr(0, r->output.find('\n')));
  const size_t comma = line.rfind(',');
  if (comma == std::string::npos) return NotFound("no GPU: unexpected nvidia-smi output: " + line);
  TuningDevice d;
  d.gpu_name = Trim(line.substr(0, comma));
  d.compute_capability = Trim(line.substr(comma + 1));
  return d;
}

StatusOr<std::map<const Node*, std::string>> TuneGraph(const Graph& graph, const TuneTaskFn& task_of,
                                                       const TuneBuildFn& build,
                                                       const TuneOptions& options,
                                                       TuneReport* report) {
  const auto t0 = std::chrono::steady_clock::now();
  auto log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };
  TuneReport local;
  TuneReport& rep = report != nullptr ? *report : local;
  rep = TuneReport{};
  std::map<const Node*, std::string> chosen;

  std::vector<std::pair<const Node*, TuneTask>> tasks;
  for (const auto& n : graph.nodes()) {
    if (std::optional<TuneTask> t = task_of(graph, *n)) tasks.emplace_back(n.get(), std::move(*t));
  }
  rep.tunable = static_cast<int>(tasks.size());
  auto finish = [&] {
    rep.heuristic = rep.tunable - rep.cached - rep.profiled;
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return chosen;
  };
  if (tasks.empty() || options.mode == TuneMode::kOff) return finish();

  StatusOr<TuningDevice> gpu = options.device ? StatusOr<TuningDevice>(*options.device) : DetectGpu();
  if (!gpu.ok()) {
    log("tuning: " + gpu.status().message() + "; " + std::to_string(tasks.size()) +
        " kernels use the heuristic config");
    return finish();
  }
  TuningDevice device = *gpu;
  device.cuda_version = options.cuda_version;
  device.cutlass_version = options.cutlass_version;
  KILN_ASSIGN_OR_RETURN(
      TuningCache cache,
      TuningCache::Open(options.cache_path.empty() ? TuningCache::DefaultPath() : options.cache_path));

  // A node's choice once every one of its points has a winner: the config, or configs by rows
  // (merging neighbouring points with the same winner).
  auto compose = [](const TuneTask& task, const std::vector<std::string>& winners) {
    RowsDispatch d;
    for (size_t i = 0; i < task.points.size(); ++i) {
      if (!d.empty() && d.back().second == winners[i]) d.pop_back();
      d.emplace_back(task.points[i].up_to, winners[i]);
    }
    return codegen::FormatRowsDispatch(d);
  };
  auto valid = [](const TuneTask& task, const std::string& config) {
    return std::find(task.candidates.begin(), task.candidates.end(), config) != task.candidates.end();
  };

  // Cache lookups; misses grouped by signature (one library per candidate serves all shapes).
  std::map<std::string, std::vector<std::pair<const Node*, const TuneTask*>>> misses;
  int dynamic_skipped = 0;  // dynamic nodes missing from the cache, not profiled outside kFull
  for (const auto& [node, task] : tasks) {
    std::vector<std::string> winners;
    for (const TunePoint& point : task.points) {
      KILN_ASSIGN_OR_RETURN(std::optional<TuningRecord> hit,
                            cache.Lookup({device, task.signature, point.shape}));
      if (!hit || !valid(task, hit->config)) break;
      winners.push_back(hit->config);
    }
    if (!task.points.empty() && winners.size() == task.points.size()) {
      chosen[node] = compose(task, winners);
      ++rep.cached;
    } else if (task.points.size() == 1 || options.mode == TuneMode::kFull) {
      misses[task.signature].emplace_back(node, &task);
    } else {
      ++dynamic_skipped;
    }
  }
  if (dynamic_skipped > 0) {
    log("tuning: " + std::to_string(dynamic_skipped) + " kernels of a dynamic row count use the heuristic "
        "config (--tune full profiles them at bucket points of their range)");
  }
  if (misses.empty() || options.mode == TuneMode::kCacheOnly) {
    if (!misses.empty()) log("tuning: cache-only mode; kernels missing from the cache use the heuristic");
    return finish();
  }

  const fs::path work = options.work_dir.empty() ? fs::temp_directory_path() / "kiln-tune"
                                                 : fs::path(options.work_dir);
  // Each missing signature's candidates (the union over its nodes, in first-seen order) and
  // shapes (every point of every node, with the profiling graph's symbol values for it).
  struct Signature {
    const std::string* name;
    const std::vector<std::pair<const Node*, const TuneTask*>>* nodes;
    std::vector<std::string> candidates;
    std::map<std::string, std::string> shapes;  // shape -> profile dims
    std::vector<std::string> libs;              // per candidate; empty: did not build
  };
  std::vector<Signature> sigs;
  for (const auto& [signature, nodes] : misses) {
    Signature sig{&signature, &nodes, {}, {}, {}};
    for (const auto& [node, task] : nodes) {
      for (const TunePoint& point : task->points) sig.shapes.emplace(point.shape, point.profile_dims);
      for (const std::string& c : task->candidates) {
        if (std::find(sig.candidates.begin(), sig.candidates.end(), c) == sig.candidates.end()) {
          sig.candidates.push_back(c);
        }
      }
    }
    if (options.max_candidates > 0 && sig.candidates.size() > static_cast<size_t>(options.max_candidates)) {
      sig.candidates.resize(options.max_candidates);
    }
    sig.libs.resize(sig.candidates.size());
    log("tuning: " + signature + ": " + std::to_string(sig.candidates.size()) + " candidates for " +
        std::to_string(sig.shapes.size()) + " shapes");
    sigs.push_back(std::move(sig));
  }
  // Every signature's candidate libraries, built together.
  std::vector<std::pair<size_t, size_t>> builds;  // (signature, candidate)
  for (size_t s = 0; s < sigs.size(); ++s) {
    for (size_t c = 0; c < sigs[s].candidates.size(); ++c) builds.emplace_back(s, c);
  }
  // A pool of ParallelBuilds() workers takes the next build as soon as one finishes (CUTLASS
  // instantiations differ in compile time by 2-3x, so fixed rounds would leave cores idle).
  const size_t parallel = std::min(ParallelBuilds(), builds.size());
  log("tuning: building " + std::to_string(builds.size()) + " candidate kernels, " +
      std::to_string(parallel) + " at a time");
  std::atomic<size_t> next{0};
  std::mutex done_mu;  // guards the libraries, the report and the log
  size_t done = 0;
  auto worker = [&] {
    for (size_t i = next++; i < builds.size(); i = next++) {
      const auto [s, c] = builds[i];
      const TuneTask& first = *sigs[s].nodes->front().second;
      const std::string dir = (work / ("sig" + std::to_string(s) + "_c" + std::to_string(c))).string();
      StatusOr<std::string> lib = build(first.profile_graph, first.profile_node, sigs[s].candidates[c], dir);
      std::lock_guard<std::mutex> lock(done_mu);
      if (lib.ok()) {
        sigs[s].libs[c] = *lib;
        ++rep.candidates_built;
      } else {
        log("tuning: candidate " + sigs[s].candidates[c] + " does not build: " +
            lib.status().message().substr(0, 300));
      }
      log("tuning: built " + std::to_string(++done) + " / " + std::to_string(builds.size()));
    }
  };
  std::vector<std::thread> workers;
  for (size_t w = 0; w < parallel; ++w) workers.emplace_back(worker);
  for (std::thread& t : workers) t.join();
  for (Signature& sig : sigs) {
    const std::string& signature = *sig.name;
    const auto& nodes = *sig.nodes;
    const std::vector<std::string>& candidates = sig.candidates;
    const std::map<std::string, std::string>& shapes = sig.shapes;
    const std::vector<std::string>& libs = sig.libs;
    // One profiler run over every (library, shape) of the signature.
    std::vector<std::string> argv = {""};  // the profiler, built below if anything is to run
    std::vector<std::pair<size_t, std::string>> order;  // (candidate, shape)
    for (const auto& [shape, dims] : shapes) {
      for (size_t c = 0; c < candidates.size(); ++c) {
        if (libs[c].empty()) continue;
        argv.push_back(libs[c]);
        argv.push_back(dims);
        order.emplace_back(c, shape);
      }
    }
    std::map<std::string, std::vector<std::pair<double, std::string>>> timed;  // shape -> (us, config)
    if (!order.empty()) {
      KILN_ASSIGN_OR_RETURN(argv[0], ProfilerBinary(options));
      KILN_ASSIGN_OR_RETURN(SubprocessResult r, RunSubprocess(argv));
      const auto lines = ProfilerLines(r.output);
      for (size_t i = 0; i < order.size(); ++i) {
        const auto& [c, shape] = order[i];
        if (i >= lines.size() || lines[i].first != "ok") {
          log("tuning: candidate " + candidates[c] + " at " + shape + " failed: " +
              (i < lines.size() ? lines[i].second : "profiler exited (" + std::to_string(r.exit_code) + ")"));
          continue;
        }
        const double us = std::stod(lines[i].second);
        timed[shape].emplace_back(us, candidates[c]);
      }
    }
    // Per shape the fastest candidate (the first of equal times) is the winner; the log lists
    // every candidate's time, fastest first (what a config change would cost).
    std::map<std::string, std::pair<double, std::string>> best;  // shape -> (us, config)
    for (auto& [shape, all] : timed) {
      std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      best[shape] = all.front();
      KILN_RETURN_IF_ERROR(cache.Store({device, signature, shape}, {all.front().second, all.front().first}));
      std::string times;
      for (const auto& [us, config] : all) times += (times.empty() ? "" : ", ") + config + " " + Micros(us);
      log("tuning: " + signature + " " + shape + ": " + all.front().second + " (" + times + ")");
    }
    for (const auto& [node, task] : nodes) {
      std::vector<std::string> winners;
      for (const TunePoint& point : task->points) {
        auto it = best.find(point.shape);
        if (it == best.end()) break;
        winners.push_back(it->second.second);
      }
      if (task->points.empty() || winners.size() != task->points.size()) {
        log("tuning: " + node->Describe() + ": no winner at every point; the heuristic decides");
        continue;
      }
      chosen[node] = compose(*task, winners);
      ++rep.profiled;
    }
  }
  std::error_code ec;
  fs::remove_all(work, ec);
  return finish();
}

}  // namespace kiln
