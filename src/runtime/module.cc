// Module: dlopen()s a kiln model library and reads its interface through the C ABI.
#include "kiln/module.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "runtime/dim_expr.h"

namespace kiln {

static_assert(KILN_ERR_INVALID_ARGUMENT == static_cast<int>(StatusCode::kInvalidArgument));
static_assert(KILN_ERR_NOT_FOUND == static_cast<int>(StatusCode::kNotFound));
static_assert(KILN_ERR_UNIMPLEMENTED == static_cast<int>(StatusCode::kUnimplemented));
static_assert(KILN_ERR_OUT_OF_RANGE == static_cast<int>(StatusCode::kOutOfRange));
static_assert(KILN_ERR_INTERNAL == static_cast<int>(StatusCode::kInternal));
static_assert(KILN_ERR_PARSE == static_cast<int>(StatusCode::kParseError));
static_assert(KILN_ERR_OUT_OF_MEMORY == static_cast<int>(StatusCode::kOutOfMemory));
static_assert(KILN_ERR_CUDA == static_cast<int>(StatusCode::kCuda));
static_assert(KILN_DTYPE_F32 == static_cast<int>(DType::kF32));
static_assert(KILN_DTYPE_F16 == static_cast<int>(DType::kF16));
static_assert(KILN_DTYPE_BF16 == static_cast<int>(DType::kBF16));
static_assert(KILN_DTYPE_I64 == static_cast<int>(DType::kI64));
static_assert(KILN_DTYPE_I32 == static_cast<int>(DType::kI32));
static_assert(KILN_DTYPE_I8 == static_cast<int>(DType::kI8));
static_assert(KILN_DTYPE_U8 == static_cast<int>(DType::kU8));
static_assert(KILN_DTYPE_BOOL == static_cast<int>(DType::kBool));
static_assert(KILN_DTYPE_F8E4M3 == static_cast<int>(DType::kF8E4M3));
static_assert(KILN_DTYPE_F8E5M2 == static_cast<int>(DType::kF8E5M2));

namespace {

// Resolves `name` in `handle`; nullptr when absent.
template <typename Fn>
Fn Resolve(void* handle, const char* name) {
  return reinterpret_cast<Fn>(dlsym(handle, name));
}

}  // namespace

std::string IoInfo::TypeString() const {
  std::string s = std::string(DTypeName(dtype)) + "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + dims[i];
  return s + "]";
}

Module::~Module() {
  if (handle_ != nullptr) dlclose(handle_);
}

StatusOr<std::shared_ptr<Module>> Module::Load(const std::string& path) {
  // A bare name ("libfoo.so") goes through the loader's search path, so only check paths.
  struct stat st;
  if (path.find('/') != std::string::npos && stat(path.c_str(), &st) != 0) {
    return NotFound("cannot open module library " + path + ": " + std::strerror(errno));
  }
  std::shared_ptr<Module> module(new Module());
  module->path_ = path;
  dlerror();  // clear a stale message
  module->handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (module->handle_ == nullptr) {
    const char* text = dlerror();
    return InvalidArgument("cannot load module library " + path + ": " +
                           (text ? text : "unknown loader error"));
  }
  auto version_fn = Resolve<uint32_t (*)()>(module->handle_, "kiln_module_abi_version");
  if (version_fn == nullptr) {
    return InvalidArgument(path + " is not a kiln module (missing kiln_module_abi_version)");
  }
  uint32_t version = version_fn();
  if (version != KILN_MODULE_ABI_VERSION) {
    return InvalidArgument("module " + path + " was built for module ABI " +
                           std::to_string(version) + ", this runtime supports " +
                           std::to_string(KILN_MODULE_ABI_VERSION) +
                           ": recompile the model with this kiln");
  }
  KILN_RETURN_IF_ERROR(module->ReadInterface());
  return module;
}

Status Module::AbiError(int code, const std::string& what) const {
  const char* text = api_.last_error ? api_.last_error() : nullptr;
  std::string message = "module " + path_ + ": " + what + ": " +
                        (text && *text ? text : "(the library gave no message)");
  switch (code) {
    case KILN_ERR_INVALID_ARGUMENT:
      return InvalidArgument(message);
    case KILN_ERR_NOT_FOUND:
      return NotFound(message);
    case KILN_ERR_UNIMPLEMENTED:
      return Unimplemented(message);
    case KILN_ERR_OUT_OF_RANGE:
      return OutOfRange(message);
    case KILN_ERR_INTERNAL:
      return InternalError(message);
    case KILN_ERR_PARSE:
      return ParseError(message);
    case KILN_ERR_OUT_OF_MEMORY:
      return OutOfMemory(message);
    case KILN_ERR_CUDA:
      return CudaError(message);
    default:
      return InternalError(message + " (unknown error code " + std::to_string(code) + ")");
  }
}

Status Module::ReadInterface() {
  // Every other ABI function, resolved up front so a broken library fails at load, not at run.
  Status missing;
  auto resolve = [&]<typename Fn>(Fn& slot, const char* name) {
    slot = Resolve<Fn>(handle_, name);
    if (slot == nullptr && missing.ok()) {
      missing = InvalidArgument("module " + path_ + " lacks " + name + ", required by module ABI " +
                                std::to_string(KILN_MODULE_ABI_VERSION));
    }
  };
  const char* (*target_fn)() = nullptr;
  int (*num_inputs_fn)() = nullptr;
  int (*num_outputs_fn)() = nullptr;
  int (*num_symbols_fn)() = nullptr;
  resolve(api_.last_error, "kiln_last_error");
  resolve(target_fn, "kiln_module_target");
  resolve(num_inputs_fn, "kiln_module_num_inputs");
  resolve(num_outputs_fn, "kiln_module_num_outputs");
  resolve(num_symbols_fn, "kiln_module_num_symbols");
  resolve(api_.io_info, "kiln_module_io_info");
  resolve(api_.symbol_info, "kiln_module_symbol_info");
  resolve(api_.instance_create, "kiln_instance_create");
  resolve(api_.instance_destroy, "kiln_instance_destroy");
  resolve(api_.instance_set_dims, "kiln_instance_set_dims");
  resolve(api_.instance_output_shape, "kiln_instance_output_shape");
  resolve(api_.instance_run, "kiln_instance_run");
  KILN_RETURN_IF_ERROR(missing);
  // Optional in ABI 1 (see module_abi.h): older libraries lack it.
  api_.instance_run_host =
      Resolve<decltype(api_.instance_run_host)>(handle_, "kiln_instance_run_host");

  auto malformed = [&](const std::string& what) {
    return InternalError("module " + path_ + " has a malformed interface: " + what);
  };
  const char* target = target_fn();
  if (target == nullptr) return malformed("kiln_module_target returned NULL");
  target_ = target;

  int num_symbols = num_symbols_fn();
  if (num_symbols < 0) return malformed("negative symbol count");
  for (int i = 0; i < num_symbols; ++i) {
    const char* name = nullptr;
    SymbolInfo info;
    if (int rc = api_.symbol_info(i, &name, &info.min, &info.max); rc != KILN_OK) {
      return AbiError(rc, "reading symbol " + std::to_string(i));
    }
    if (name == nullptr) return malformed("symbol " + std::to_string(i) + " has no name");
    info.name = name;
    if (info.min < 0 || info.min > info.max) {
      return malformed("symbol " + info.name + " has range [" + std::to_string(info.min) + ", " +
                       std::to_string(info.max) + "]");
    }
    symbols_.push_back(std::move(info));
  }

  for (int is_output = 0; is_output < 2; ++is_output) {
    int count = is_output ? num_outputs_fn() : num_inputs_fn();
    if (count < 0) return malformed("negative input or output count");
    for (int i = 0; i < count; ++i) {
      std::string where = std::string(is_output ? "output " : "input ") + std::to_string(i);
      kiln_io_info raw{};
      if (int rc = api_.io_info(is_output, i, &raw); rc != KILN_OK) {
        return AbiError(rc, "reading " + where);
      }
      if (raw.name == nullptr) return malformed(where + " has no name");
      if (raw.dtype < 0 || raw.dtype > KILN_DTYPE_F8E5M2) {
        return malformed(where + " has unknown dtype code " + std::to_string(raw.dtype));
      }
      if (raw.rank < 0 || (raw.rank > 0 && raw.dims == nullptr)) {
        return malformed(where + " has no dims for rank " + std::to_string(raw.rank));
      }
      IoInfo info;
      info.name = raw.name;
      info.dtype = static_cast<DType>(raw.dtype);
      std::vector<std::shared_ptr<const DimExpr>> exprs;
      for (int a = 0; a < raw.rank; ++a) {
        info.static_dims.push_back(raw.dims[a]);
        if (raw.dims[a] >= 0) {
          info.dims.push_back(std::to_string(raw.dims[a]));
          exprs.push_back(nullptr);
          continue;
        }
        const char* text = raw.dim_exprs ? raw.dim_exprs[a] : nullptr;
        if (raw.dims[a] != -1 || text == nullptr) {
          return malformed(where + " (" + info.name + ") dim " + std::to_string(a) +
                           " is neither static nor a symbolic expression");
        }
        auto expr = DimExpr::Parse(text);
        if (!expr.ok())
          return malformed(where + " (" + info.name + "): " + expr.status().message());
        for (const std::string& s : expr->Symbols()) {
          bool declared = false;
          for (const SymbolInfo& sym : symbols_) declared |= sym.name == s;
          if (!declared)
            return malformed(where + " (" + info.name + ") uses undeclared symbol " + s);
        }
        info.dims.push_back(text);
        exprs.push_back(std::make_shared<const DimExpr>(std::move(expr).value()));
      }
      if (is_output) {
        outputs_.push_back(std::move(info));
      } else {
        inputs_.push_back(std::move(info));
        input_exprs_.push_back(std::move(exprs));
      }
    }
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<Instance>> Module::CreateInstance(const std::string& weights_path) {
  kiln_instance_t handle = nullptr;
  int rc = api_.instance_create(weights_path.empty() ? nullptr : weights_path.c_str(), &handle);
  if (rc != KILN_OK) return AbiError(rc, "creating an instance");
  if (handle == nullptr) {
    return InternalError("module " + path_ + ": kiln_instance_create succeeded but returned NULL");
  }
  return std::unique_ptr<Instance>(new Instance(shared_from_this(), handle));
}

}  // namespace kiln
