// kiln._kiln.Module: a loaded model library (include/kiln/module.h) with one Instance, called on
// DLPack tensors without copying them.
//
// Module.run(inputs, outputs, stream, alloc) binds the dynamic dims from the input shapes, takes
// each output from `outputs` (the caller's out= tensors, checked) or from alloc(shape, dtype)
// (the Python layer allocates in the caller's framework: numpy.empty or torch.empty), and runs
// the library on the tensors' own memory. The CUDA stream is the caller's (an integer
// cudaStream_t, 0 for the default stream). One run at a time per Module (a mutex); the GIL is
// released while the library runs.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "errors.h"
#include "kiln/module.h"
#include "ndarray_util.h"

namespace nb = nanobind;

namespace kiln::python {
namespace {

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

// One input or output as Python sees it: name, dtype name, dims (int or symbol expression).
nb::dict IoDict(const IoInfo& io) {
  nb::dict d;
  d["name"] = io.name;
  d["dtype"] = std::string(DTypeName(io.dtype));
  nb::list shape;
  for (size_t i = 0; i < io.dims.size(); ++i) {
    if (io.static_dims[i] >= 0) {
      shape.append(io.static_dims[i]);
    } else {
      shape.append(io.dims[i]);
    }
  }
  d["shape"] = nb::tuple(shape);
  return d;
}

class PyModule {
 public:
  PyModule(const std::string& path, const std::string& weights_path) {
    module_ = ValueOrThrow(Module::Load(path));
    instance_ = ValueOrThrow(module_->CreateInstance(weights_path));
  }

  const Module& module() const { return *module_; }

  nb::list Run(const nb::list& inputs, const nb::list& outputs, uintptr_t stream,
               const nb::callable& alloc) {
    const Module& m = *module_;
    const bool cpu = m.target() == "cpu";
    if (nb::len(inputs) != m.inputs().size()) {
      std::string names;
      for (const IoInfo& io : m.inputs()) names += (names.empty() ? "" : ", ") + io.name;
      throw nb::value_error(("module takes " + std::to_string(m.inputs().size()) + " inputs (" +
                             names + "), got " + std::to_string(nb::len(inputs)))
                                .c_str());
    }
    if (nb::len(outputs) != m.outputs().size()) {
      throw nb::value_error(("module has " + std::to_string(m.outputs().size()) +
                             " outputs, out= gives " + std::to_string(nb::len(outputs)))
                                .c_str());
    }
    std::vector<RoArray> in_arrays;
    std::vector<Tensor> in_tensors;
    int cuda_device = -1;
    // Checks that `array` lives where the target computes (and on one CUDA device throughout).
    auto check_device = [&](const RoArray& array, const std::string& what) {
      if (cpu) {
        if (array.device_type() != nb::device::cpu::value) {
          throw nb::value_error((what + ": the module targets cpu, but the tensor is on " +
                                 DeviceName(array) + "; move it to the CPU first")
                                    .c_str());
        }
        return;
      }
      if (array.device_type() != nb::device::cuda::value) {
        throw nb::value_error((what + ": the module targets " + m.target() +
                               ", but the tensor is on " + DeviceName(array) +
                               "; move it to a CUDA device first")
                                  .c_str());
      }
      if (cuda_device < 0) cuda_device = array.device_id();
      if (array.device_id() != cuda_device) {
        throw nb::value_error((what + ": on " + DeviceName(array) +
                               " but the other tensors are on cuda:" + std::to_string(cuda_device))
                                  .c_str());
      }
    };
    for (size_t i = 0; i < m.inputs().size(); ++i) {
      std::string what = "input " + m.inputs()[i].name;
      RoArray array;
      if (!nb::try_cast(inputs[i], array, /*convert=*/false)) {
        throw nb::type_error((what +
                              ": expected a tensor (numpy array, torch.Tensor or any "
                              "DLPack tensor), got " +
                              std::string(nb::type_name(inputs[i].type()).c_str()))
                                 .c_str());
      }
      check_device(array, what);
      if (!DTypeOf(array.dtype())) {
        throw nb::value_error((what + ": expected dtype " +
                               std::string(DTypeName(m.inputs()[i].dtype)) + ", got " +
                               DLPackDTypeName(array.dtype()) + " (which kiln does not have)")
                                  .c_str());
      }
      in_tensors.push_back(BorrowTensor(array, what));
      in_arrays.push_back(std::move(array));
    }

    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<int64_t> dims = ValueOrThrow(instance_->BindDims(in_tensors));
    ThrowIfError(instance_->SetDims(dims));
    nb::list results;
    std::vector<nb::ndarray<>> out_arrays;
    for (size_t k = 0; k < m.outputs().size(); ++k) {
      const IoInfo& io = m.outputs()[k];
      std::vector<int64_t> shape = ValueOrThrow(instance_->OutputShape(static_cast<int>(k)));
      std::string dtype(DTypeName(io.dtype));
      nb::object object = outputs[k];
      bool given = !object.is_none();
      std::string what =
          given ? "out[" + std::to_string(k) + "] (output " + io.name + ")" : "output " + io.name;
      if (!given) {
        nb::list shape_list;
        for (int64_t d : shape) shape_list.append(d);
        object = alloc(nb::tuple(shape_list), dtype);
      }
      nb::ndarray<> array;
      if (!nb::try_cast(object, array, /*convert=*/false)) {
        throw nb::type_error((what + ": expected a writable tensor, got " +
                              std::string(nb::type_name(object.type()).c_str()))
                                 .c_str());
      }
      RoArray view(array);
      check_device(view, what);
      Tensor t = BorrowTensor(view, what);
      if (t.dtype() != io.dtype || t.shape() != shape) {
        throw nb::value_error(
            (what + ": expected " + dtype + ShapeText(shape) + ", got " + t.TypeString()).c_str());
      }
      results.append(object);
      out_arrays.push_back(std::move(array));
    }
    std::vector<const void*> in_ptrs;
    for (const auto& a : in_arrays) in_ptrs.push_back(a.data());
    std::vector<void*> out_ptrs;
    for (const auto& a : out_arrays) out_ptrs.push_back(a.data());
    last_inputs_.assign(in_ptrs.begin(), in_ptrs.end());
    last_outputs_.assign(out_ptrs.begin(), out_ptrs.end());
    Status status;
    {
      nb::gil_scoped_release release;
      status = instance_->RunRaw(in_ptrs, out_ptrs, reinterpret_cast<void*>(stream));
    }
    ThrowIfError(status);
    return results;
  }

  std::pair<std::vector<uintptr_t>, std::vector<uintptr_t>> LastPointers() const {
    std::vector<uintptr_t> in, out;
    for (const void* p : last_inputs_) in.push_back(reinterpret_cast<uintptr_t>(p));
    for (const void* p : last_outputs_) out.push_back(reinterpret_cast<uintptr_t>(p));
    return {in, out};
  }

 private:
  std::shared_ptr<Module> module_;
  std::unique_ptr<Instance> instance_;
  std::mutex mutex_;
  std::vector<const void*> last_inputs_;
  std::vector<const void*> last_outputs_;
};

}  // namespace

void BindModule(nb::module_& m) {
  nb::class_<PyModule>(m, "Module",
                       "A compiled kiln model library with its weights (one instance).")
      .def(nb::init<const std::string&, const std::string&>(), nb::arg("path"),
           nb::arg("weights_path") = "",
           "Loads the library at `path` with the weights in the safetensors file `weights_path` "
           "(empty: the library's embedded weights).")
      .def_prop_ro("path", [](const PyModule& p) { return p.module().path(); })
      .def_prop_ro("target", [](const PyModule& p) { return p.module().target(); })
      .def_prop_ro("inputs",
                   [](const PyModule& p) {
                     nb::list l;
                     for (const IoInfo& io : p.module().inputs()) l.append(IoDict(io));
                     return l;
                   })
      .def_prop_ro("outputs",
                   [](const PyModule& p) {
                     nb::list l;
                     for (const IoInfo& io : p.module().outputs()) l.append(IoDict(io));
                     return l;
                   })
      .def_prop_ro("symbols",
                   [](const PyModule& p) {
                     nb::dict d;
                     for (const SymbolInfo& s : p.module().symbols()) {
                       d[s.name.c_str()] = nb::make_tuple(s.min, s.max);
                     }
                     return d;
                   })
      .def("run", &PyModule::Run, nb::arg("inputs"), nb::arg("outputs"), nb::arg("stream"),
           nb::arg("alloc"),
           "Runs on `inputs` (tensors in input order); outputs[k] is a tensor to write output k "
           "into or None to take it from alloc(shape, dtype_name). Returns the output tensors.")
      .def("last_pointers", &PyModule::LastPointers,
           "The data pointers (inputs, outputs) of the last run: shows that no copies were made.");
}

}  // namespace kiln::python
