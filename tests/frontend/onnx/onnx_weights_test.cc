// ONNX initializers: raw_data, typed fields (float_data, int64_data, int32_data holding float16
// bits) and external data files beside the model; dim_param ranges from the import options.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/frontend/onnx/onnx_test_util.h"

namespace kiln::onnx_test {
namespace {

using TP = onnx::TensorProto;

TEST(OnnxWeights, TypedFieldsAndFloat16Bits) {
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {3});
  TP* w = m.graph().add_initializer();
  w->set_name("w");
  w->set_data_type(TP::FLOAT);
  w->add_dims(3);
  for (float f : {1.0f, -2.0f, 0.25f}) w->add_float_data(f);
  TP* h = m.graph().add_initializer();
  h->set_name("h");
  h->set_data_type(TP::FLOAT16);
  h->add_dims(3);
  for (int bits : {0x3C00, 0x4000, 0xC200}) h->add_int32_data(bits);  // 1, 2, -3
  TP* i = m.graph().add_initializer();
  i->set_name("i");
  i->set_data_type(TP::INT64);
  i->add_dims(3);
  for (int64_t v : {5, 6, 7}) i->add_int64_data(v);
  auto& c1 = m.Node("Cast", {"h"}, {"hf"});
  OnnxModelBuilder::AttrInt(c1, "to", TP::FLOAT);
  auto& c2 = m.Node("Cast", {"i"}, {"if"});
  OnnxModelBuilder::AttrInt(c2, "to", TP::FLOAT);
  m.Node("Mul", {"x", "w"}, {"a"});
  m.Node("Add", {"a", "hf"}, {"b"});
  m.Node("Add", {"b", "if"}, {"y"});
  m.Output("y");
  std::vector<Tensor> out = ImportAndRun(m, {F32({3}, {1, 2, 3})});
  ASSERT_EQ(out.size(), 1u);
  ExpectValues(out[0], {3}, {1 * 1 + 1 + 5, 2 * -2 + 2 + 6, 3 * 0.25 - 3 + 7});
}

TEST(OnnxWeights, ExternalDataBesideTheModel) {
  auto dir =
      std::filesystem::path(::testing::TempDir()) / ("kiln_onnx_ext_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::vector<float> w(20);
  for (int k = 0; k < 20; ++k) w[k] = 0.5f * static_cast<float>(k) - 3.0f;
  {
    std::ofstream f(dir / "weights.bin", std::ios::binary);
    f << "12345678";  // 8 bytes before the tensor: offset 8
    f.write(reinterpret_cast<const char*>(w.data()), sizeof(float) * 20);
  }
  OnnxModelBuilder m;
  m.Input("x", TP::FLOAT, {"batch", 20});
  TP* t = m.graph().add_initializer();
  t->set_name("fc.weight");
  t->set_data_type(TP::FLOAT);
  t->add_dims(20);
  t->set_data_location(TP::EXTERNAL);
  auto add_kv = [&](const char* k, const std::string& v) {
    auto* kv = t->add_external_data();
    kv->set_key(k);
    kv->set_value(v);
  };
  add_kv("location", "weights.bin");
  add_kv("offset", "8");
  add_kv("length", "80");
  m.Node("Mul", {"x", "fc.weight"}, {"y"});
  m.Output("y");
  std::string path = (dir / "model.onnx").string();
  {
    std::ofstream f(path, std::ios::binary);
    f << m.Bytes();
  }
  OnnxImportOptions options;
  options.symbol_ranges["batch"] = {1, 8};
  StatusOr<Graph> g = ImportOnnxFile(path, options);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->symbols().at("batch"), (SymbolRange{1, 8}));
  ASSERT_EQ(g->weights()->count("fc.weight"), 1u);
  std::vector<float> x(40, 2.0f);
  StatusOr<std::vector<Tensor>> out = Interpret(*g, {F32({2, 20}, x)});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<double> want;
  for (int r = 0; r < 2; ++r) {
    for (int k = 0; k < 20; ++k) want.push_back(2.0 * w[k]);
  }
  ExpectValues((*out)[0], {2, 20}, want);

  // The same model without its data file, and with a location escaping the directory.
  std::filesystem::remove(dir / "weights.bin");
  StatusOr<Graph> missing = ImportOnnxFile(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("weights.bin"), std::string::npos)
      << missing.status().message();
  t->mutable_external_data(0)->set_value("../etc/passwd");
  StatusOr<Graph> escape = ImportOnnxBytes(m.Bytes(), dir.string(), "m.onnx");
  ASSERT_FALSE(escape.ok());
  EXPECT_NE(escape.status().message().find("leaves the model's directory"), std::string::npos)
      << escape.status().message();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kiln::onnx_test
