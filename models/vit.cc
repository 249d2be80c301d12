// torchvision.models.vit_b_16: 16x16 patches, hidden 768, 12 layers, 12 heads, MLP 3072,
// pre-LayerNorm blocks (eps 1e-6), exact-erf GELU, class-token head.
#include "models/layers.h"

namespace kiln {
namespace {

constexpr int64_t kPatch = 16;
constexpr double kLayerNormEps = 1e-6;

struct VitSizes {
  int64_t hidden, heads, head_dim, mlp;
};

// encoder.layers.encoder_layer_{i}: x + attn(ln_1(x)), then + mlp(ln_2(.)). nn.MultiheadAttention
// keeps q, k and v stacked in in_proj_weight [3*hidden, hidden] (q rows first).
Value* EncoderBlock(ModelBuilder& m, const std::string& prefix, Value* x, Dim n, Dim tokens,
                    const VitSizes& z) {
  Builder& b = m.b();
  std::string att = prefix + ".self_attention";
  Value* y = m.LayerNorm(prefix + ".ln_1", x, z.hidden, kLayerNormEps);
  Value* w_in =
      m.Param(att + ".in_proj_weight", {3 * z.hidden, z.hidden}, WeightInit::kFanIn, z.hidden);
  Value* b_in = m.Param(att + ".in_proj_bias", {3 * z.hidden}, WeightInit::kFanIn, z.hidden);
  std::vector<Value*> qkv = b.Split(b.Linear(y, w_in, b_in), {z.hidden, z.hidden, z.hidden}, -1);
  if (qkv.size() != 3) return nullptr;  // the builder recorded the error
  for (Value*& t : qkv) t = b.Reshape(t, {n, tokens, z.heads, z.head_dim});
  Value* ctx = b.Reshape(b.Attention(qkv[0], qkv[1], qkv[2]), {n, tokens, z.hidden});
  x = b.Add(m.Linear(att + ".out_proj", ctx, z.hidden, z.hidden), x);
  y = m.LayerNorm(prefix + ".ln_2", x, z.hidden, kLayerNormEps);
  y = b.Gelu(m.Linear(prefix + ".mlp.0", y, z.hidden, z.mlp));
  y = m.Linear(prefix + ".mlp.3", y, z.mlp, z.hidden);
  return b.Add(x, y);
}

}  // namespace

StatusOr<BuiltModel> BuildVit(const ZooOptions& o) {
  VitSizes z;
  z.hidden = o.hidden_size > 0 ? o.hidden_size : 768;
  z.heads = o.num_heads > 0 ? o.num_heads : 12;
  z.mlp = o.intermediate_size > 0 ? o.intermediate_size : 3072;
  int64_t layers = o.num_layers > 0 ? o.num_layers : 12;
  int64_t image = o.image_size > 0 ? o.image_size : 224;
  int64_t classes = o.num_classes > 0 ? o.num_classes : 1000;
  if (z.hidden % z.heads != 0) {
    return InvalidArgument("vit: hidden_size " + std::to_string(z.hidden) +
                           " is not a multiple of num_heads " + std::to_string(z.heads));
  }
  if (image % kPatch != 0 || image < kPatch) {
    return InvalidArgument(
        "vit: image_size must be a positive multiple of the patch size 16, "
        "got " +
        std::to_string(image));
  }
  z.head_dim = z.hidden / z.heads;
  int64_t grid = image / kPatch;
  int64_t patches = grid * grid;
  Dim tokens = patches + 1;

  ModelBuilder m("vit", o.dtype);
  Builder& b = m.b();
  Dim n = m.Batch(o);
  Value* x = b.Input("x", o.dtype, {n, 3, image, image});
  // Patchify: [N, hidden, g, g] -> [N, hidden, g*g] -> [N, g*g, hidden].
  Value* h = m.Conv2d("conv_proj", x, 3, z.hidden, kPatch, kPatch, 0, true);
  h = b.Transpose(b.Reshape(h, {n, z.hidden, patches}), {0, 2, 1});
  Value* cls = m.Param("class_token", {1, 1, z.hidden}, WeightInit::kEmbedding);
  h = b.Concat({b.Expand(cls, {n, 1, z.hidden}), h}, 1);
  Value* pos = m.Param("encoder.pos_embedding", {1, patches + 1, z.hidden}, WeightInit::kEmbedding);
  h = b.Add(h, pos);
  for (int64_t i = 0; i < layers; ++i) {
    h = EncoderBlock(m, "encoder.layers.encoder_layer_" + std::to_string(i), h, n, tokens, z);
  }
  h = m.LayerNorm("encoder.ln", h, z.hidden, kLayerNormEps);
  Value* first = b.Squeeze(SliceAxis(b, h, 1, 0, 1), {1});
  m.Output(m.Linear("heads.head", first, z.hidden, classes), "logits");
  return m.Finish();
}

}  // namespace kiln
