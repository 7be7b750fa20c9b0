// Helpers shared by the journal tests: scratch directories and file bytes.
#ifndef FLASHSTOCK_TESTS_JOURNAL_TEST_UTIL_H_
#define FLASHSTOCK_TESTS_JOURNAL_TEST_UTIL_H_

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "flashstock/engine.h"
#include "gtest/gtest.h"

namespace flashstock::testing {

// A fresh directory under `base` (default $TMPDIR, or /tmp), removed at
// scope exit.
class TempDir {
 public:
  explicit TempDir(const char* base = nullptr) {
    if (base == nullptr) base = std::getenv("TMPDIR");
    std::string templ = std::string(base != nullptr ? base : "/tmp") + "/flashstock-test-XXXXXX";
    char* made = ::mkdtemp(templ.data());
    EXPECT_NE(made, nullptr);
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// /dev/shm when the machine has it (fdatasync costs nothing there, so sync
// mode runs at memory speed), else nullptr (TempDir's default).
inline const char* MemoryBackedBase() {
  return std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : nullptr;
}

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
// Copies every regular file of `from` into the (existing) directory `to`.
inline void CopyDir(const std::string& from, const std::string& to) {
  for (const auto& e : std::filesystem::directory_iterator(from)) {
    if (e.is_regular_file()) {
      std::filesystem::copy_file(e.path(), to + "/" + e.path().filename().string(),
                                 std::filesystem::copy_options::overwrite_existing);
    }
  }
}

inline EngineOptions JournalOptions(const std::string& dir, Durability d = Durability::kSync) {
  EngineOptions o;
  o.skus_max = 1024;
  o.journal_dir = dir;
  o.durability = d;
  return o;
}

inline std::unique_ptr<Engine> OpenOrDie(const EngineOptions& o) {
  absl::StatusOr<std::unique_ptr<Engine>> e = Engine::Open(o);
  EXPECT_TRUE(e.ok()) << e.status();
  if (!e.ok()) std::abort();
  return std::move(*e);
}


// The kill tests' harness: forks a child that runs `child(fd)` (it writes one
// fixed-size Note per acknowledged change to fd and never returns), reads up
// to `kill_after` notes, SIGKILLs it, reaps it, then drains the notes it had
// already written. Returns false (after a test failure) if the child was not
// killed by the signal.
template <typename Note, typename Child>
bool ForkAndKill(Child child, int kill_after, std::vector<Note>* notes) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  EXPECT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    child(fds[1]);  // [[noreturn]]
  }
  close(fds[1]);
  Note n;
  while (static_cast<int>(notes->size()) < kill_after && read(fds[0], &n, sizeof(n)) == sizeof(n)) {
    notes->push_back(n);
  }
  kill(pid, SIGKILL);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  while (read(fds[0], &n, sizeof(n)) == sizeof(n)) notes->push_back(n);
  close(fds[0]);
  return WIFSIGNALED(status);
}

}  // namespace flashstock::testing

#endif  // FLASHSTOCK_TESTS_JOURNAL_TEST_UTIL_H_
