/* The C ABI of a compiled kiln model library (a "module").
 *
 * `kiln compile` turns a model into a shared library that exports exactly the functions below,
 * plus a `.safetensors` weights file beside it (or weights embedded in the library). The runtime
 * (include/kiln/module.h) dlopen()s the library, checks kiln_module_abi_version() and talks to it
 * only through these functions, so a library built by one kiln can be loaded by another as long
 * as the ABI version matches. The header is plain C so that any language can load a module.
 *
 * Rules every module library follows:
 * - No C++ exception crosses this boundary: every function catches everything and reports it as
 *   an error code (std::bad_alloc as KILN_ERR_OUT_OF_MEMORY, anything else KILN_ERR_INTERNAL).
 * - Functions returning `int` return KILN_OK (0) or a KILN_ERR_* code; on an error they store a
 *   message for kiln_last_error() on the calling thread and leave their out-parameters untouched.
 * - Every string and array the library hands out (names, dims, targets, messages) is owned by the
 *   library: the caller never frees it. Module-level data (kiln_module_*) stays valid until the
 *   library is unloaded; the kiln_last_error() text until the next ABI call on the same thread.
 * - Thread safety: kiln_module_* query functions and kiln_last_error() may be called from any
 *   thread at any time. An instance is used by one thread (and one stream) at a time; several
 *   instances of one module may be created, run and destroyed concurrently from different threads.
 * - Tensors are dense, row-major (C order) and have the dtype and shape declared for them. On a
 *   "cpu" target the pointers are host pointers; on a "cuda-*" target they are device pointers,
 *   except for kiln_instance_run_host, which takes host pointers on every target.
 */
#ifndef KILN_MODULE_ABI_H_
#define KILN_MODULE_ABI_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header describes. Bump it on any incompatible change to the functions,
 * structs, codes or semantics below; the runtime refuses a library built for another version. */
#define KILN_MODULE_ABI_VERSION 1

/* Marks the ABI functions exported from a module library built with -fvisibility=hidden. */
#if defined(_WIN32)
#define KILN_MODULE_EXPORT __declspec(dllexport)
#else
#define KILN_MODULE_EXPORT __attribute__((visibility("default")))
#endif

/* Error codes. 1..6 have the numbers of kiln::StatusCode (include/kiln/status.h). */
#define KILN_OK 0
#define KILN_ERR_INVALID_ARGUMENT 1 /* bad argument: null pointer, index, dtype, shape, weights */
#define KILN_ERR_NOT_FOUND 2        /* missing file or tensor (e.g. the weights file) */
#define KILN_ERR_UNIMPLEMENTED 3    /* valid but unsupported by this library */
#define KILN_ERR_OUT_OF_RANGE 4     /* a dynamic dim outside its declared [min, max] */
#define KILN_ERR_INTERNAL 5         /* a bug or an unexpected failure inside the library */
#define KILN_ERR_PARSE 6            /* malformed file (e.g. a corrupt weights file) */
#define KILN_ERR_OUT_OF_MEMORY 7    /* host or device allocation failed */
#define KILN_ERR_CUDA 8             /* a CUDA runtime/driver call failed */

/* Element types, in the order of kiln::DType (src/support/dtype.h). */
#define KILN_DTYPE_F32 0
#define KILN_DTYPE_F16 1
#define KILN_DTYPE_BF16 2
#define KILN_DTYPE_I64 3
#define KILN_DTYPE_I32 4
#define KILN_DTYPE_I8 5
#define KILN_DTYPE_U8 6
#define KILN_DTYPE_BOOL 7
#define KILN_DTYPE_F8E4M3 8
#define KILN_DTYPE_F8E5M2 9

/* An instance: the module's weights bound to memory plus its workspace and dynamic dims. */
typedef struct kiln_module_instance* kiln_instance_t;

/* Describes one input or output. All pointers are owned by the library. */
typedef struct kiln_io_info {
  const char* name;             /* the graph's value name, e.g. "x" */
  int dtype;                    /* KILN_DTYPE_* */
  int rank;                     /* number of dims; dims/dim_exprs have `rank` entries */
  const int64_t* dims;          /* static size, or -1 where the dim is symbolic */
  const char* const* dim_exprs; /* per dim: NULL for a static dim, else kiln's canonical text of
                                   an integer polynomial over the symbols ("N", "S*12",
                                   "N*S*12+3", "seq-1": terms joined by + and -, each a product
                                   of an integer and symbol names joined by *, no parentheses) */
} kiln_io_info;

/* Returns KILN_MODULE_ABI_VERSION as the library was built with. The first call a loader makes;
 * nothing else may be called when it differs from the loader's version. */
KILN_MODULE_EXPORT uint32_t kiln_module_abi_version(void);

/* The target the library was compiled for: "cpu", "cuda-sm90", "cuda-sm80". */
KILN_MODULE_EXPORT const char* kiln_module_target(void);

/* Number of inputs / outputs of the model. */
KILN_MODULE_EXPORT int kiln_module_num_inputs(void);
KILN_MODULE_EXPORT int kiln_module_num_outputs(void);

/* Fills `*info` for input (is_output == 0) or output (is_output != 0) `index`.
 * KILN_ERR_OUT_OF_RANGE for a bad index, KILN_ERR_INVALID_ARGUMENT for a null `info`. */
KILN_MODULE_EXPORT int kiln_module_io_info(int is_output, int index, kiln_io_info* info);

/* Number of dynamic-dim symbols, and the name and inclusive range of symbol `i`. The symbol
 * order is the order of the values passed to kiln_instance_set_dims. */
KILN_MODULE_EXPORT int kiln_module_num_symbols(void);
KILN_MODULE_EXPORT int kiln_module_symbol_info(int i, const char** name, int64_t* min,
                                               int64_t* max);

/* Creates an instance: loads and checks the weights (names, dtypes, shapes) from the safetensors
 * file `weights_path` and allocates what the instance needs. `weights_path` may be NULL only for
 * a library with embedded weights or none. On success `*out` owns the instance, to be freed with
 * kiln_instance_destroy; on failure `*out` is untouched. */
KILN_MODULE_EXPORT int kiln_instance_create(const char* weights_path, kiln_instance_t* out);

/* Frees an instance and everything it owns. NULL is a no-op. The instance must not be running. */
KILN_MODULE_EXPORT void kiln_instance_destroy(kiln_instance_t instance);

/* Binds the dynamic dims for the following runs: `symbol_values` has kiln_module_num_symbols()
 * entries in symbol order (NULL when there are none). KILN_ERR_OUT_OF_RANGE when a value is
 * outside its range; the previous binding is kept then. Must be called before output_shape/run
 * when the module has symbols. */
KILN_MODULE_EXPORT int kiln_instance_set_dims(kiln_instance_t instance,
                                              const int64_t* symbol_values);

/* Writes the concrete shape of output `index` under the current dims into `dims` (room for its
 * rank). KILN_ERR_INVALID_ARGUMENT when symbols exist and set_dims was not called yet. */
KILN_MODULE_EXPORT int kiln_instance_output_shape(kiln_instance_t instance, int index,
                                                  int64_t* dims);

/* Runs the model under the current dims. `inputs` has kiln_module_num_inputs() pointers to data
 * of the declared dtype and shape; `outputs` has kiln_module_num_outputs() pointers to
 * caller-allocated buffers of the shape kiln_instance_output_shape reports. Outputs must not
 * alias inputs. `stream` is a cudaStream_t on a CUDA target (NULL: the default stream; the call
 * returns once the work is enqueued) and must be NULL on the cpu target (the call returns when
 * the outputs are written). The caller keeps ownership of every buffer. A library whose
 * workspace scales with a dynamic batch (`kiln info` says so) allocates it at the first run and
 * again, larger, at the first run with a larger batch: that run waits for the device's queued
 * work and cannot be captured into a CUDA graph by the caller (run once outside the capture
 * first, as CUDA-graph capture usually requires anyway). */
KILN_MODULE_EXPORT int kiln_instance_run(kiln_instance_t instance, const void* const* inputs,
                                         void* const* outputs, void* stream);

/* Runs the model under the current dims on HOST memory, on any target, and returns once the
 * outputs are written. `inputs` and `outputs` are as for kiln_instance_run but always host
 * pointers. On the cpu target this is kiln_instance_run with a NULL stream; on a CUDA target the
 * library copies the inputs into device buffers the instance owns (allocated on first use, grown
 * when a run needs more, kept between runs), runs on a stream the instance owns, copies the
 * outputs back and synchronises. CUDA failures (including no usable GPU) return KILN_ERR_CUDA,
 * failed device allocations KILN_ERR_OUT_OF_MEMORY, with the failing step in kiln_last_error().
 * Optional within ABI version 1: libraries from kilns before it lack the symbol, and loaders
 * must treat it as absent (kiln's runtime then runs cpu libraries through kiln_instance_run and
 * reports host runs of CUDA libraries as unimplemented). */
KILN_MODULE_EXPORT int kiln_instance_run_host(kiln_instance_t instance, const void* const* inputs,
                                              void* const* outputs);

/* The message of the last failed call on this thread ("" when none). */
KILN_MODULE_EXPORT const char* kiln_last_error(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KILN_MODULE_ABI_H_ */
