// torchvision.models.resnet50 (v1.5: the stride sits on the 3x3 conv of a bottleneck), NCHW.
// BatchNorm stays explicit (folding it into the convs is a pass); fc is a Linear.
#include <algorithm>
#include <array>

#include "models/layers.h"

namespace kiln {
namespace {

constexpr int64_t kExpansion = 4;

// Bottleneck block `prefix` (e.g. "layer2.0"): 1x1 -> 3x3 (stride) -> 1x1 (x4), with a 1x1
// projection shortcut ("downsample.0" conv, "downsample.1" bn) when the shape changes.
Value* Bottleneck(ModelBuilder& m, const std::string& prefix, Value* x, int64_t in, int64_t planes,
                  int64_t stride) {
  Builder& b = m.b();
  int64_t out = planes * kExpansion;
  Value* h = m.Conv2d(prefix + ".conv1", x, in, planes, 1, 1, 0, false);
  h = b.Relu(m.BatchNorm2d(prefix + ".bn1", h, planes));
  h = m.Conv2d(prefix + ".conv2", h, planes, planes, 3, stride, 1, false);
  h = b.Relu(m.BatchNorm2d(prefix + ".bn2", h, planes));
  h = m.Conv2d(prefix + ".conv3", h, planes, out, 1, 1, 0, false);
  h = m.BatchNorm2d(prefix + ".bn3", h, out);
  Value* shortcut = x;
  if (stride != 1 || in != out) {
    shortcut = m.Conv2d(prefix + ".downsample.0", x, in, out, 1, stride, 0, false);
    shortcut = m.BatchNorm2d(prefix + ".downsample.1", shortcut, out);
  }
  return b.Relu(b.Add(h, shortcut));
}

}  // namespace

StatusOr<BuiltModel> BuildResNet50(const ZooOptions& o) {
  int64_t width = o.hidden_size > 0 ? o.hidden_size : 64;
  int64_t image = o.image_size > 0 ? o.image_size : 224;
  int64_t classes = o.num_classes > 0 ? o.num_classes : 1000;
  // Below 32 pixels the stride-32 network leaves no spatial extent for layer4.
  KILN_RETURN_IF_ERROR(CheckAtLeast("resnet50 image_size", image, 32));
  std::array<int64_t, 4> blocks = {3, 4, 6, 3};
  if (o.num_layers > 0) {
    for (int64_t& n : blocks) n = std::min(n, o.num_layers);
  }

  ModelBuilder m("resnet50", o.dtype);
  Builder& b = m.b();
  Dim n = m.Batch(o);
  Value* x = b.Input("x", o.dtype, {n, 3, image, image});
  Value* h = m.Conv2d("conv1", x, 3, width, 7, 2, 3, false);
  h = b.Relu(m.BatchNorm2d("bn1", h, width));
  h = b.MaxPool2d(h, {.kernel = 3, .stride = 2, .pad = 1});
  int64_t in = width;
  for (int stage = 0; stage < 4; ++stage) {
    int64_t planes = width << stage;
    for (int64_t j = 0; j < blocks[stage]; ++j) {
      std::string prefix = "layer" + std::to_string(stage + 1) + "." + std::to_string(j);
      int64_t stride = (j == 0 && stage > 0) ? 2 : 1;
      h = Bottleneck(m, prefix, h, in, planes, stride);
      in = planes * kExpansion;
    }
  }
  h = b.Flatten(b.GlobalAvgPool2d(h), 1);
  m.Output(m.Linear("fc", h, in, classes), "logits");
  return m.Finish();
}

}  // namespace kiln
