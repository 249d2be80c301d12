// Bad ONNX models: each gives a clear error (what, where) and nothing crashes. Truncated files,
// not-a-protobuf input, cycles, undefined names, negative and huge dims, unknown and unsupported
// dtypes, unsupported ops and attributes (op type, opset and node name in the message), shape
// values that cannot fold, and the CLI reporting them.
#include <gtest/gtest.h>

#include <limits>

#include "tests/errors/cli_test_util.h"
#include "tests/frontend/onnx/onnx_test_util.h"

namespace kiln::onnx_test {
namespace {

using TP = onnx::TensorProto;

// y = Relu(x) + w, x: f32[N, 4], w: 20-element... kept small but with a weight and a node.
OnnxModelBuilder ValidModel() {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {"N", 4});
  m.InitF32("w", {4}, {1, 2, 3, 4});
  m.Node("Relu", {"x"}, {"r"}, "relu0");
  m.Node("Add", {"r", "w"}, {"y"}, "add0");
  m.Output("y");
  return m;
}

void ExpectError(const StatusOr<Graph>& g, StatusCode code, const std::vector<std::string>& parts) {
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), code) << g.status().ToString();
  for (const std::string& p : parts) {
    EXPECT_NE(g.status().message().find(p), std::string::npos)
        << "missing '" << p << "' in: " << g.status().message();
  }
}

TEST(OnnxErrors, ValidModelImports) {
  StatusOr<Graph> g = ValidModel().Import();
  ASSERT_TRUE(g.ok()) << g.status().ToString();
}

TEST(OnnxErrors, EveryTruncationIsAnError) {
  std::string bytes = ValidModel().Bytes();
  for (size_t n = 0; n < bytes.size(); ++n) {
    StatusOr<Graph> g = ImportOnnxBytes(bytes.substr(0, n), "", "cut.onnx");
    EXPECT_FALSE(g.ok()) << "prefix of " << n << " of " << bytes.size() << " bytes imported";
  }
  StatusOr<Graph> half = ImportOnnxBytes(bytes.substr(0, bytes.size() / 2), "", "cut.onnx");
  ExpectError(half, StatusCode::kParseError, {"cut.onnx", "not a valid ONNX model"});
}

TEST(OnnxErrors, WrongMagicNotAProtobuf) {
  ExpectError(ImportOnnxBytes("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "", "img.onnx"),
              StatusCode::kParseError, {"img.onnx", "not a valid ONNX model"});
  // Text that happens to parse as a protobuf is still not a model.
  StatusOr<Graph> text = ImportOnnxBytes("graph @main(%x: f32[2]) {}", "", "text.onnx");
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("text.onnx"), std::string::npos);
  ExpectError(ImportOnnxBytes("", "", "empty.onnx"), StatusCode::kParseError, {"empty file"});
}

TEST(OnnxErrors, CyclicGraph) {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {4});
  m.Node("Add", {"x", "b"}, {"a"}, "n_a");
  m.Node("Relu", {"a"}, {"b"}, "n_b");
  m.Output("b");
  ExpectError(m.Import(), StatusCode::kInvalidArgument, {"cycle"});
}

TEST(OnnxErrors, MissingInitializerOrUndefinedInput) {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {4});
  m.Node("Add", {"x", "bias"}, {"y"}, "add_bias");
  m.Output("y");
  ExpectError(m.Import(), StatusCode::kNotFound, {"add_bias", "'bias'", "not defined"});

  OnnxModelBuilder out;
  out.Input("x", TP::FLOAT, {4});
  out.Node("Relu", {"x"}, {"y"});
  out.Output("z");
  ExpectError(out.Import(), StatusCode::kNotFound, {"graph output 'z'"});
}

TEST(OnnxErrors, NegativeAndHugeDims) {
  OnnxModelBuilder neg;
  neg.Input("x", TP::FLOAT, {2, -3});
  neg.Node("Relu", {"x"}, {"y"});
  neg.Output("y");
  ExpectError(neg.Import(), StatusCode::kInvalidArgument, {"graph input 'x'", "negative"});

  OnnxModelBuilder huge;
  huge.Input("x", TP::FLOAT, {int64_t{1} << 50});
  huge.Node("Relu", {"x"}, {"y"});
  huge.Output("y");
  ExpectError(huge.Import(), StatusCode::kInvalidArgument, {"too large"});

  // An initializer claiming 2^40 elements with 16 bytes of data: rejected before allocating.
  OnnxModelBuilder big = ValidModel();
  TP* w = big.graph().mutable_initializer(0);
  w->clear_dims();
  w->add_dims(int64_t{1} << 20);
  w->add_dims(int64_t{1} << 20);
  ExpectError(big.Import(), StatusCode::kInvalidArgument, {"initializer 'w'", "raw_data"});
  w->add_dims(int64_t{1} << 20);
  ExpectError(big.Import(), StatusCode::kInvalidArgument, {"initializer 'w'", "too many elements"});
  w->clear_dims();
  w->add_dims(-4);
  ExpectError(big.Import(), StatusCode::kInvalidArgument, {"initializer 'w'", "negative dim"});
}

TEST(OnnxErrors, UnknownAndUnsupportedDtypes) {
  OnnxModelBuilder unknown;
  unknown.Input("x", 99, {4});
  unknown.Node("Relu", {"x"}, {"y"});
  unknown.Output("y");
  ExpectError(unknown.Import(), StatusCode::kInvalidArgument,
              {"graph input 'x'", "unknown element type 99"});

  OnnxModelBuilder dbl = ValidModel();
  dbl.graph().mutable_initializer(0)->set_data_type(TP::DOUBLE);
  ExpectError(dbl.Import(), StatusCode::kUnimplemented, {"initializer 'w'", "DOUBLE"});
}

TEST(OnnxErrors, UnsupportedOpNamesTypeOpsetAndNode) {
  OnnxModelBuilder m(17);
  m.Input("x", TP::FLOAT, {4});
  m.Node("Relu", {"x"}, {"r"}, "relu0");
  m.Node("Det", {"r"}, {"y"}, "/model/det_node");
  m.Output("y");
  ExpectError(m.Import(), StatusCode::kUnimplemented,
              {"Det", "opset 17", "/model/det_node", "unsupported op"});

  // Gelu exists from opset 20 only.
  OnnxModelBuilder g(17);
  g.Input("x", TP::FLOAT, {4});
  g.Node("Gelu", {"x"}, {"y"}, "gelu0");
  g.Output("y");
  ExpectError(g.Import(), StatusCode::kUnimplemented, {"Gelu", "opset 17", "gelu0", "20..21"});

  OnnxModelBuilder dom;
  dom.Input("x", TP::FLOAT, {4});
  dom.Node("FusedGemm", {"x"}, {"y"}, "ms0").set_domain("com.microsoft");
  dom.Output("y");
  ExpectError(dom.Import(), StatusCode::kUnimplemented, {"FusedGemm", "com.microsoft", "ms0"});

  OnnxModelBuilder old(6);
  old.Input("x", TP::FLOAT, {4});
  old.Node("Relu", {"x"}, {"y"});
  old.Output("y");
  ExpectError(old.Import(), StatusCode::kUnimplemented, {"opset 6", "7..21"});

  // Softmax before opset 13 coerced its input to 2-D: a different op, rejected.
  OnnxModelBuilder sm(11);
  sm.Input("x", TP::FLOAT, {2, 3, 4});
  sm.Node("Softmax", {"x"}, {"y"}, "softmax11");
  sm.Output("y");
  ExpectError(sm.Import(), StatusCode::kUnimplemented,
              {"Softmax", "opset 11", "softmax11", "13..21"});
}

TEST(OnnxErrors, UnsupportedOrBadAttributes) {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {1, 1, 4, 4});
  auto& mp = m.Node("MaxPool", {"x"}, {"y"}, "pool0");
  OnnxModelBuilder::AttrInts(mp, "kernel_shape", {2, 2});
  OnnxModelBuilder::AttrInt(mp, "storage_order", 1);
  m.Output("y");
  ExpectError(m.Import(), StatusCode::kUnimplemented, {"MaxPool", "pool0", "storage_order"});

  OnnxModelBuilder unknown;
  unknown.Input("x", TP::FLOAT, {4});
  OnnxModelBuilder::AttrInt(unknown.Node("Relu", {"x"}, {"y"}, "relu_attr"), "frobnicate", 1);
  unknown.Output("y");
  ExpectError(unknown.Import(), StatusCode::kUnimplemented,
              {"Relu", "relu_attr", "attribute 'frobnicate' is not supported"});

  OnnxModelBuilder typed;
  typed.Input("x", TP::FLOAT, {2, 4});
  OnnxModelBuilder::AttrFloat(typed.Node("Softmax", {"x"}, {"y"}, "sm"), "axis", 1.0f);
  typed.Output("y");
  ExpectError(typed.Import(), StatusCode::kInvalidArgument,
              {"Softmax", "sm", "'axis'", "expected INT"});

  OnnxModelBuilder train;
  train.Input("x", TP::FLOAT, {4});
  Tensor yes(DType::kBool, {});
  yes.mutable_data_as<uint8_t>()[0] = 1;
  train.Init("training", yes);
  train.InitF32("ratio", {}, {0.5f});
  train.Node("Dropout", {"x", "ratio", "training"}, {"y"}, "drop");
  train.Output("y");
  ExpectError(train.Import(), StatusCode::kUnimplemented, {"Dropout", "drop", "training_mode"});

  OnnxModelBuilder extra;
  extra.Input("x", TP::FLOAT, {1, 2, 2, 2});
  for (const char* n : {"s", "b", "m", "v"}) extra.InitF32(n, {2}, {1, 1});
  extra.Node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y", "running_mean"}, "bn");
  extra.Output("y");
  ExpectError(extra.Import(), StatusCode::kUnimplemented, {"BatchNormalization", "bn", "output 1"});
}

TEST(OnnxErrors, ShapeValueThatCannotFold) {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {"N", 4});
  m.Node("Shape", {"x"}, {"s"});
  auto& c = m.Node("Cast", {"s"}, {"sf"}, "cast_shape");
  OnnxModelBuilder::AttrInt(c, "to", TP::FLOAT);
  m.Output("sf");
  ExpectError(m.Import(), StatusCode::kUnimplemented, {"Cast", "cast_shape", "shape value"});
}

// Attribute and input values at the int64 limits that overflowed or looped before (found
// reading the importer while fuzzing it; the fuzzer's own finds are in
// onnx_fuzz_regressions_test.cc).
TEST(OnnxErrors, ValuesAtTheInt64Limits) {
  // Split with num_outputs = 2^62 looped 2^62 times before comparing with the 2 outputs.
  OnnxModelBuilder split(18);
  split.Input("x", TP::FLOAT, {4});
  auto& sp = split.Node("Split", {"x"}, {"a", "b"}, "split_huge");
  OnnxModelBuilder::AttrInt(sp, "num_outputs", int64_t{1} << 62);
  split.Output("a");
  ExpectError(split.Import(), StatusCode::kInvalidArgument,
              {"split_huge", "num_outputs=4611686018427387904 for 2 outputs"});

  // A slice of a shape value with step 2^63-1 takes the first element (i += step overflowed).
  OnnxModelBuilder slice;
  slice.Input("x", TP::FLOAT, {"N", 4, 5});
  slice.Node("Shape", {"x"}, {"s"});
  slice.InitI64("starts", {1}, {1});
  slice.InitI64("ends", {1}, {3});
  slice.InitI64("axes", {1}, {0});
  slice.InitI64("steps", {1}, {std::numeric_limits<int64_t>::max()});
  slice.Node("Slice", {"s", "starts", "ends", "axes", "steps"}, {"picked"}, "slice_huge_step");
  slice.Output("picked");
  std::vector<Tensor> picked = ImportAndRun(slice, {F32({2, 4, 5}, std::vector<float>(40, 0))});
  ASSERT_EQ(picked.size(), 1u);
  EXPECT_EQ(picked[0].ToI64(), (std::vector<int64_t>{4}));

  // Dims of -2^63 in error messages (Dim::ToString negated them: signed overflow).
  OnnxModelBuilder expand;
  expand.Input("x", TP::FLOAT, {4});
  expand.InitI64("shape", {1}, {std::numeric_limits<int64_t>::min()});
  expand.Node("Expand", {"x", "shape"}, {"y"}, "expand_min");
  expand.Output("y");
  ExpectError(expand.Import(), StatusCode::kInvalidArgument,
              {"expand_min", "invalid dim -9223372036854775808"});
  OnnxModelBuilder cos;
  cos.Input("x", TP::FLOAT, {"N"});
  cos.Node("Shape", {"x"}, {"n"});
  cos.InitI64("min", {1}, {std::numeric_limits<int64_t>::min()});
  OnnxModelBuilder::AttrInt(cos.Node("Concat", {"n", "min"}, {"shape"}, "concat"), "axis", 0);
  cos.Node("ConstantOfShape", {"shape"}, {"y"}, "cos_min");
  cos.Output("y");
  ExpectError(cos.Import(), StatusCode::kInvalidArgument,
              {"cos_min", "shape dim -9223372036854775808 is negative"});

  // Trilu with k = 1e30 (a float->int64 cast out of range before): all elements are kept.
  OnnxModelBuilder trilu;
  trilu.Input("x", TP::FLOAT, {2, 2});
  trilu.InitF32("k", {}, {1e30f});
  OnnxModelBuilder::AttrInt(trilu.Node("Trilu", {"x", "k"}, {"y"}, "trilu_far"), "upper", 0);
  trilu.Output("y");
  std::vector<Tensor> out = ImportAndRun(trilu, {F32({2, 2}, {1, 2, 3, 4})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ToF64(), (std::vector<double>{1, 2, 3, 4}));
}

class OnnxCliErrors : public CliTest {};

TEST_F(OnnxCliErrors, InfoOnBadModelsExitsWithOneLineError) {
  std::string truncated = ValidModel().Bytes();
  std::string path = WriteFile("truncated.onnx", truncated.substr(0, truncated.size() / 2));
  CliResult r = Run("info " + path);
  EXPECT_EQ(r.exit_code, 1) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find("not a valid ONNX model"), std::string::npos) << r.stderr_text;

  std::string good = WriteFile("good.onnx", ValidModel().Bytes());
  CliResult ok = Run("info " + good);
  EXPECT_EQ(ok.exit_code, 0) << ok.stderr_text;
  EXPECT_NE(ok.stdout_text.find("relu"), std::string::npos) << ok.stdout_text;

  CliResult opt = Run("opt " + good);
  EXPECT_EQ(opt.exit_code, 0) << opt.stderr_text;
  EXPECT_NE(opt.stdout_text.find("relu(%x)"), std::string::npos) << opt.stdout_text;

  CliResult missing = Run("compile " + Path("nope.onnx") + " -o " + Path("out"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.stderr_text.find("no such file"), std::string::npos) << missing.stderr_text;
}

}  // namespace
}  // namespace kiln::onnx_test
