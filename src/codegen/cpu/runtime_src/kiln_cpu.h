// The CPU kernel library that generated CPU modules call (namespace kiln_cpu).
//
// These sources ship with kiln and are compiled into every CPU model library (`kiln compile
// --target cpu` builds them once per toolchain and caches the objects). Generated code calls them
// with the shapes and attributes of one node baked in as constants; the heavy lifting (gemm) goes
// to oneDNN's dnnl_sgemm.
//
// Conventions, shared by every family header included below:
// - Plain functions on raw pointers; sizes are int64_t; tensors are dense row-major unless a
//   stride argument says otherwise. Outputs never alias inputs unless a function says so.
// - f32 compute (the CPU target's main dtype); integer tensors only where an op needs them
//   (indices, masks). No allocation except where documented (scratch via std::vector).
// - Scalar helpers (Relu, Gelu, GeluTanh, Sigmoid, FMax, f16/bf16 conversion, wrap-around integer
//   math) live in kiln_scalar.h (src/codegen/runtime_src, shared with the CUDA target) with the reference ops' exact semantics (relu keeps NaN);
//   family headers include it rather than defining their own.
// - Self-contained: only the C++ standard library, OpenMP and oneDNN's C API (<oneapi/dnnl/dnnl.h>); nothing from kiln's own src/
//   (a model library must build from these files alone).
#ifndef KILN_CPU_H_
#define KILN_CPU_H_

#include <cstdint>

#include "kiln_cpu_attention.h"
#include "kiln_cpu_conv.h"
#include "kiln_cpu_gemm.h"
#include "kiln_cpu_layout.h"
#include "kiln_cpu_norm.h"
#include "kiln_cpu_pool.h"
#include "kiln_scalar.h"

#endif  // KILN_CPU_H_
