// Recovery figures: writes a journal of N SKU defines and M take/restock
// records (straight through the format encoders, as the journal thread
// would, in 1 MiB batches), then times
//   1. replay alone (journal::Recover: read, verify, fold) -> records/s;
//   2. Engine::Open of the directory (replay + building the catalog).
// usage: recovery-bench [skus=1000000] [records=10000000] [dir=/tmp/flashstock-recovery]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "flashstock/engine.h"
#include "base/file.h"
#include "journal/journal_format.h"
#include "journal/recovery.h"

namespace fj = flashstock::journal;

int main(int argc, char** argv) {
  const std::uint64_t skus = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  const std::uint64_t records = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 10'000'000;
  const std::string dir = argc > 3 ? argv[3] : "/tmp/flashstock-recovery";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  // Segments of 64 MiB, as the writer's default.
  const std::uint64_t segment_max = std::uint64_t{64} << 20;
  std::uint64_t seq = 1;
  std::string seg;
  std::uint64_t seg_first = 1;
  auto flush = [&](bool force) {
    if (!force && seg.size() < segment_max) return;
    flashstock::internal::FileSystem* fs = flashstock::internal::FileSystem::Default();
    (void)flashstock::internal::WriteWholeFile(fs, dir + "/" + fj::SegmentFileName(seg_first), seg);
    seg.clear();
    seg_first = seq;
  };
  auto begin_segment = [&] {
    char h[fj::kSegmentHeaderBytes];
    fj::EncodeSegmentHeader(h, seq);
    seg.append(h, sizeof(h));
  };
  const auto w0 = std::chrono::steady_clock::now();
  begin_segment();
  char buf[256];
  for (std::uint64_t i = 0; i < skus; ++i) {
    const std::string name = "sku-" + std::to_string(i);
    fj::EncodeDefineRecord(buf, seq++, static_cast<std::uint32_t>(i), name, 1'000'000'000, 0);
    seg.append(buf, fj::DefineRecordBytes(name.size()));
    if (seg.size() >= segment_max) {
      flush(true);
      begin_segment();
    }
  }
  std::mt19937_64 rng(1);
  for (std::uint64_t i = 0; i < records; ++i) {
    const auto type = i % 4 == 0 ? fj::RecordType::kRestock : fj::RecordType::kTake;
    fj::EncodeStockRecord(buf, type, seq++, static_cast<std::uint32_t>(rng() % skus), 1 + static_cast<std::int64_t>(rng() % 3));
    seg.append(buf, fj::kStockRecordBytes);
    if (seg.size() >= segment_max) {
      flush(true);
      begin_segment();
    }
  }
  flush(true);
  const double write_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  std::printf("wrote %llu defines + %llu records to %s in %.2f s\n", (unsigned long long)skus,
              (unsigned long long)records, dir.c_str(), write_s);

  // Warm the page cache the same way for both measurements (first run reads from disk).
  {
    fj::RecoveryOptions ro;
    ro.repair = false;
    (void)fj::Recover(dir, ro);
  }
  const auto r0 = std::chrono::steady_clock::now();
  fj::RecoveryOptions ro;
  ro.repair = false;
  absl::StatusOr<fj::Recovered> rec = fj::Recover(dir, ro);
  const double replay_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - r0).count();
  if (!rec.ok()) {
    std::fprintf(stderr, "recover: %s\n", std::string(rec.status().message()).c_str());
    return 1;
  }
  const double total = static_cast<double>(skus + records);
  std::printf("replay (read + verify + fold): %.3f s, %.2f M records/s\n", replay_s, total / replay_s / 1e6);
  rec = absl::StatusOr<fj::Recovered>();  // free

  flashstock::EngineOptions o;
  o.skus_max = static_cast<std::uint32_t>(skus);
  o.journal_dir = dir;
  o.durability = flashstock::Durability::kAsync;
  o.checkpoint_bytes = 0;
  const auto o0 = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<flashstock::Engine>> e = flashstock::Engine::Open(o);
  const double open_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - o0).count();
  if (!e.ok()) {
    std::fprintf(stderr, "open: %s\n", std::string(e.status().message()).c_str());
    return 1;
  }
  std::printf("Engine::Open: %.3f s (%u SKUs)\n", open_s, (*e)->sku_count());
  std::printf("%s\n", (*e)->recovery_summary().c_str());
  return 0;
}
