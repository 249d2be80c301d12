// The reduce op family: reduce_sum/mean/max/min/prod over a set of axes, and softmax /
// log_softmax along one axis.
//
// Float references accumulate in double. Integer reductions are exact in int64 (sum and prod
// wrap like the operand dtype would); an integer reduce_mean truncates toward zero, as ONNX
// Runtime's integer ReduceMean does.
#include <cmath>
#include <limits>
#include <string>

#include "ops/families.h"
#include "ops/op_util.h"

namespace kiln {
namespace {

enum class Reduction { kSum, kMean, kMax, kMin, kProd };

struct ReduceOp {
  OpKind kind;
  Reduction reduction;
  const char* summary;
};

const ReduceOp kReduceOps[] = {
    {OpKind::kReduceSum, Reduction::kSum, "sum over {axes} (empty: all) {keepdims}"},
    {OpKind::kReduceMean, Reduction::kMean, "mean over {axes} (empty: all) {keepdims}"},
    {OpKind::kReduceMax, Reduction::kMax, "maximum over {axes} (empty: all) {keepdims}"},
    {OpKind::kReduceMin, Reduction::kMin, "minimum over {axes} (empty: all) {keepdims}"},
    {OpKind::kReduceProd, Reduction::kProd, "product over {axes} (empty: all) {keepdims}"},
};

// max and min have no identity, so they cannot reduce zero elements.
bool NeedsElements(Reduction r) { return r == Reduction::kMax || r == Reduction::kMin; }

// The axes `node` reduces for a rank-`rank` input, as a mask: its `axes` attribute normalised
// (negative axes count from the end), or every axis when the list is empty.
StatusOr<std::vector<bool>> ReducedAxes(const Node& node, int64_t rank) {
  const std::vector<int64_t>& axes = node.GetInts("axes");
  std::vector<bool> mask(rank, axes.empty());
  for (int64_t axis : axes) {
    KILN_ASSIGN_OR_RETURN(int64_t a, NormalizeAxis(node, axis, rank));
    if (mask[a]) {
      return OpError(node, "axis " + std::to_string(axis) + " (axis " + std::to_string(a) +
                               ") appears more than once in axes " + IntsToString(axes));
    }
    mask[a] = true;
  }
  return mask;
}

InferFn ReduceInfer(const ReduceOp& op) {
  return [&op](const Node& node) -> StatusOr<std::vector<TensorType>> {
    const TensorType& x = node.input(0)->type();
    if (!IsComputeFloat(x.dtype) && !IsInteger(x.dtype)) {
      return OpError(node, "operand 0 has dtype " + std::string(DTypeName(x.dtype)) +
                               ", expected a float (f32, f16, bf16) or integer dtype");
    }
    KILN_ASSIGN_OR_RETURN(std::vector<bool> mask, ReducedAxes(node, x.rank()));
    bool keepdims = node.GetBool("keepdims");
    Shape out;
    for (int64_t i = 0; i < x.rank(); ++i) {
      if (!mask[i]) {
        out.push_back(x.shape[i]);
        continue;
      }
      if (NeedsElements(op.reduction) && x.shape[i] == Dim(0)) {
        return OpError(node, "cannot reduce axis " + std::to_string(i) + " of size 0 of " +
                                 x.ToString() + " (" + std::string(node.op_name()) +
                                 " has no identity)");
      }
      if (keepdims) out.push_back(Dim(1));
    }
    return std::vector<TensorType>{{x.dtype, std::move(out)}};
  };
}

// Folds `v` into every output slot: acc[map[k]] = combine(acc[map[k]], v[k]).
template <typename T, typename Combine>
std::vector<T> Fold(const std::vector<T>& v, const std::vector<int64_t>& map, int64_t m, T init,
                    Combine combine) {
  std::vector<T> acc(m, init);
  for (size_t k = 0; k < v.size(); ++k) acc[map[k]] = combine(acc[map[k]], v[k]);
  return acc;
}

std::vector<double> FoldF64(Reduction r, const std::vector<double>& v,
                            const std::vector<int64_t>& map, int64_t m) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  switch (r) {
    case Reduction::kSum:
    case Reduction::kMean:
      return Fold(v, map, m, 0.0, [](double a, double b) { return a + b; });
    case Reduction::kProd:
      return Fold(v, map, m, 1.0, [](double a, double b) { return a * b; });
    // A NaN element wins, as in numpy.max; once NaN, `b > a` is false and NaN stays.
    case Reduction::kMax:
      return Fold(v, map, m, -kInf,
                  [](double a, double b) { return b > a || std::isnan(b) ? b : a; });
    case Reduction::kMin:
      return Fold(v, map, m, kInf,
                  [](double a, double b) { return b < a || std::isnan(b) ? b : a; });
  }
  return {};
}

std::vector<int64_t> FoldI64(Reduction r, const std::vector<int64_t>& v,
                             const std::vector<int64_t>& map, int64_t m) {
  // Unsigned arithmetic wraps where signed overflow would be undefined.
  auto add = [](int64_t a, int64_t b) {
    return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  };
  auto mul = [](int64_t a, int64_t b) {
    return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  };
  switch (r) {
    case Reduction::kSum:
    case Reduction::kMean:
      return Fold<int64_t>(v, map, m, 0, add);
    case Reduction::kProd:
      return Fold<int64_t>(v, map, m, 1, mul);
    case Reduction::kMax:
      return Fold(v, map, m, std::numeric_limits<int64_t>::min(),
                  [](int64_t a, int64_t b) { return std::max(a, b); });
    case Reduction::kMin:
      return Fold(v, map, m, std::numeric_limits<int64_t>::max(),
                  [](int64_t a, int64_t b) { return std::min(a, b); });
  }
  return {};
}

ReferenceFn ReduceReference(const ReduceOp& op) {
  return [&op](const Node& node, std::span<const Tensor> in, std::span<Tensor> out) -> Status {
    const Tensor& x = in[0];
    Tensor& y = out[0];
    KILN_ASSIGN_OR_RETURN(std::vector<bool> mask, ReducedAxes(node, x.rank()));
    // The keepdims shape has the output's element order whether or not keepdims is set, and
    // broadcasting it back over x maps each input element to the output element it feeds.
    std::vector<int64_t> kept = x.shape();
    int64_t count = 1;
    for (int64_t i = 0; i < x.rank(); ++i) {
      if (mask[i]) {
        count *= kept[i];
        kept[i] = 1;
      }
    }
    const int64_t m = y.numel();
    if (m == 0) return Status::Ok();
    const bool int_path = IsInteger(x.dtype());
    if (count == 0 &&
        (NeedsElements(op.reduction) || (int_path && op.reduction == Reduction::kMean))) {
      return OpError(node, "cannot reduce zero elements of " + x.TypeString() + " (" +
                               std::string(node.op_name()) + " has no identity)");
    }
    std::vector<int64_t> map = BroadcastIndexMap(x.shape(), kept);
    if (int_path) {
      std::vector<int64_t> acc = FoldI64(op.reduction, x.ToI64(), map, m);
      for (int64_t j = 0; j < m; ++j) {
        StoreI64(y, j, op.reduction == Reduction::kMean ? acc[j] / count : acc[j]);
      }
    } else {
      std::vector<double> acc = FoldF64(op.reduction, x.ToF64(), map, m);
      for (int64_t j = 0; j < m; ++j) {
        // A float mean of zero elements is 0/0 = NaN, as numpy.mean.
        y.SetF64(j,
                 op.reduction == Reduction::kMean ? acc[j] / static_cast<double>(count) : acc[j]);
      }
    }
    return Status::Ok();
  };
}

// ------------------------------------------------------------------------------------ softmax

StatusOr<std::vector<TensorType>> SoftmaxInfer(const Node& node) {
  const TensorType& x = node.input(0)->type();
  if (!IsComputeFloat(x.dtype)) {
    return OpError(node, "operand 0 has dtype " + std::string(DTypeName(x.dtype)) +
                             ", expected f32, f16 or bf16");
  }
  KILN_RETURN_IF_ERROR(NormalizeAxis(node, node.GetInt("axis"), x.rank()).status());
  return std::vector<TensorType>{x};
}

// Subtracts each row's maximum before exponentiating so no exp overflows.
Status SoftmaxReference(const Node& node, std::span<const Tensor> in, std::span<Tensor> out) {
  const Tensor& x = in[0];
  Tensor& y = out[0];
  KILN_ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node, node.GetInt("axis"), x.rank()));
  const bool log = node.op() == OpKind::kLogSoftmax;
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= x.dim(i);
  for (int64_t i = axis + 1; i < x.rank(); ++i) inner *= x.dim(i);
  const int64_t len = x.dim(axis);
  std::vector<double> v = x.ToF64();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * len * inner + i;
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t l = 0; l < len; ++l) mx = std::max(mx, v[base + l * inner]);
      double sum = 0.0;
      for (int64_t l = 0; l < len; ++l) sum += std::exp(v[base + l * inner] - mx);
      const double log_sum = std::log(sum);
      for (int64_t l = 0; l < len; ++l) {
        const int64_t k = base + l * inner;
        y.SetF64(k, log ? v[k] - mx - log_sum : std::exp(v[k] - mx) / sum);
      }
    }
  }
  return Status::Ok();
}

}  // namespace

void RegisterReduceOps() {
  for (const ReduceOp& op : kReduceOps) {
    RegisterOp({.kind = op.kind,
                .fusion = FusionKind::kReduction,
                .min_inputs = 1,
                .max_inputs = 1,
                .attrs = {{"axes", AttrKind::kInts, AttrValue(std::vector<int64_t>{})},
                          {"keepdims", AttrKind::kBool, AttrValue(false)}},
                .infer = ReduceInfer(op),
                .reference = ReduceReference(op),
                .summary = op.summary});
  }
  for (OpKind kind : {OpKind::kSoftmax, OpKind::kLogSoftmax}) {
    RegisterOp({.kind = kind,
                .fusion = FusionKind::kReduction,
                .min_inputs = 1,
                .max_inputs = 1,
                .attrs = {{"axis", AttrKind::kInt, AttrValue(int64_t{-1})}},
                .infer = SoftmaxInfer,
                .reference = SoftmaxReference,
                .summary = kind == OpKind::kSoftmax
                               ? "exp(x - max) / sum(exp(x - max)) along {axis}"
                               : "x - max - log(sum(exp(x - max))) along {axis}"});
  }
}

}  // namespace kiln
