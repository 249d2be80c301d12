// transformers BertModel(BertConfig()): bert-base (vocab 30522, hidden 768, 12 layers, 12 heads,
// intermediate 3072, 512 positions, 2 token types, LayerNorm eps 1e-12, exact-erf GELU), in
// eval mode. token_type_ids are taken as all zero, so row 0 of the token-type table is added.
#include "models/layers.h"

namespace kiln {
namespace {

constexpr int64_t kMaxPositions = 512;
constexpr int64_t kTypeVocab = 2;
constexpr double kLayerNormEps = 1e-12;

struct BertSizes {
  int64_t hidden, heads, head_dim, intermediate;
};

// encoder.layer.{i}: self-attention (BSHD, additive mask) + output, then the feed-forward.
Value* BertLayer(ModelBuilder& m, const std::string& prefix, Value* h, Value* mask, Dim n, Dim s,
                 const BertSizes& z) {
  Builder& b = m.b();
  std::string att = prefix + ".attention";
  auto heads = [&](const std::string& name) {
    Value* proj = m.Linear(att + ".self." + name, h, z.hidden, z.hidden);
    return b.Reshape(proj, {n, s, z.heads, z.head_dim});
  };
  Value* q = heads("query");
  Value* k = heads("key");
  Value* v = heads("value");
  Value* ctx = b.Attention(q, k, v, {.mask = mask});
  ctx = b.Reshape(ctx, {n, s, z.hidden});
  Value* a = m.Linear(att + ".output.dense", ctx, z.hidden, z.hidden);
  a = m.LayerNorm(att + ".output.LayerNorm", b.Add(a, h), z.hidden, kLayerNormEps);
  Value* f = m.Linear(prefix + ".intermediate.dense", a, z.hidden, z.intermediate);
  f = b.Gelu(f);
  f = m.Linear(prefix + ".output.dense", f, z.intermediate, z.hidden);
  return m.LayerNorm(prefix + ".output.LayerNorm", b.Add(f, a), z.hidden, kLayerNormEps);
}

}  // namespace

StatusOr<BuiltModel> BuildBert(const ZooOptions& o) {
  BertSizes z;
  z.hidden = o.hidden_size > 0 ? o.hidden_size : 768;
  z.heads = o.num_heads > 0 ? o.num_heads : 12;
  z.intermediate = o.intermediate_size > 0 ? o.intermediate_size : 3072;
  int64_t layers = o.num_layers > 0 ? o.num_layers : 12;
  int64_t vocab = o.vocab_size > 0 ? o.vocab_size : 30522;
  if (z.hidden % z.heads != 0) {
    return InvalidArgument("bert: hidden_size " + std::to_string(z.hidden) +
                           " is not a multiple of num_heads " + std::to_string(z.heads));
  }
  z.head_dim = z.hidden / z.heads;
  if (o.seq && (*o.seq < 1 || *o.seq > kMaxPositions)) {
    return InvalidArgument("bert: seq must be in [1, " + std::to_string(kMaxPositions) +
                           "] (the position table size), got " + std::to_string(*o.seq));
  }

  ModelBuilder m("bert", o.dtype);
  Builder& b = m.b();
  Dim n = m.Batch(o);
  Dim s = o.seq ? Dim(*o.seq) : b.Sym("S", 16, kMaxPositions);
  Value* ids = b.Input("input_ids", DType::kI64, {n, s});
  Value* mask = b.Input("attention_mask", DType::kI64, {n, s});

  // Embeddings: word + token_type[0] + position[0:S], then LayerNorm (HF's order of the adds).
  Value* word =
      m.Param("embeddings.word_embeddings.weight", {vocab, z.hidden}, WeightInit::kEmbedding);
  Value* pos = m.Param("embeddings.position_embeddings.weight", {kMaxPositions, z.hidden},
                       WeightInit::kEmbedding);
  Value* type = m.Param("embeddings.token_type_embeddings.weight", {kTypeVocab, z.hidden},
                        WeightInit::kEmbedding);
  Value* h = b.Embedding(word, ids);
  h = b.Add(h, SliceAxis(b, type, 0, 0, 1));
  h = b.Add(h, SliceAxis(b, pos, 0, 0, s));
  h = m.LayerNorm("embeddings.LayerNorm", h, z.hidden, kLayerNormEps);

  // Extended mask: (1 - mask) * finfo(dtype).min as an additive [N, 1, 1, S] bias.
  Value* keep = b.Cast(mask, o.dtype);
  Value* bias =
      b.Mul(b.Sub(b.Scalar(1.0, o.dtype), keep), b.Scalar(LowestFinite(o.dtype), o.dtype));
  bias = b.Unsqueeze(bias, {1, 2});

  for (int64_t i = 0; i < layers; ++i) {
    h = BertLayer(m, "encoder.layer." + std::to_string(i), h, bias, n, s, z);
  }
  // Pooler: tanh(dense(h[:, 0])).
  Value* first = b.Squeeze(SliceAxis(b, h, 1, 0, 1), {1});
  Value* pooled = b.Tanh(m.Linear("pooler.dense", first, z.hidden, z.hidden));
  m.Output(h, "last_hidden_state");
  m.Output(pooled, "pooler_output");
  return m.Finish();
}

}  // namespace kiln
