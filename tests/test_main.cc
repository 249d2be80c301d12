// Test entry point: registers the ops once before any test runs.
#include <gtest/gtest.h>

#include "ir/op_registry.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  kiln::RegisterAllOps();
  return RUN_ALL_TESTS();
}
