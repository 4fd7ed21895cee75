#include "engine/process/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace riptide::engine {

Result<ChildProcess> ChildProcess::Start(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  if (argv.empty()) return MakeError(ErrorCode::kInvalidArgument, "an empty command");
  int in[2], out[2], status[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return MakeError(ErrorCode::kIo, std::string("pipe: ") + std::strerror(errno));
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(status, O_CLOEXEC) != 0) {
    return MakeError(ErrorCode::kIo, std::string("pipe: ") + std::strerror(errno));
  }
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) return MakeError(ErrorCode::kIo, std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Only async-signal-safe calls until exec: the parent has other threads.
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(status[1], 3);
    ::close_range(4, ~0U, 0);  // no socket, file or database of riptide's
    ::fcntl(3, F_SETFD, FD_CLOEXEC);
    ::execvpe(args[0], args.data(), envp.data());
    const int err = errno;
    (void)!::write(3, &err, sizeof err);  // the parent learns why exec failed
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(status[1]);
  int err = 0;
  const ssize_t n = ::read(status[0], &err, sizeof err);  // EOF: exec succeeded
  ::close(status[0]);
  ChildProcess child(pid, in[1], out[0]);
  if (n == sizeof err) {
    child.Wait();
    return MakeError(ErrorCode::kInvalidArgument, "cannot run " + argv[0] + ": " + std::strerror(err));
  }
  return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), in_(std::exchange(other.in_, -1)), out_(std::exchange(other.out_, -1)) {}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    Kill();
    Wait();
  }
  CloseStdin();
  if (out_ >= 0) ::close(out_);
}

void ChildProcess::CloseStdin() {
  if (in_ >= 0) ::close(in_);
  in_ = -1;
}

void ChildProcess::Kill() {
  if (pid_ > 0) ::kill(pid_, SIGKILL);
}

std::string ChildProcess::Wait() {
  if (pid_ <= 0) return "";
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status) == 0 ? "" : "the command exited with " + std::to_string(WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) return std::string("the command was killed by ") + ::strsignal(WTERMSIG(status));
  return "the command ended abnormally";
}

Result<std::vector<std::string>> SplitCommand(const std::string& command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  char quote = 0;
  for (char c : command) {
    if (quote) {
      if (c == quote) quote = 0;
      else word += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote) return MakeError(ErrorCode::kInvalidArgument, "an unclosed quote in the command");
  if (in_word) words.push_back(std::move(word));
  if (words.empty()) return MakeError(ErrorCode::kInvalidArgument, "an empty command");
  return words;
}

}  // namespace riptide::engine
