#include "build/toolchain.h"

#include <unistd.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <sstream>

#include "build/subprocess.h"

namespace kiln {
namespace {

bool IsExecutable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

// `name` if it contains '/', else the first executable PATH entry holding it; empty if none.
std::string ResolveProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return IsExecutable(name) ? name : std::string();
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (IsExecutable(candidate)) return candidate;
  }
  return std::string();
}

// Runs `compiler --version` once per path (compilers take ~10-50 ms to start; codegen asks often).
StatusOr<std::string> QueryVersion(const std::string& compiler) {
  static std::mutex mu;
  static std::map<std::string, std::string>* versions = new std::map<std::string, std::string>();
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = versions->find(compiler);
    if (it != versions->end()) return it->second;
  }
  KILN_ASSIGN_OR_RETURN(SubprocessResult run, RunSubprocess({compiler, "--version"}));
  if (run.exit_code != 0) {
    return NotFound("compiler '" + compiler + "' does not work: `" + compiler +
                    " --version` exited with code " + std::to_string(run.exit_code) + ":\n" +
                    run.output);
  }
  std::string version;
  std::stringstream lines(run.output);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    if (version.empty()) version = line;
    // nvcc's first line names only the driver; its release line identifies the toolkit.
    if (line.find(", release ") != std::string::npos) {
      version = line;
      break;
    }
  }
  if (version.empty()) {
    return NotFound("compiler '" + compiler + "' printed nothing for --version");
  }
  std::lock_guard<std::mutex> lock(mu);
  versions->emplace(compiler, version);
  return version;
}

}  // namespace

StatusOr<Toolchain> MakeToolchain(const std::string& compiler, std::vector<std::string> flags) {
  std::string path = ResolveProgram(compiler);
  if (path.empty()) {
    return NotFound("compiler '" + compiler + "' not found" +
                    (compiler.find('/') == std::string::npos ? " on PATH"
                                                             : " (no executable at that path)"));
  }
  KILN_ASSIGN_OR_RETURN(std::string version, QueryVersion(path));
  return Toolchain{path, std::move(flags), std::move(version)};
}

StatusOr<Toolchain> FindHostCompiler() {
  const char* cxx = std::getenv("CXX");
  bool from_env = cxx != nullptr && *cxx != '\0';
  std::string name = from_env ? cxx : "c++";
  StatusOr<Toolchain> toolchain = MakeToolchain(name, {"-std=c++20", "-O2", "-fPIC"});
  if (!toolchain.ok()) {
    return Status(toolchain.status().code(),
                  "host C++ compiler: " + toolchain.status().message() +
                      (from_env ? " (from the CXX environment variable; set CXX to a working "
                                  "C++20 compiler such as g++ or clang++)"
                                : " (install a C++20 compiler, or set CXX to one)"));
  }
  return toolchain;
}

StatusOr<Toolchain> FindNvcc() {
  const std::vector<std::string> kFlags = {"-std=c++17", "-O3", "-Xcompiler=-fPIC"};
  const char* env = std::getenv("KILN_NVCC");
  if (env != nullptr && *env != '\0') {
    StatusOr<Toolchain> toolchain = MakeToolchain(env, kFlags);
    if (!toolchain.ok()) {
      return Status(toolchain.status().code(),
                    "nvcc: " + toolchain.status().message() +
                        " (from the KILN_NVCC environment variable; point it at a CUDA toolkit's "
                        "bin/nvcc, or unset it to search PATH and /usr/local/cuda)");
    }
    return toolchain;
  }
  std::string path = ResolveProgram("nvcc");
  if (path.empty()) path = ResolveProgram("/usr/local/cuda/bin/nvcc");
  if (path.empty()) {
    return NotFound(
        "nvcc not found: KILN_NVCC is not set, there is no nvcc on PATH and no "
        "/usr/local/cuda/bin/nvcc (install the CUDA toolkit or set KILN_NVCC to its bin/nvcc)");
  }
  return MakeToolchain(path, kFlags);
}

}  // namespace kiln
