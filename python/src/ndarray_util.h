// DLPack tensors (nanobind ndarrays: numpy arrays, PyTorch tensors, anything with __dlpack__)
// seen as kiln tensors without copying, and kiln tensors handed to Python as numpy arrays.
#ifndef KILN_PYTHON_NDARRAY_UTIL_H_
#define KILN_PYTHON_NDARRAY_UTIL_H_

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <optional>
#include <string>
#include <vector>

#include "support/dtype.h"
#include "support/tensor.h"

namespace kiln::python {

/// Any DLPack tensor, read-only view (writable ones convert to it).
using RoArray = nanobind::ndarray<nanobind::ro>;

/// The kiln dtype of a DLPack dtype; nullopt for one kiln has no counterpart for.
std::optional<DType> DTypeOf(nanobind::dlpack::dtype dtype);
/// "float32", "int64", ... for messages about dtypes kiln does not know.
std::string DLPackDTypeName(nanobind::dlpack::dtype dtype);

/// "cpu", "cuda:0", ...
std::string DeviceName(const RoArray& array);

/// The shape of `array`.
std::vector<int64_t> ShapeOf(const RoArray& array);

/// True when `array` is dense row-major (C-contiguous); dims of size 1 may have any stride.
bool IsRowMajor(const RoArray& array);

/// A borrowed kiln Tensor over `array`'s memory (host memory only for reading its values; for a
/// device array only the dtype, shape and pointer are meaningful). ValueError (naming `what`)
/// for a dtype kiln does not have or a strided array.
Tensor BorrowTensor(const RoArray& array, const std::string& what);

/// A numpy array that owns `tensor` (moved; no copy).
nanobind::object ToNumpy(Tensor tensor);

}  // namespace kiln::python

#endif  // KILN_PYTHON_NDARRAY_UTIL_H_
