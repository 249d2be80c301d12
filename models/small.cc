// Two small models for fast tests and the demo: a 2-layer perceptron on flattened 28x28 images
// and a tiny CNN on 32x32 RGB images. Names follow what the equivalent nn.Module would use.
#include "models/layers.h"

namespace kiln {

// nn.Sequential-like MLP: fc1 (784 -> hidden) -> relu -> fc2 (hidden -> classes).
StatusOr<BuiltModel> BuildMlp(const ZooOptions& o) {
  constexpr int64_t kFeatures = 784;
  int64_t hidden = o.hidden_size > 0 ? o.hidden_size : 128;
  int64_t classes = o.num_classes > 0 ? o.num_classes : 10;
  ModelBuilder m("mlp", o.dtype);
  Builder& b = m.b();
  Value* x = b.Input("x", o.dtype, {m.Batch(o), kFeatures});
  Value* h = b.Relu(m.Linear("fc1", x, kFeatures, hidden));
  m.Output(m.Linear("fc2", h, hidden, classes), "logits");
  return m.Finish();
}

// conv1 (3x3, pad 1) -> bn1 -> relu -> conv2 (3x3, pad 1, 2x channels) -> bn2 -> relu
// -> max_pool 2x2 -> global average pool -> fc.
StatusOr<BuiltModel> BuildTinyCnn(const ZooOptions& o) {
  int64_t c1 = o.hidden_size > 0 ? o.hidden_size : 16;
  int64_t c2 = 2 * c1;
  int64_t image = o.image_size > 0 ? o.image_size : 32;
  int64_t classes = o.num_classes > 0 ? o.num_classes : 10;
  KILN_RETURN_IF_ERROR(CheckAtLeast("tiny_cnn image_size", image, 2));
  ModelBuilder m("tiny_cnn", o.dtype);
  Builder& b = m.b();
  Value* x = b.Input("x", o.dtype, {m.Batch(o), 3, image, image});
  Value* h = m.Conv2d("conv1", x, 3, c1, 3, 1, 1, false);
  h = b.Relu(m.BatchNorm2d("bn1", h, c1));
  h = m.Conv2d("conv2", h, c1, c2, 3, 1, 1, false);
  h = b.Relu(m.BatchNorm2d("bn2", h, c2));
  h = b.MaxPool2d(h, {.kernel = 2, .stride = 2});
  h = b.Flatten(b.GlobalAvgPool2d(h), 1);
  m.Output(m.Linear("fc", h, c2, classes), "logits");
  return m.Finish();
}

}  // namespace kiln
