// The extension module kiln._kiln: Module (module_binding.cc), compile and reference_eval
// (compile_binding.cc). The Python package kiln (python/kiln) wraps it.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include "ir/op_registry.h"
#include "kiln/module_abi.h"

namespace nb = nanobind;

namespace kiln::python {
void BindModule(nb::module_& m);
void BindCompile(nb::module_& m);
}  // namespace kiln::python

NB_MODULE(_kiln, m) {
  m.doc() = "kiln's C++ core: compile models, load and run compiled model libraries.";
  kiln::RegisterAllOps();  // the op registry, once per process (like kiln_main.cc)
  m.attr("ABI_VERSION") = KILN_MODULE_ABI_VERSION;
  kiln::python::BindModule(m);
  kiln::python::BindCompile(m);
}
