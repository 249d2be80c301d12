// Errors of the ONNX index, loss and math importers (onnx_index.cc, onnx_loss.cc,
// onnx_activation.cc) and of input binding (OnnxImportOptions::bound_inputs): what is unsupported
// is Unimplemented naming the op, node and the input or attribute; malformed models are
// InvalidArgument.
#include <gtest/gtest.h>

#include "tests/frontend/onnx/onnx_test_util.h"

namespace kiln::onnx_test {
namespace {

using TP = onnx::TensorProto;

void ExpectError(const StatusOr<Graph>& g, StatusCode code, const std::vector<std::string>& parts) {
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), code) << g.status().ToString();
  for (const std::string& p : parts) {
    EXPECT_NE(g.status().message().find(p), std::string::npos)
        << "missing '" << p << "' in: " << g.status().message();
  }
}

TEST(OnnxIndexErrors, ShapeDecidingInputsMustBeKnown) {
  OnnxModelBuilder tile(13);
  tile.Input("x", TP::FLOAT, {2, 2});
  tile.Input("r", TP::INT64, {2});
  tile.Node("Tile", {"x", "r"}, {"y"}, "tile0");
  tile.Output("y");
  ExpectError(tile.Import(), StatusCode::kUnimplemented,
              {"Tile", "tile0", "repeats", "known at import time"});

  OnnxModelBuilder cp(13);
  cp.Input("x", TP::FLOAT, {4});
  cp.Input("c", TP::BOOL, {4});
  cp.Node("Compress", {"x", "c"}, {"y"}, "compress0");
  cp.Output("y");
  ExpectError(cp.Import(), StatusCode::kUnimplemented,
              {"Compress", "compress0", "condition", "known at import time"});
}

TEST(OnnxIndexErrors, UnsupportedAttributesAndModesAreNamed) {
  OnnxModelBuilder nll(13);
  nll.Input("x", TP::FLOAT, {2, 3});
  nll.Input("t", TP::INT64, {2});
  OnnxModelBuilder::AttrStr(nll.Node("NegativeLogLikelihoodLoss", {"x", "t"}, {"y"}, "nll0"),
                            "reduction", "max");
  nll.Output("y");
  ExpectError(nll.Import(), StatusCode::kUnimplemented, {"nll0", "reduction='max'"});

  OnnxModelBuilder gnd(13);
  gnd.Input("x", TP::FLOAT, {2, 3});
  gnd.Input("i", TP::INT64, {2, 1});
  OnnxModelBuilder::AttrInt(gnd.Node("GatherND", {"x", "i"}, {"y"}, "gnd0"), "batch_dims", 1);
  gnd.Output("y");
  ExpectError(gnd.Import(), StatusCode::kUnimplemented, {"GatherND", "gnd0", "batch_dims=1"});

  OnnxModelBuilder bits(13);
  bits.Input("x", TP::INT32, {2});
  OnnxModelBuilder::AttrStr(bits.Node("BitShift", {"x", "x"}, {"y"}, "shift0"), "direction",
                            "LEFT");
  bits.Output("y");
  ExpectError(bits.Import(), StatusCode::kUnimplemented, {"BitShift", "shift0", "only u8"});
}

TEST(OnnxIndexErrors, MalformedNodesAreInvalid) {
  OnnxModelBuilder mod(13);
  mod.Input("a", TP::FLOAT, {2});
  mod.Node("Mod", {"a", "a"}, {"y"}, "mod0");  // fmod=0 is not allowed on floats
  mod.Output("y");
  ExpectError(mod.Import(), StatusCode::kInvalidArgument, {"Mod", "mod0", "fmod=0"});

  OnnxModelBuilder d2s(13);
  d2s.Input("x", TP::FLOAT, {1, 4, 2, 2});
  d2s.Node("DepthToSpace", {"x"}, {"y"}, "d2s0");
  d2s.Output("y");
  ExpectError(d2s.Import(), StatusCode::kInvalidArgument, {"d2s0", "'blocksize' is required"});

  OnnxModelBuilder nll(13);
  nll.Input("x", TP::FLOAT, {2, 3});
  nll.Input("t", TP::FLOAT, {2});
  nll.Node("NegativeLogLikelihoodLoss", {"x", "t"}, {"y"}, "nll1");
  nll.Output("y");
  ExpectError(nll.Import(), StatusCode::kInvalidArgument, {"nll1", "target has dtype f32"});
}

TEST(OnnxIndexErrors, BoundInputsMustMatchTheModel) {
  OnnxModelBuilder m = ReshapeByInputModel();
  OnnxImportOptions options;
  options.bound_inputs["shape"] = Tensor::FromF64(DType::kI32, {2}, std::vector<double>{3, 2});
  ExpectError(m.Import(options), StatusCode::kInvalidArgument,
              {"graph input 'shape' is declared i64[2], bound to i32[2]"});
  options.bound_inputs.clear();
  options.bound_inputs["y"] = Tensor::FromF64(DType::kI64, {1}, std::vector<double>{1});
  ExpectError(m.Import(options), StatusCode::kInvalidArgument,
              {"bound input 'y' is not a graph input"});
}

// `kiln compile --bind NAME=V1,V2,...` value lists: each malformed one says which value and why.
TEST(OnnxIndexErrors, BoundValueListsMustParseAndFit) {
  OnnxModelBuilder m = ReshapeByInputModel();
  m.Input("k", TP::INT32, {});
  m.Output("k");
  auto import = [&](const std::string& shape, const std::string& k) {
    OnnxImportOptions options;
    options.bound_values["shape"] = shape;
    if (!k.empty()) options.bound_values["k"] = k;
    return m.Import(options);
  };
  ExpectError(import("3,x", ""), StatusCode::kInvalidArgument,
              {"values '3,x' bound to graph input 'shape'", "value 1 ('x') is not an integer"});
  ExpectError(import("3,", ""), StatusCode::kInvalidArgument, {"value 1 ('') is not an integer"});
  ExpectError(import("3", ""), StatusCode::kInvalidArgument, {"1 values for i64[2]"});
  ExpectError(import("3,2", "1,2"), StatusCode::kInvalidArgument,
              {"graph input 'k'", "2 values for i32[]"});
  ExpectError(import("3,2", "3000000000"), StatusCode::kInvalidArgument,
              {"value 0 ('3000000000') is not in the range of i32"});
  OnnxImportOptions options;
  options.bound_values["z"] = "1";
  ExpectError(m.Import(options), StatusCode::kInvalidArgument,
              {"bound input 'z' is not a graph input"});
}

}  // namespace
}  // namespace kiln::onnx_test
