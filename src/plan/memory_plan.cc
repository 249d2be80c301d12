#include "plan/memory_plan.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <set>
#include <unordered_map>

#include "support/check.h"
#include "support/format.h"

namespace kiln {

bool IsViewOp(OpKind op) {
  return op == OpKind::kReshape || op == OpKind::kSqueeze || op == OpKind::kUnsqueeze ||
         op == OpKind::kFlatten;
}

bool IsViewNode(const Node& node) {
  if (IsViewOp(node.op())) return true;
  if (node.op() != OpKind::kSlice) return false;
  for (const Dim& start : node.GetDims("starts")) {
    if (!start.is_static() || start.value() != 0) return false;
  }
  for (int64_t step : node.GetInts("steps")) {
    if (step != 1) return false;
  }
  const Shape& in = node.input(0)->shape();
  const Shape& out = node.output()->shape();
  size_t shortened = in.size();
  for (size_t a = 0; a < in.size(); ++a) {
    if (out[a] == in[a]) continue;
    if (shortened != in.size()) return false;
    shortened = a;
  }
  for (size_t a = 0; a < shortened && a < in.size(); ++a) {
    if (!in[a].is_static() || in[a].value() != 1) return false;
  }
  return true;
}

namespace {

bool IsSourceOp(OpKind op) { return op == OpKind::kWeight || op == OpKind::kConstant; }

// Kernels of these ops compute out[i] from in[i] (or from a broadcast element), so the result
// may overwrite an operand of the same element count and element size.
bool CanRunInPlace(const Node& node) {
  FusionKind kind = node.def().fusion;
  return (kind == FusionKind::kElementwise || kind == FusionKind::kBroadcast) &&
         node.num_outputs() == 1;
}

int64_t AlignUp(int64_t bytes, int64_t alignment) {
  return (bytes + alignment - 1) / alignment * alignment;
}

std::string Name(const Value* v) { return "%" + v->name(); }

// Bytes of `v` under `bindings`.
StatusOr<int64_t> ValueBytes(const Value& v, const SymbolBindings& bindings) {
  StatusOr<int64_t> numel = NumElements(v.shape()).Evaluate(bindings);
  if (!numel.ok()) {
    return numel.status().WithContext("memory plan: size of " + Name(&v) + " : " +
                                      v.type().ToString());
  }
  return *numel * DTypeSize(v.dtype());
}

// Every symbol of the graph bound: options.bindings (checked against the ranges), else the range
// maximum.
StatusOr<SymbolBindings> ResolveBindings(const Graph& graph, const SymbolBindings& given) {
  SymbolBindings out;
  for (const auto& [name, value] : given) {
    auto it = graph.symbols().find(name);
    if (it == graph.symbols().end()) {
      std::string known;
      for (const auto& [n, r] : graph.symbols()) known += (known.empty() ? "" : ", ") + n;
      return InvalidArgument("memory plan: binding for unknown symbol '" + name +
                             "' (graph @" + graph.name() + " has: " +
                             (known.empty() ? "none" : known) + ")");
    }
    if (value < it->second.min || value > it->second.max) {
      return InvalidArgument("memory plan: symbol " + name + " = " + std::to_string(value) +
                             " is outside its range [" + std::to_string(it->second.min) + ", " +
                             std::to_string(it->second.max) + "]");
    }
  }
  for (const auto& [name, range] : graph.symbols()) {
    auto it = given.find(name);
    out[name] = it != given.end() ? it->second : range.max;
  }
  return out;
}

// Step (index in graph.nodes()) of each node, and of each value's last user.
struct Schedule {
  std::unordered_map<const Node*, int> step;
  std::unordered_map<const Value*, int> last_user;

  explicit Schedule(const Graph& graph) {
    for (size_t i = 0; i < graph.nodes().size(); ++i) {
      const Node* node = graph.nodes()[i].get();
      step[node] = static_cast<int>(i);
      for (const Value* in : node->inputs()) last_user[in] = static_cast<int>(i);
    }
  }
  int Birth(const Value* v) const { return step.at(v->producer()); }
  // Producer's step for a value nobody uses.
  int Death(const Value* v) const {
    auto it = last_user.find(v);
    return it == last_user.end() ? Birth(v) : std::max(Birth(v), it->second);
  }
};

// Values that get workspace: node results other than weights, constants, graph outputs and views
// of values without workspace. Computed in node order so a view sees its operand's answer.
std::set<const Value*> WorkspaceValues(const Graph& graph) {
  std::set<const Value*> outputs(graph.outputs().begin(), graph.outputs().end());
  std::set<const Value*> result;
  for (const auto& node : graph.nodes()) {
    if (IsSourceOp(node->op())) continue;
    for (const Value* v : node->outputs()) {
      if (outputs.count(v)) continue;
      if (IsViewNode(*node) && !result.count(node->input(0))) continue;
      result.insert(v);
    }
  }
  return result;
}

// A region of memory shared by one value and its views and in-place successors.
struct Storage {
  int64_t size = 0;     // aligned
  int first = 0, last = 0;  // steps, inclusive
  int64_t offset = 0;
  const Value* value = nullptr;  // the first value in it (the others have its byte size)
  int64_t offset_per_unit = 0;   // a scaling plan's (BufferAssignment::offset_per_unit)
};

bool LifetimesIntersect(const Storage& a, const Storage& b) {
  return a.first <= b.last && b.first <= a.last;
}

// Places `storages` (sizes and lifetimes set) largest first, each in a gap between the placed
// storages whose lifetimes intersect its own: the smallest gap that fits (best_fit) or the lowest
// one. Returns the workspace size.
int64_t Place(std::vector<Storage>& storages, bool best_fit) {
  std::vector<int> order(storages.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    if (storages[a].size != storages[b].size) return storages[a].size > storages[b].size;
    return storages[a].first < storages[b].first;
  });
  std::vector<int> placed;
  int64_t workspace = 0;
  for (int i : order) {
    Storage& s = storages[i];
    s.offset = 0;
    if (s.size == 0) continue;
    std::vector<const Storage*> live;
    for (int j : placed) {
      if (LifetimesIntersect(s, storages[j])) live.push_back(&storages[j]);
    }
    std::sort(live.begin(), live.end(),
              [](const Storage* a, const Storage* b) { return a->offset < b->offset; });
    int64_t end = 0;  // highest end among live storages seen so far
    int64_t best_offset = -1, best_gap = std::numeric_limits<int64_t>::max();
    for (const Storage* other : live) {
      int64_t gap = other->offset - end;
      if (gap >= s.size && gap < best_gap) {
        best_offset = end;
        best_gap = gap;
        if (!best_fit) break;
      }
      end = std::max(end, other->offset + other->size);
    }
    s.offset = best_offset >= 0 ? best_offset : end;
    workspace = std::max(workspace, s.offset + s.size);
    placed.push_back(i);
  }
  return workspace;
}

// Places `storages` with both gap choices and keeps the tighter (best-fit usually, not always).
// Returns the workspace size.
int64_t PlaceTightest(std::vector<Storage>& storages) {
  std::vector<Storage> lowest = storages;
  const int64_t best_fit_bytes = Place(storages, /*best_fit=*/true);
  const int64_t lowest_bytes = Place(lowest, /*best_fit=*/false);
  if (lowest_bytes < best_fit_bytes) storages = std::move(lowest);
  return std::min(best_fit_bytes, lowest_bytes);
}

// The symbol the workspace can scale with (see the header), or "": one the caller did not bind
// such that each storage's bytes (the other symbols at `bindings`) are c * s (`proportional`) or
// do not depend on s, with c > 0 somewhere; checked at s = 0, 1, 2, 3 and the range maximum (a
// size polynomial of degree <= 4 that passes is one of the two). Of several symbols, the one
// whose range spans the largest factor (max / min).
StatusOr<std::string> ScaleSymbol(const Graph& graph, const std::vector<Storage>& storages,
                                  const SymbolBindings& bindings, const SymbolBindings& given,
                                  std::vector<bool>* proportional) {
  std::string best;
  double best_factor = 1.0;
  for (const auto& [name, range] : graph.symbols()) {
    if (given.count(name) || range.max <= 1) continue;
    std::vector<bool> scales(storages.size(), false);
    bool ok = true, any = false;
    SymbolBindings at = bindings;
    for (size_t i = 0; ok && i < storages.size(); ++i) {
      at[name] = 1;
      KILN_ASSIGN_OR_RETURN(const int64_t unit, ValueBytes(*storages[i].value, at));
      bool linear = unit > 0, constant = true;
      for (int64_t k : {int64_t{0}, int64_t{2}, int64_t{3}, range.max}) {
        at[name] = k;
        KILN_ASSIGN_OR_RETURN(const int64_t bytes, ValueBytes(*storages[i].value, at));
        linear &= bytes == unit * k;
        constant &= bytes == unit;
      }
      ok = linear || constant;
      scales[i] = linear;
      any |= linear;
    }
    const double factor =
        static_cast<double>(range.max) / static_cast<double>(std::max<int64_t>(range.min, 1));
    if (ok && any && factor > best_factor) {
      best = name;
      best_factor = factor;
      *proportional = std::move(scales);
    }
  }
  return best;
}

std::string Describe(const BufferAssignment& b) {
  return Name(b.value) + " [" + std::to_string(b.offset) + ", " +
         std::to_string(b.offset + b.size) + ") at steps " + std::to_string(b.first_use) + ".." +
         std::to_string(b.last_use);
}

}  // namespace

StatusOr<MemoryPlan> PlanMemory(const Graph& graph, const PlanOptions& options) {
  if (options.alignment <= 0 || (options.alignment & (options.alignment - 1)) != 0) {
    return InvalidArgument("memory plan: alignment must be a power of two, got " +
                           std::to_string(options.alignment));
  }
  MemoryPlan plan;
  plan.alignment = options.alignment;
  KILN_ASSIGN_OR_RETURN(plan.bindings, ResolveBindings(graph, options.bindings));

  const Schedule schedule(graph);
  const std::set<const Value*> workspace_values = WorkspaceValues(graph);
  std::vector<Storage> storages;
  std::unordered_map<const Value*, int> storage_of;

  for (const auto& node_ptr : graph.nodes()) {
    const Node& node = *node_ptr;
    const int step = schedule.step.at(&node);
    for (const Value* v : node.outputs()) {
      if (!workspace_values.count(v)) continue;
      BufferAssignment b;
      b.value = v;
      KILN_ASSIGN_OR_RETURN(b.size, ValueBytes(*v, plan.bindings));
      b.first_use = step;
      b.last_use = schedule.Death(v);

      int storage = -1;
      if (IsViewNode(node)) {
        // WorkspaceValues() only keeps views of workspace values. A prefix slice (or a view of
        // one) covers less than the whole storage.
        storage = storage_of.at(node.input(0));
        KILN_CHECK(AlignUp(b.size, plan.alignment) <= storages[storage].size);
        b.is_view = true;
        b.shares_with = node.input(0);
      } else if (CanRunInPlace(node)) {
        for (const Value* in : node.inputs()) {
          auto it = storage_of.find(in);
          // The operand's storage must die here: no other value in it is read later.
          if (it == storage_of.end() || storages[it->second].last != step) continue;
          if (NumElements(in->shape()) != NumElements(v->shape()) ||
              DTypeSize(in->dtype()) != DTypeSize(v->dtype())) {
            continue;
          }
          storage = it->second;
          b.in_place_of_input = true;
          b.shares_with = in;
          break;
        }
      }
      if (storage < 0) {
        storage = static_cast<int>(storages.size());
        storages.push_back({AlignUp(b.size, plan.alignment), step, step, 0, v});
      }
      storages[storage].last = std::max(storages[storage].last, b.last_use);
      storage_of[v] = storage;
      if (!b.is_view) plan.naive_bytes += AlignUp(b.size, plan.alignment);
      plan.buffers.push_back(b);
    }
  }

  // Peak of live bytes over the steps: a difference array over storage lifetimes.
  std::vector<int64_t> delta(graph.nodes().size() + 1, 0);
  for (const Storage& s : storages) {
    delta[s.first] += s.size;
    delta[s.last + 1] -= s.size;
  }
  int64_t live = 0;
  for (int64_t d : delta) {
    live += d;
    plan.lower_bound_bytes = std::max(plan.lower_bound_bytes, live);
  }

  std::vector<bool> proportional;
  if (options.scale) {
    KILN_ASSIGN_OR_RETURN(plan.scale_symbol, ScaleSymbol(graph, storages, plan.bindings,
                                                         options.bindings, &proportional));
  }
  if (plan.scale_symbol.empty()) {
    plan.workspace_bytes = PlaceTightest(storages);
  } else {
    // Proportional storages placed at one unit of the symbol, the others apart after them.
    std::vector<Storage> unit, fixed;
    SymbolBindings one = plan.bindings;
    one[plan.scale_symbol] = 1;
    for (size_t i = 0; i < storages.size(); ++i) {
      Storage s = storages[i];
      if (proportional[i]) {
        KILN_ASSIGN_OR_RETURN(const int64_t bytes, ValueBytes(*s.value, one));
        s.size = AlignUp(bytes, plan.alignment);
      }
      (proportional[i] ? unit : fixed).push_back(s);
    }
    plan.unit_bytes = PlaceTightest(unit);
    plan.fixed_bytes = PlaceTightest(fixed);
    size_t u = 0, f = 0;
    for (size_t i = 0; i < storages.size(); ++i) {
      if (proportional[i]) {
        storages[i].offset = 0;
        storages[i].offset_per_unit = unit[u++].offset;
      } else {
        storages[i].offset = fixed[f++].offset;
        storages[i].offset_per_unit = plan.unit_bytes;
      }
    }
    plan.workspace_bytes = plan.unit_bytes * plan.bindings.at(plan.scale_symbol) + plan.fixed_bytes;
  }
  for (BufferAssignment& b : plan.buffers) {
    const Storage& s = storages[storage_of.at(b.value)];
    b.offset = s.offset;
    b.offset_per_unit = s.offset_per_unit;
  }
  return plan;
}

int64_t MemoryPlan::WorkspaceBytesAt(int64_t value) const {
  if (scale_symbol.empty()) return workspace_bytes;
  return unit_bytes * value + fixed_bytes + scratch_bytes;
}

StatusOr<MemoryPlan> MemoryPlan::At(int64_t value) const {
  if (scale_symbol.empty()) return *this;
  MemoryPlan at = *this;
  at.scale_symbol.clear();
  at.unit_bytes = at.fixed_bytes = 0;
  at.bindings[scale_symbol] = value;
  at.workspace_bytes = WorkspaceBytesAt(value);
  for (BufferAssignment& b : at.buffers) {
    b.offset += b.offset_per_unit * value;
    b.offset_per_unit = 0;
    KILN_ASSIGN_OR_RETURN(b.size, ValueBytes(*b.value, at.bindings));
  }
  return at;
}

Status CheckPlan(const Graph& graph, const MemoryPlan& plan) {
  if (!plan.scale_symbol.empty()) {
    auto range = graph.symbols().find(plan.scale_symbol);
    if (range == graph.symbols().end()) {
      return InternalError("memory plan: scale symbol " + plan.scale_symbol + " is not a symbol of @" +
                           graph.name());
    }
    const int64_t lo = range->second.min, hi = range->second.max;
    for (int64_t v : {lo, (lo + hi) / 2, hi}) {
      KILN_ASSIGN_OR_RETURN(MemoryPlan at, plan.At(v));
      KILN_RETURN_IF_ERROR(CheckPlan(graph, at).WithContext("with " + plan.scale_symbol + " = " +
                                                            std::to_string(v)));
    }
    return Status::Ok();
  }
  const Schedule schedule(graph);
  const std::set<const Value*> expected = WorkspaceValues(graph);
  if (plan.alignment <= 0 || (plan.alignment & (plan.alignment - 1)) != 0) {
    return InternalError("memory plan: alignment " + std::to_string(plan.alignment) +
                         " is not a power of two");
  }
  std::unordered_map<const Value*, const BufferAssignment*> buffer_of;
  for (const BufferAssignment& b : plan.buffers) {
    if (!expected.count(b.value)) {
      return InternalError("memory plan: " + Name(b.value) +
                           " has a workspace buffer but is not an intermediate of graph @" +
                           graph.name());
    }
    if (!buffer_of.emplace(b.value, &b).second) {
      return InternalError("memory plan: " + Name(b.value) + " has two buffers");
    }
  }
  for (const Value* v : expected) {
    if (!buffer_of.count(v)) return InternalError("memory plan: " + Name(v) + " has no buffer");
  }

  for (const BufferAssignment& b : plan.buffers) {
    KILN_ASSIGN_OR_RETURN(int64_t bytes, ValueBytes(*b.value, plan.bindings));
    if (b.size != bytes) {
      return InternalError("memory plan: " + Name(b.value) + " has " + std::to_string(b.size) +
                           " bytes, expected " + std::to_string(bytes));
    }
    if (b.first_use > schedule.Birth(b.value) || b.last_use < schedule.Death(b.value)) {
      return InternalError("memory plan: " + Describe(b) + " does not cover its lifetime, steps " +
                           std::to_string(schedule.Birth(b.value)) + ".." +
                           std::to_string(schedule.Death(b.value)));
    }
    if (b.offset < 0 || b.offset % plan.alignment != 0) {
      return InternalError("memory plan: " + Describe(b) + " is not aligned to " +
                           std::to_string(plan.alignment) + " bytes");
    }
    if (b.offset + b.size > plan.workspace_bytes) {
      return InternalError("memory plan: " + Describe(b) + " ends past the workspace of " +
                           std::to_string(plan.workspace_bytes) + " bytes");
    }
    bool shares = b.in_place_of_input || b.is_view;
    if ((b.in_place_of_input && b.is_view) || shares != (b.shares_with != nullptr)) {
      return InternalError("memory plan: " + Describe(b) +
                           " must be exactly one of in-place and view when it shares memory");
    }
    if (b.shares_with == nullptr) continue;
    const Node& producer = *b.value->producer();
    auto shared = buffer_of.find(b.shares_with);
    const std::vector<Value*>& ins = producer.inputs();
    bool operand = std::find(ins.begin(), ins.end(), b.shares_with) != ins.end();
    const bool prefix = b.is_view && producer.op() == OpKind::kSlice;  // its operand's first bytes
    bool legal = shared != buffer_of.end() && shared->second->offset == b.offset &&
                 (prefix ? b.size <= shared->second->size : shared->second->size == b.size) &&
                 (b.is_view ? IsViewNode(producer) && producer.input(0) == b.shares_with
                            : CanRunInPlace(producer) && operand);
    if (!legal) {
      return InternalError("memory plan: " + Describe(b) + " cannot share memory with " +
                           Name(b.shares_with) + " (" + std::string(producer.op_name()) + ")");
    }
  }

  // Storage generations: a view belongs to its source's generation; an in-place result starts a
  // new one that overwrites the previous generation, which must be dead by then.
  std::unordered_map<const Value*, const BufferAssignment*> generation, root;
  // Node order, so a source is seen before the values that share it (an operand of their
  // producer, as checked above).
  for (const auto& node : graph.nodes()) {
    for (const Value* v : node->outputs()) {
      auto it = buffer_of.find(v);
      if (it == buffer_of.end()) continue;
      const BufferAssignment& b = *it->second;
      generation[v] = b.is_view ? generation.at(b.shares_with) : &b;
      root[v] = b.shares_with ? root.at(b.shares_with) : &b;
    }
  }
  auto compatible = [&](const BufferAssignment& a, const BufferAssignment& b) {
    if (root.at(a.value) != root.at(b.value)) return false;
    const BufferAssignment* ga = generation.at(a.value);
    const BufferAssignment* gb = generation.at(b.value);
    if (ga == gb) return true;
    // The older generation must be dead once the newer one is written (it may be read by the
    // very node that writes in place).
    if (ga->first_use < gb->first_use) return a.last_use <= gb->first_use;
    return b.last_use <= ga->first_use;
  };
  std::vector<const BufferAssignment*> by_offset;
  for (const BufferAssignment& b : plan.buffers) {
    if (b.size > 0) by_offset.push_back(&b);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const auto* a, const auto* b) { return a->offset < b->offset; });
  for (size_t i = 0; i < by_offset.size(); ++i) {
    const BufferAssignment& a = *by_offset[i];
    for (size_t j = i + 1; j < by_offset.size() && by_offset[j]->offset < a.offset + a.size;
         ++j) {
      const BufferAssignment& b = *by_offset[j];
      bool both_live = a.first_use <= b.last_use && b.first_use <= a.last_use;
      if (both_live && !compatible(a, b)) {
        return InternalError("memory plan: buffers " + Describe(a) + " and " + Describe(b) +
                             " overlap in memory while both are live");
      }
    }
  }
  return Status::Ok();
}

std::string FormatPlanSummary(const MemoryPlan& plan) {
  const int64_t planned = plan.workspace_bytes - plan.scratch_bytes;
  double ratio = plan.lower_bound_bytes > 0 ? static_cast<double>(planned) /
                                                  static_cast<double>(plan.lower_bound_bytes)
                                            : 1.0;
  char ratio_text[32];
  std::snprintf(ratio_text, sizeof(ratio_text), "%.2fx", ratio);
  std::string scaling;
  if (!plan.scale_symbol.empty()) {
    const int64_t rest = plan.fixed_bytes + plan.scratch_bytes;
    scaling = "; a run takes " + FormatBytes(plan.unit_bytes) + " per unit of " + plan.scale_symbol +
              (rest > 0 ? " + " + FormatBytes(rest) : "");
  }
  return "workspace " + FormatBytes(plan.workspace_bytes) + " (naive " +
         FormatBytes(plan.naive_bytes) + ", peak-live lower bound " +
         FormatBytes(plan.lower_bound_bytes) + ", " + ratio_text + " of the bound), " +
         std::to_string(plan.buffers.size()) + " buffers" +
         (plan.scratch_bytes > 0 ? ", incl. " + FormatBytes(plan.scratch_bytes) + " of kernel scratch"
                                 : "") + scaling;
}

}  // namespace kiln
