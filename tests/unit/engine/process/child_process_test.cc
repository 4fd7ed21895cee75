#include "engine/process/child_process.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace riptide::engine {
namespace {

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

TEST(SplitCommand, BlanksAndQuotes) {
  EXPECT_EQ(*SplitCommand("gzip -c  -9"), (std::vector<std::string>{"gzip", "-c", "-9"}));
  EXPECT_EQ(*SplitCommand(R"(tr 'a b' "c d" '')"), (std::vector<std::string>{"tr", "a b", "c d", ""}));
  EXPECT_FALSE(SplitCommand("tr 'open").ok());
  EXPECT_FALSE(SplitCommand("   ").ok());
}

TEST(ChildProcess, BytesPassThroughWithOnlyTheEnvironmentGiven) {
  auto child = ChildProcess::Start({"sh", "-c", "cat; echo \"[$SECRET][$ONLY]\""}, {"PATH=/usr/bin:/bin", "ONLY=1"});
  ASSERT_TRUE(child.ok()) << child.error().message;
  ASSERT_EQ(::write(child->stdin_fd(), "in\n", 3), 3);
  child->CloseStdin();
  EXPECT_EQ(ReadAll(child->stdout_fd()), "in\n[][1]\n");
  EXPECT_EQ(child->Wait(), "");
}

TEST(ChildProcess, ExitStatusKillAndAMissingCommand) {
  auto failing = ChildProcess::Start({"sh", "-c", "exit 3"}, {"PATH=/usr/bin:/bin"});
  ASSERT_TRUE(failing.ok());
  EXPECT_EQ(failing->Wait(), "the command exited with 3");
  auto slow = ChildProcess::Start({"sleep", "30"}, {"PATH=/usr/bin:/bin"});
  ASSERT_TRUE(slow.ok());
  slow->Kill();
  EXPECT_NE(slow->Wait().find("killed"), std::string::npos);
  auto missing = ChildProcess::Start({"no-such-command-riptide"}, {"PATH=/usr/bin:/bin"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("cannot run no-such-command-riptide"), std::string::npos);
}

}  // namespace
}  // namespace riptide::engine
