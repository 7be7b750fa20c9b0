// Helpers shared by the journal tests: scratch directories and file bytes.
#ifndef FLASHSTOCK_TESTS_JOURNAL_TEST_UTIL_H_
#define FLASHSTOCK_TESTS_JOURNAL_TEST_UTIL_H_

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "flashstock/engine.h"
#include "gtest/gtest.h"

namespace flashstock::testing {

// A fresh directory under $TMPDIR (or /tmp), removed at scope exit.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
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

}  // namespace flashstock::testing

#endif  // FLASHSTOCK_TESTS_JOURNAL_TEST_UTIL_H_
