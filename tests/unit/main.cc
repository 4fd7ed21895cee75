// The unit tests' main: the process runtime first, as riptide's own main does.
#include <gtest/gtest.h>

#include "engine/core/runtime.h"

int main(int argc, char** argv) {
  const riptide::engine::ProcessRuntime runtime;
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
