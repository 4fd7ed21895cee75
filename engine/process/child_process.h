// A command that bytes pass through: started without a shell (unless the caller's argv
// is a shell), in a clean environment, with no descriptor of riptide's but its own pipes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "transport/result.h"

namespace riptide::engine {

class ChildProcess {
 public:
  /// Starts `argv` (argv[0] found on PATH) with `env` only ("NAME=value").
  static Result<ChildProcess> Start(const std::vector<std::string>& argv, const std::vector<std::string>& env);
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ~ChildProcess();  // kills and reaps a child still running

  int stdin_fd() const { return in_; }
  int stdout_fd() const { return out_; }
  /// Closes the child's stdin: it sees the end of its input.
  void CloseStdin();
  /// Kills the child (SIGKILL).
  void Kill();
  /// Waits for the child to end: its exit status as a sentence ("" for exit 0).
  std::string Wait();

 private:
  ChildProcess(pid_t pid, int in, int out) : pid_(pid), in_(in), out_(out) {}
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
};

/// Words of a command line: split at blanks, with '…' and "…" quoting (no expansion).
Result<std::vector<std::string>> SplitCommand(const std::string& command);

}  // namespace riptide::engine
