// Helpers to build small ONNX models in tests with the protobuf API, import them, and run them
// with the reference interpreter.
//
//   OnnxModelBuilder m(17);
//   m.Input("x", onnx::TensorProto::FLOAT, {"N", 4});
//   m.Node("Relu", {"x"}, {"y"});
//   m.Output("y");
//   StatusOr<Graph> g = m.Import();
#ifndef KILN_TESTS_FRONTEND_ONNX_ONNX_TEST_UTIL_H_
#define KILN_TESTS_FRONTEND_ONNX_ONNX_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "frontend/onnx/onnx_importer.h"
#include "frontend/onnx/onnx_tensor.h"
#include "ops/interpreter.h"

namespace kiln::onnx_test {

/// One dim of a graph input: a value or a dim_param name.
struct OnnxDim {
  int64_t value = 0;
  std::string param;
  OnnxDim(int64_t v) : value(v) {}      // NOLINT: implicit by design
  OnnxDim(const char* p) : param(p) {}  // NOLINT
};

class OnnxModelBuilder {
 public:
  explicit OnnxModelBuilder(int opset = 17, int64_t ir_version = 8) {
    model_.set_ir_version(ir_version);
    model_.set_producer_name("kiln-test");
    auto* op = model_.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    model_.mutable_graph()->set_name("test");
  }

  onnx::ModelProto& model() { return model_; }
  onnx::GraphProto& graph() { return *model_.mutable_graph(); }

  void Input(const std::string& name, int32_t elem_type, const std::vector<OnnxDim>& dims) {
    auto* in = graph().add_input();
    in->set_name(name);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem_type);
    auto* shape = tt->mutable_shape();
    for (const OnnxDim& d : dims) {
      auto* dim = shape->add_dim();
      if (d.param.empty())
        dim->set_dim_value(d.value);
      else
        dim->set_dim_param(d.param);
    }
  }
  void Output(const std::string& name) { graph().add_output()->set_name(name); }

  /// An initializer with raw_data.
  void Init(const std::string& name, const Tensor& t) {
    *graph().add_initializer() = onnx_import::ToTensorProto(t, name);
  }
  void InitF32(const std::string& name, std::vector<int64_t> shape, std::vector<float> values) {
    Init(name, Tensor::FromF32(DType::kF32, std::move(shape), values));
  }
  void InitI64(const std::string& name, std::vector<int64_t> shape, std::vector<int64_t> values) {
    Tensor t(DType::kI64, std::move(shape));  // exact (FromF64 would round INT64_MAX)
    for (size_t i = 0; i < values.size(); ++i) t.mutable_data_as<int64_t>()[i] = values[i];
    Init(name, t);
  }

  onnx::NodeProto& Node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name = "") {
    auto* n = graph().add_node();
    n->set_op_type(op);
    n->set_name(name.empty() ? op + "_" + std::to_string(graph().node_size()) : name);
    for (const auto& i : inputs) n->add_input(i);
    for (const auto& o : outputs) n->add_output(o);
    return *n;
  }

  static void AttrInt(onnx::NodeProto& n, const std::string& name, int64_t v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void AttrFloat(onnx::NodeProto& n, const std::string& name, float v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void AttrInts(onnx::NodeProto& n, const std::string& name, std::vector<int64_t> v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void AttrStr(onnx::NodeProto& n, const std::string& name, const std::string& v) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::STRING);
    a->set_s(v);
  }
  static void AttrTensor(onnx::NodeProto& n, const std::string& name, const Tensor& t) {
    auto* a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::TENSOR);
    *a->mutable_t() = onnx_import::ToTensorProto(t, "");
  }

  std::string Bytes() const {
    std::string out;
    model_.SerializeToString(&out);
    return out;
  }
  StatusOr<Graph> Import(const OnnxImportOptions& options = {},
                         const std::string& base_dir = "") const {
    return ImportOnnxBytes(Bytes(), base_dir, "test.onnx", options);
  }

 private:
  onnx::ModelProto model_;
};

/// y = Reshape(x: f32[2,3], shape: i64[2]): a model whose shape comes in as a graph input (the
/// binding tests).
inline OnnxModelBuilder ReshapeByInputModel() {
  OnnxModelBuilder m(13);
  m.Input("x", onnx::TensorProto::FLOAT, {2, 3});
  m.Input("shape", onnx::TensorProto::INT64, {2});
  m.Node("Reshape", {"x", "shape"}, {"y"});
  m.Output("y");
  return m;
}

inline Tensor F32(std::vector<int64_t> shape, std::vector<float> values) {
  return Tensor::FromF32(DType::kF32, std::move(shape), values);
}

/// Imports and interprets; fails the test (returning {}) on any error.
inline std::vector<Tensor> ImportAndRun(const OnnxModelBuilder& m,
                                        const std::vector<Tensor>& inputs) {
  StatusOr<Graph> g = m.Import();
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  if (!g.ok()) return {};
  StatusOr<std::vector<Tensor>> out = Interpret(*g, inputs);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  if (!out.ok()) return {};
  return *out;
}

/// Expects `got` to have `shape` and values within atol + rtol*|want| of `want`.
inline void ExpectValues(const Tensor& got, const std::vector<int64_t>& shape,
                         const std::vector<double>& want, double atol = 1e-5, double rtol = 1e-5) {
  ASSERT_EQ(got.shape(), shape) << got.TypeString();
  std::vector<double> v = got.ToF64();
  ASSERT_EQ(v.size(), want.size());
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_NEAR(v[i], want[i], atol + rtol * std::abs(want[i])) << "element " << i;
  }
}

}  // namespace kiln::onnx_test

#endif  // KILN_TESTS_FRONTEND_ONNX_ONNX_TEST_UTIL_H_
