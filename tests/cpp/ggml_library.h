// The ggml shared libraries node-llama-cpp ships (tools/oracle, installed by scripts/setup), opened
// once per test binary, and their functions by name: the oracle for block and quantizer layouts.
#pragma once

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <string>

namespace lp::test {

// tools/oracle/.../bins/linux-x64/<file>.
inline std::string ggml_library_path(const char* file) {
  return std::string(LLAMAPROF_SOURCE_DIR) +
         "/tools/oracle/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/" + file;
}

// One library, loaded on first use; handle() is nullptr when it cannot be loaded.
class GgmlLibrary {
 public:
  explicit GgmlLibrary(const char* file) : path_(ggml_library_path(file)) {}
  void* handle() {
    if (!tried_) {
      handle_ = dlopen(path_.c_str(), RTLD_NOW | RTLD_LOCAL);
      tried_ = true;
    }
    return handle_;
  }
  const std::string& path() const { return path_; }
  // The named function; a failed lookup is a test failure (and a null pointer).
  template <class Fn>
  Fn symbol(const std::string& name) {
    void* p = dlsym(handle(), name.c_str());
    EXPECT_NE(p, nullptr) << name << " in " << path_;
    return reinterpret_cast<Fn>(p);
  }

 private:
  std::string path_;
  void* handle_ = nullptr;
  bool tried_ = false;
};

}  // namespace lp::test
