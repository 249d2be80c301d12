#include "plan/memory_plan.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "models/zoo.h"
#include "passes/pass_test_util.h"
#include "passes/pipeline.h"

namespace kiln {
namespace {

// Plans `graph`, expects CheckPlan to accept the result, and returns it.
MemoryPlan PlanChecked(const Graph& graph, const PlanOptions& options = {}) {
  StatusOr<MemoryPlan> plan = PlanMemory(graph, options);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  if (!plan.ok()) return {};
  Status valid = CheckPlan(graph, *plan);
  EXPECT_TRUE(valid.ok()) << valid.ToString();
  return *plan;
}

// The buffer of the value named `name` (a test failure and a dummy if it has none).
const BufferAssignment& Buffer(const MemoryPlan& plan, const std::string& name) {
  for (const BufferAssignment& b : plan.buffers) {
    if (b.value->name() == name) return b;
  }
  ADD_FAILURE() << "no buffer for %" << name;
  static BufferAssignment none;
  none = {};
  return none;
}

BufferAssignment& MutableBuffer(MemoryPlan& plan, const std::string& name) {
  return const_cast<BufferAssignment&>(Buffer(plan, name));
}

std::vector<std::string> BufferNames(const MemoryPlan& plan) {
  std::vector<std::string> names;
  for (const BufferAssignment& b : plan.buffers) names.push_back(b.value->name());
  return names;
}

// Four transposes of a 16x16 f32 (1 KiB each): %a, %b, %c are intermediates, %y the output.
constexpr const char* kChain = R"(
graph @chain(%x: f32[16,16]) -> (%y) {
  %a = transpose(%x) {perm=[1,0]} : f32[16,16]
  %b = transpose(%a) {perm=[1,0]} : f32[16,16]
  %c = transpose(%b) {perm=[1,0]} : f32[16,16]
  %y = transpose(%c) {perm=[1,0]} : f32[16,16]
})";

TEST(MemoryPlanTest, ChainAlternatesTwoBuffers) {
  Graph g = ParseVerified(kChain);
  MemoryPlan plan = PlanChecked(g);
  // Inputs and outputs live in the caller's buffers.
  EXPECT_EQ(BufferNames(plan), (std::vector<std::string>{"a", "b", "c"}));
  const BufferAssignment& a = Buffer(plan, "a");
  const BufferAssignment& b = Buffer(plan, "b");
  const BufferAssignment& c = Buffer(plan, "c");
  EXPECT_EQ(a.size, 1024);
  EXPECT_EQ(std::pair(a.first_use, a.last_use), std::pair(0, 1));
  EXPECT_EQ(std::pair(b.first_use, b.last_use), std::pair(1, 2));
  EXPECT_EQ(std::pair(c.first_use, c.last_use), std::pair(2, 3));
  // %a and %b are live together at step 1, %b and %c at step 2; %c reuses %a's slot.
  EXPECT_EQ(a.offset, 0);
  EXPECT_EQ(b.offset, 1024);
  EXPECT_EQ(c.offset, 0);
  EXPECT_EQ(plan.workspace_bytes, 2048);
  EXPECT_EQ(plan.naive_bytes, 3072);
  EXPECT_EQ(plan.lower_bound_bytes, 2048);
  EXPECT_FALSE(a.in_place_of_input || b.in_place_of_input || c.in_place_of_input);
  EXPECT_EQ(FormatPlanSummary(plan),
            "workspace 2.0 KiB (naive 3.0 KiB, peak-live lower bound 2.0 KiB, 1.00x of the "
            "bound), 3 buffers");
}

TEST(MemoryPlanTest, DiamondKeepsBothBranchesApart) {
  Graph g = ParseVerified(R"(
graph @diamond(%x: f32[16,16]) -> (%y) {
  %a = transpose(%x) {perm=[1,0]} : f32[16,16]
  %b = transpose(%a) {perm=[1,0]} : f32[16,16]
  %c = softmax(%a) : f32[16,16]
  %d = add(%b, %c) : f32[16,16]
  %y = transpose(%d) {perm=[1,0]} : f32[16,16]
})");
  MemoryPlan plan = PlanChecked(g);
  // Step 2 has %a, %b and %c live: 3 KiB. %d (step 3) overwrites %b in place: both operands
  // die there and %b comes first.
  EXPECT_EQ(plan.lower_bound_bytes, 3072);
  EXPECT_EQ(plan.workspace_bytes, 3072);
  EXPECT_EQ(plan.naive_bytes, 4096);
  EXPECT_EQ(Buffer(plan, "a").offset, 0);
  EXPECT_EQ(Buffer(plan, "b").offset, 1024);
  EXPECT_EQ(Buffer(plan, "c").offset, 2048);
  const BufferAssignment& d = Buffer(plan, "d");
  EXPECT_TRUE(d.in_place_of_input);
  EXPECT_EQ(d.shares_with, g.FindValue("b"));
  EXPECT_EQ(d.offset, 1024);
  EXPECT_EQ(std::pair(d.first_use, d.last_use), std::pair(3, 4));
}

TEST(MemoryPlanTest, ElementwiseRunsInPlaceOnlyWhenLegal) {
  Graph g = ParseVerified(R"(
graph @ew(%x: f32[256]) -> (%y) {
  %a = exp(%x) : f32[256]
  %b = neg(%a) : f32[256]
  %c = exp(%b) : f32[256]
  %d = add(%b, %c) : f32[256]
  %e = greater(%d, %c) : bool[256]
  %y = where(%e, %d, %c) : f32[256]
})");
  MemoryPlan plan = PlanChecked(g);
  // %a: the operand %x is a graph input, so no in-place. %b overwrites %a (dies at step 1).
  // %c: its operand %b is read again at step 3, so %c needs its own slot. %d overwrites %b.
  // %e: bool elements are 1 byte, not 4, so it cannot overwrite an f32 operand.
  EXPECT_FALSE(Buffer(plan, "a").in_place_of_input);
  EXPECT_TRUE(Buffer(plan, "b").in_place_of_input);
  EXPECT_EQ(Buffer(plan, "b").shares_with, g.FindValue("a"));
  EXPECT_FALSE(Buffer(plan, "c").in_place_of_input);
  EXPECT_TRUE(Buffer(plan, "d").in_place_of_input);
  EXPECT_EQ(Buffer(plan, "d").shares_with, g.FindValue("b"));
  EXPECT_FALSE(Buffer(plan, "e").in_place_of_input);
  EXPECT_EQ(Buffer(plan, "e").size, 256);
  // Storages: {a,b,d} steps 0..5, {c} 2..5, {e} 4..5: 1024 + 1024 + 256 live at step 4.
  EXPECT_EQ(Buffer(plan, "a").offset, 0);
  EXPECT_EQ(Buffer(plan, "b").offset, 0);
  EXPECT_EQ(Buffer(plan, "d").offset, 0);
  EXPECT_EQ(Buffer(plan, "c").offset, 1024);
  EXPECT_EQ(Buffer(plan, "e").offset, 2048);
  EXPECT_EQ(plan.lower_bound_bytes, 2304);
  EXPECT_EQ(plan.workspace_bytes, 2304);
  EXPECT_EQ(plan.naive_bytes, 4 * 1024 + 256);
}

TEST(MemoryPlanTest, BroadcastDoesNotOverwriteASmallerOperand) {
  Graph g = ParseVerified(R"(
graph @bc(%x: f32[4,64], %s: f32[64]) -> (%y) {
  %t = neg(%s) : f32[64]
  %a = add(%x, %t) : f32[4,64]
  %y = neg(%a) : f32[4,64]
})");
  MemoryPlan plan = PlanChecked(g);
  // %t (256 B) dies at %a's step but %a is 1 KiB: it needs a slot of its own. %a is placed
  // first (largest first), %t above it.
  EXPECT_FALSE(Buffer(plan, "a").in_place_of_input);
  EXPECT_EQ(Buffer(plan, "a").offset, 0);
  EXPECT_EQ(Buffer(plan, "t").offset, 1024);
  EXPECT_EQ(plan.workspace_bytes, 1280);
}

TEST(MemoryPlanTest, ReshapeAliasesItsOperandAndExtendsItsLifetime) {
  Graph g = ParseVerified(R"(
graph @views(%x: f32[16,16]) -> (%y, %o) {
  %a = transpose(%x) {perm=[1,0]} : f32[16,16]
  %r = reshape(%a) {shape=[256]} : f32[256]
  %t = transpose(%x) {perm=[1,0]} : f32[16,16]
  %u = flatten(%t) {axis=0} : f32[1,256]
  %v = squeeze(%u) {axes=[0]} : f32[256]
  %w = reshape(%x) {shape=[256]} : f32[256]
  %o = unsqueeze(%w) {axes=[0]} : f32[1,256]
  %y = add(%r, %v) : f32[256]
})");
  MemoryPlan plan = PlanChecked(g);
  // %w and %o view the graph input %x (and %o is an output): no workspace.
  EXPECT_EQ(BufferNames(plan), (std::vector<std::string>{"a", "r", "t", "u", "v"}));
  const BufferAssignment& r = Buffer(plan, "r");
  EXPECT_TRUE(r.is_view);
  EXPECT_FALSE(r.in_place_of_input);
  EXPECT_EQ(r.shares_with, g.FindValue("a"));
  EXPECT_EQ(std::pair(r.first_use, r.last_use), std::pair(1, 7));
  EXPECT_EQ(Buffer(plan, "v").shares_with, g.FindValue("u"));
  // %a's own last use is step 1, but its view %r lives to step 7, so %t (step 2) cannot take
  // its slot.
  EXPECT_EQ(Buffer(plan, "a").offset, Buffer(plan, "r").offset);
  EXPECT_EQ(Buffer(plan, "t").offset, Buffer(plan, "u").offset);
  EXPECT_EQ(Buffer(plan, "t").offset, Buffer(plan, "v").offset);
  EXPECT_NE(Buffer(plan, "a").offset, Buffer(plan, "t").offset);
  EXPECT_EQ(plan.workspace_bytes, 2048);
  EXPECT_EQ(plan.lower_bound_bytes, 2048);
  EXPECT_EQ(plan.naive_bytes, 2048);  // views need no memory of their own
}

TEST(MemoryPlanTest, PrefixSlicesAreViews) {
  // A slice of an operand's first bytes is a view (BERT's position rows [0, S) of a table);
  // other slices copy: a start past 0, a shortened axis after one of extent > 1, two shortened
  // axes, a step.
  Graph g = ParseVerified(R"(
graph @slices(%x: f32[4,8], %p: f32[1,6,8], %q: f32[16,8]) -> (%y) where S in [1, 16] {
  %a = relu(%x) : f32[4,8]
  %rows = slice(%a) {starts=[0], ends=[2], axes=[0]} : f32[2,8]
  %flat = reshape(%rows) {shape=[16]} : f32[16]
  %later = slice(%a) {starts=[1], ends=[3], axes=[0]} : f32[2,8]
  %cols = slice(%a) {starts=[0], ends=[4], axes=[1]} : f32[4,4]
  %both = slice(%a) {starts=[0, 0], ends=[2, 4], axes=[0, 1]} : f32[2,4]
  %odd = slice(%a) {starts=[0], ends=[4], axes=[0], steps=[2]} : f32[2,8]
  %b = exp(%p) : f32[1,6,8]
  %tokens = slice(%b) {starts=[0], ends=[3], axes=[1]} : f32[1,3,8]
  %pos = slice(%q) {starts=[0], ends=[S], axes=[0]} : f32[S,8]
  %s1 = reduce_sum(%flat) {axes=[0]} : f32[]
  %s2 = reduce_sum(%later) {axes=[0, 1]} : f32[]
  %s3 = reduce_sum(%cols) {axes=[0, 1]} : f32[]
  %s4 = reduce_sum(%both) {axes=[0, 1]} : f32[]
  %s5 = reduce_sum(%odd) {axes=[0, 1]} : f32[]
  %s6 = reduce_sum(%tokens) {axes=[0, 1, 2]} : f32[]
  %s7 = reduce_sum(%pos) {axes=[0, 1]} : f32[]
  %t1 = add(%s1, %s2) : f32[]
  %t2 = add(%s3, %s4) : f32[]
  %t3 = add(%s5, %s6) : f32[]
  %t4 = add(%t1, %t2) : f32[]
  %t5 = add(%t3, %s7) : f32[]
  %y = add(%t4, %t5) : f32[]
})");
  for (const char* name : {"rows", "flat", "tokens"}) {
    EXPECT_TRUE(IsViewNode(*g.FindValue(name)->producer())) << name;
  }
  for (const char* name : {"later", "cols", "both", "odd"}) {
    EXPECT_FALSE(IsViewNode(*g.FindValue(name)->producer())) << name;
  }
  MemoryPlan plan = PlanChecked(g);
  for (const char* name : {"rows", "flat"}) {
    const BufferAssignment& v = Buffer(plan, name);
    EXPECT_TRUE(v.is_view) << name;
    EXPECT_EQ(v.offset, Buffer(plan, "a").offset) << name;
  }
  EXPECT_EQ(Buffer(plan, "tokens").shares_with, g.FindValue("b"));
  EXPECT_FALSE(Buffer(plan, "later").is_view);
  // %pos views the graph input %q: no workspace of its own.
  for (const std::string& name : BufferNames(plan)) EXPECT_NE(name, "pos");
  // A prefix view shares its operand's storage, so its size may be below it, not above.
  MemoryPlan bad = plan;
  MutableBuffer(bad, "later").is_view = true;
  MutableBuffer(bad, "later").shares_with = g.FindValue("a");
  MutableBuffer(bad, "later").offset = Buffer(plan, "a").offset;
  EXPECT_FALSE(CheckPlan(g, bad).ok());
}

TEST(MemoryPlanTest, SplitOutputsAndAnUnusedValue) {
  Graph g = ParseVerified(R"(
graph @split(%x: f32[512]) -> (%y) {
  %p, %q, %z = split(%x) {axis=0, sizes=[256,128,128]} : f32[256], f32[128], f32[128]
  %r = softmax(%p) : f32[256]
  %s = softmax(%r) : f32[256]
  %y = concat(%s, %q) {axis=0} : f32[384]
})");
  MemoryPlan plan = PlanChecked(g);
  // All three split outputs are born at step 0; %z is never used, so it lives at step 0 only.
  const BufferAssignment& z = Buffer(plan, "z");
  EXPECT_EQ(std::pair(z.first_use, z.last_use), std::pair(0, 0));
  EXPECT_EQ(std::pair(Buffer(plan, "q").first_use, Buffer(plan, "q").last_use), std::pair(0, 3));
  // Live bytes: step 0 p+q+z = 2048, step 1 p+q+r = 2560, step 2 q+r+s = 2560, step 3 q+s.
  EXPECT_EQ(plan.lower_bound_bytes, 2560);
  // Largest first: %p 0, %r 1024 (meets %p), %s 0 (meets only %r); then %q (meets all three)
  // at 2048 and %z (meets %p and %q) in the gap at 1024.
  EXPECT_EQ(Buffer(plan, "p").offset, 0);
  EXPECT_EQ(Buffer(plan, "r").offset, 1024);
  EXPECT_EQ(Buffer(plan, "s").offset, 0);
  EXPECT_EQ(Buffer(plan, "q").offset, 2048);
  EXPECT_EQ(z.offset, 1024);
  EXPECT_EQ(plan.workspace_bytes, 2560);
  EXPECT_EQ(plan.naive_bytes, 3 * 1024 + 2 * 512);
}

constexpr const char* kSymbolic = R"(
graph @sym(%x: f32[N,64]) -> (%y) where N in [1, 8] {
  %a = transpose(%x) {perm=[1,0]} : f32[64,N]
  %b = softmax(%a) : f32[64,N]
  %y = transpose(%b) {perm=[1,0]} : f32[N,64]
})";

TEST(MemoryPlanTest, SymbolsDefaultToTheirRangeMaximum) {
  Graph g = ParseVerified(kSymbolic);
  PlanOptions static_offsets;
  static_offsets.scale = false;
  MemoryPlan plan = PlanChecked(g, static_offsets);
  EXPECT_EQ(plan.bindings, (SymbolBindings{{"N", 8}}));
  EXPECT_EQ(plan.scale_symbol, "");
  EXPECT_EQ(Buffer(plan, "a").size, 64 * 8 * 4);
  EXPECT_EQ(Buffer(plan, "b").offset, 2048);
  EXPECT_EQ(Buffer(plan, "b").offset_per_unit, 0);
  EXPECT_EQ(plan.workspace_bytes, 4096);
}

TEST(MemoryPlanTest, WorkspaceScalesWithASymbolEveryBufferIsProportionalTo) {
  Graph g = ParseVerified(kSymbolic);
  MemoryPlan plan = PlanChecked(g);  // also checks the plan at N = 1, 4 and 8
  EXPECT_EQ(plan.scale_symbol, "N");
  EXPECT_EQ(plan.bindings, (SymbolBindings{{"N", 8}}));
  // One unit of N: a and b are 64 floats each, 256 bytes apart.
  EXPECT_EQ(plan.unit_bytes, 512);
  EXPECT_EQ(plan.fixed_bytes, 0);
  EXPECT_EQ(plan.workspace_bytes, 4096);  // at N = 8, as the static plan
  EXPECT_EQ(plan.WorkspaceBytesAt(1), 512);
  EXPECT_EQ(plan.WorkspaceBytesAt(3), 1536);
  EXPECT_EQ(Buffer(plan, "a").offset, 0);
  EXPECT_EQ(Buffer(plan, "a").offset_per_unit + Buffer(plan, "b").offset_per_unit, 256);
  StatusOr<MemoryPlan> at3 = plan.At(3);
  ASSERT_TRUE(at3.ok()) << at3.status().ToString();
  EXPECT_EQ(at3->scale_symbol, "");
  EXPECT_EQ(at3->bindings, (SymbolBindings{{"N", 3}}));
  EXPECT_EQ(at3->workspace_bytes, 1536);
  EXPECT_EQ(Buffer(*at3, "a").size, 64 * 3 * 4);
  EXPECT_EQ(Buffer(*at3, "a").offset + Buffer(*at3, "b").offset, 768);
  EXPECT_TRUE(CheckPlan(g, *at3).ok());
  EXPECT_NE(FormatPlanSummary(plan).find("; a run takes 512 B per unit of N"), std::string::npos)
      << FormatPlanSummary(plan);
  // A bound symbol does not scale.
  EXPECT_EQ(PlanChecked(g, {.bindings = {{"N", 8}}}).scale_symbol, "");
}

TEST(MemoryPlanTest, BuffersThatDoNotDependOnTheSymbolGoAfterTheScaledOnes) {
  // %c depends on S only: it is placed after N units, at an offset that moves with N.
  Graph g = ParseVerified(R"(
graph @mixed(%x: f32[N,S,16], %p: f32[S,16]) -> (%y) where N in [1, 64], S in [4, 8] {
  %a = relu(%x) : f32[N,S,16]
  %c = exp(%p) : f32[S,16]
  %b = add(%a, %c) : f32[N,S,16]
  %y = relu(%b) : f32[N,S,16]
})");
  MemoryPlan plan = PlanChecked(g);
  EXPECT_EQ(plan.scale_symbol, "N");  // S only spans a factor of 2
  EXPECT_EQ(plan.unit_bytes, 512);     // %a (and %b in place of it): 8 x 16 floats
  EXPECT_EQ(plan.fixed_bytes, 512);    // %c
  EXPECT_EQ(Buffer(plan, "c").offset, 0);
  EXPECT_EQ(Buffer(plan, "c").offset_per_unit, 512);
  EXPECT_EQ(plan.WorkspaceBytesAt(5), 5 * 512 + 512);
  for (int64_t n : {1, 2, 17, 64}) {
    StatusOr<MemoryPlan> at = plan.At(n);
    ASSERT_TRUE(at.ok());
    EXPECT_TRUE(CheckPlan(g, *at).ok()) << "N = " << n;
  }
}

TEST(MemoryPlanTest, NoScalingWhereABufferGrowsOtherwise) {
  // %o is N x N: not proportional to N, so the offsets stay static.
  Graph g = ParseVerified(R"(
graph @outer(%x: f32[N,1], %y: f32[1,N]) -> (%z) where N in [1, 16] {
  %o = mul(%x, %y) : f32[N,N]
  %z = relu(%o) : f32[N,N]
})");
  EXPECT_EQ(PlanChecked(g).scale_symbol, "");
}

TEST(MemoryPlanTest, GivenBindingsOverrideTheMaximum) {
  Graph g = ParseVerified(kSymbolic);
  MemoryPlan plan = PlanChecked(g, {.bindings = {{"N", 3}}});
  EXPECT_EQ(plan.bindings, (SymbolBindings{{"N", 3}}));
  EXPECT_EQ(Buffer(plan, "a").size, 768);
  EXPECT_EQ(Buffer(plan, "b").offset, 768);
  EXPECT_EQ(plan.workspace_bytes, 1536);

  StatusOr<MemoryPlan> out_of_range = PlanMemory(g, {.bindings = {{"N", 9}}});
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_EQ(out_of_range.status().message(),
            "memory plan: symbol N = 9 is outside its range [1, 8]");
  StatusOr<MemoryPlan> unknown = PlanMemory(g, {.bindings = {{"S", 4}}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(),
            "memory plan: binding for unknown symbol 'S' (graph @sym has: N)");
}

TEST(MemoryPlanTest, OffsetsAreAligned) {
  // 10x10 f32 = 400 bytes: 512 per slot at the default 256 B alignment, 448 at 64 B.
  Graph g = ParseVerified(R"(
graph @odd(%x: f32[10,10]) -> (%y) {
  %a = transpose(%x) {perm=[1,0]} : f32[10,10]
  %b = transpose(%a) {perm=[1,0]} : f32[10,10]
  %c = transpose(%b) {perm=[1,0]} : f32[10,10]
  %y = transpose(%c) {perm=[1,0]} : f32[10,10]
})");
  MemoryPlan plan = PlanChecked(g);
  EXPECT_EQ(Buffer(plan, "a").size, 400);
  EXPECT_EQ(Buffer(plan, "b").offset, 512);
  EXPECT_EQ(plan.workspace_bytes, 1024);
  EXPECT_EQ(plan.naive_bytes, 1536);
  EXPECT_EQ(plan.alignment, 256);

  PlanOptions align64;
  align64.alignment = 64;
  MemoryPlan plan64 = PlanChecked(g, align64);
  EXPECT_EQ(Buffer(plan64, "b").offset, 448);
  EXPECT_EQ(plan64.workspace_bytes, 896);

  PlanOptions align100;
  align100.alignment = 100;
  StatusOr<MemoryPlan> bad = PlanMemory(g, align100);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "memory plan: alignment must be a power of two, got 100");
}

TEST(MemoryPlanTest, CheckPlanCatchesCorruptPlans) {
  Graph g = ParseVerified(kChain);
  const MemoryPlan good = PlanChecked(g);

  MemoryPlan overlap = good;
  MutableBuffer(overlap, "c").offset = 1024;  // onto %b, which is still read at step 2
  Status s = CheckPlan(g, overlap);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("%b [1024, 2048) at steps 1..2"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("%c [1024, 2048) at steps 2..3"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("overlap in memory while both are live"), std::string::npos);

  MemoryPlan partial = good;
  MutableBuffer(partial, "c").offset = 512;  // straddles %b's slot
  EXPECT_FALSE(CheckPlan(g, partial).ok());

  MemoryPlan misaligned = good;
  MutableBuffer(misaligned, "b").offset = 1000;
  EXPECT_EQ(CheckPlan(g, misaligned).message(),
            "memory plan: %b [1000, 2024) at steps 1..2 is not aligned to 256 bytes");

  MemoryPlan too_small = good;
  too_small.workspace_bytes = 1024;
  EXPECT_EQ(CheckPlan(g, too_small).message(),
            "memory plan: %b [1024, 2048) at steps 1..2 ends past the workspace of 1024 bytes");

  MemoryPlan short_life = good;
  MutableBuffer(short_life, "b").last_use = 1;  // %b is read at step 2
  EXPECT_EQ(CheckPlan(g, short_life).message(),
            "memory plan: %b [1024, 2048) at steps 1..1 does not cover its lifetime, steps 1..2");

  MemoryPlan missing = good;
  missing.buffers.pop_back();
  EXPECT_EQ(CheckPlan(g, missing).message(), "memory plan: %c has no buffer");

  // A transpose cannot run in place, even over a dead operand.
  MemoryPlan bad_in_place = good;
  BufferAssignment& c = MutableBuffer(bad_in_place, "c");
  c.in_place_of_input = true;
  c.shares_with = g.FindValue("b");
  c.offset = 1024;
  EXPECT_EQ(CheckPlan(g, bad_in_place).message(),
            "memory plan: %c [1024, 2048) at steps 2..3 cannot share memory with %b "
            "(transpose)");
}

TEST(MemoryPlanTest, CheckPlanRejectsInPlaceOverALiveOperand) {
  Graph g = ParseVerified(R"(
graph @live(%x: f32[256]) -> (%y) {
  %a = exp(%x) : f32[256]
  %b = neg(%a) : f32[256]
  %y = add(%a, %b) : f32[256]
})");
  MemoryPlan plan = PlanChecked(g);
  EXPECT_FALSE(Buffer(plan, "b").in_place_of_input);  // %a is read again at step 2
  BufferAssignment& b = MutableBuffer(plan, "b");
  b.in_place_of_input = true;
  b.shares_with = g.FindValue("a");
  b.offset = Buffer(plan, "a").offset;
  Status s = CheckPlan(g, plan);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("overlap in memory while both are live"), std::string::npos)
      << s.message();
}

// Runs `kiln ARGS` and returns its stderr (stdout discarded); *exit_code gets the exit status.
std::string RunKilnStderr(const std::string& args, int* exit_code) {
  std::string cmd = std::string(KILN_BINARY_DIR) + "/kiln " + args + " 2>&1 >/dev/null";
  FILE* pipe = popen(cmd.c_str(), "r");
  EXPECT_NE(pipe, nullptr) << cmd;
  if (pipe == nullptr) return "";
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) text.append(buf, n);
  int status = pclose(pipe);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return text;
}

TEST(MemoryPlanTest, OptPlanFlagPrintsTheSummaryToStderr) {
  std::filesystem::path path = std::filesystem::path(::testing::TempDir()) /
                               ("kiln_plan_chain_" + std::to_string(getpid()) + ".kir");
  std::ofstream(path) << kChain;
  int exit_code = -1;
  std::string err = RunKilnStderr("opt " + path.string() + " --plan", &exit_code);
  EXPECT_EQ(exit_code, 0) << err;
  EXPECT_EQ(err,
            "memory plan: workspace 2.0 KiB (naive 3.0 KiB, peak-live lower bound 2.0 KiB, "
            "1.00x of the bound), 3 buffers\n");
  std::filesystem::remove(path);
}

// Every zoo model at full size after the default pipeline, static (batch 1, BERT seq 128) and
// symbolic (planned at the range maxima): the plan checks out and stays within 1.15x of the
// peak-live lower bound.
TEST(MemoryPlanTest, ZooModelsPlanNearTheLowerBound) {
  for (const ZooEntry& entry : ZooModels()) {
    for (bool symbolic : {false, true}) {
      ZooOptions options;
      if (!symbolic) {
        options.batch = 1;
        options.seq = 128;
      }
      StatusOr<Graph> g = BuildZooModel(entry.name, options);
      ASSERT_TRUE(g.ok()) << entry.name << ": " << g.status().ToString();
      StatusOr<bool> changed = DefaultPipeline().Run(*g, {.verify_each = true, .dump_dir = ""});
      ASSERT_TRUE(changed.ok()) << entry.name << ": " << changed.status().ToString();
      SCOPED_TRACE(entry.name + (symbolic ? " (symbolic)" : " (static)"));
      MemoryPlan plan = PlanChecked(*g);
      ASSERT_GT(plan.lower_bound_bytes, 0);
      EXPECT_LE(plan.lower_bound_bytes, plan.workspace_bytes);
      EXPECT_LE(plan.workspace_bytes, plan.naive_bytes);
      EXPECT_LE(static_cast<double>(plan.workspace_bytes),
                1.15 * static_cast<double>(plan.lower_bound_bytes))
          << FormatPlanSummary(plan);
      std::printf("  %-9s %-8s %s\n", entry.name.c_str(), symbolic ? "symbolic" : "static",
                  FormatPlanSummary(plan).c_str());
    }
  }
}

}  // namespace
}  // namespace kiln
