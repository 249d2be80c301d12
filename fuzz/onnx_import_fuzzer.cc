// libFuzzer target over the ONNX importer (src/frontend/onnx): every input is a serialised
// ModelProto given to ImportOnnxBytes. Import must end in a clean error or in a graph that
//  - passes the verifier (structure plus a re-run of every op's shape/dtype inference), and
//  - survives the text IR round trip: printing, parsing and printing again gives the same text.
// A crash, sanitizer report, leak, hang or a failed check (abort with the reason) is a finding.
// Built with KILN_FUZZ=ON and run by scripts/fuzz-onnx; reproducers go to
// tests/errors/onnx_fuzz_regressions/.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "frontend/onnx/onnx_importer.h"
#include "ir/parser.h"
#include "ir/printer.h"
#include "ir/verifier.h"

namespace {

[[noreturn]] void Fail(const std::string& what, const std::string& detail) {
  std::fprintf(stderr, "onnx_import_fuzzer: %s\n%s\n", what.c_str(), detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  // No base directory: external data is an error, so the fuzzer never reads files.
  kiln::StatusOr<kiln::Graph> graph = kiln::ImportOnnxBytes(bytes, "", "fuzz.onnx");
  if (!graph.ok()) return 0;
  kiln::Status verified = kiln::Verify(*graph);
  if (!verified.ok()) Fail("imported graph fails verification", verified.ToString());
  std::string text = kiln::PrintGraph(*graph);
  kiln::StatusOr<kiln::Graph> reparsed = kiln::ParseGraph(text, "printed");
  if (!reparsed.ok()) {
    Fail("printed graph does not parse: " + reparsed.status().ToString(), text);
  }
  std::string again = kiln::PrintGraph(*reparsed);
  if (again != text) Fail("print -> parse -> print changes the text", text + "\n---\n" + again);
  return 0;
}
