// The hardware's own limits on one counter per SKU, no engine around it.
#include <atomic>

#include "backends.h"
#include "flashstock/limits.h"

namespace flashsale {
namespace {

struct alignas(flashstock::kCacheLineSize) PaddedCounter {
  std::atomic<std::int64_t> level{0};
};
static_assert(sizeof(PaddedCounter) == flashstock::kCacheLineSize, "one counter per line");

enum class Kind {
  kFetchSub,  // no floor check: every take succeeds (the physical limit; oversells)
  kCas,       // floor-checked CAS loop (the limit for a correct take)
  kRigged,    // a CAS that also sells one unit past zero now and then (checker test)
};

class AtomicClient : public BackendClient {
 public:
  AtomicClient(PaddedCounter* counters, Kind kind) : counters_(counters), kind_(kind) {}

  // Relaxed throughout: a counter publishes no other memory; the runner reads
  // the final levels after joining the client threads (join synchronises).
  TakeStatus Take(std::uint32_t sku, std::int64_t units) override {
    std::atomic<std::int64_t>& level = counters_[sku].level;
    if (kind_ == Kind::kFetchSub) {
      level.fetch_sub(units, std::memory_order_relaxed);
      return TakeStatus::kAccepted;
    }
    std::int64_t seen = level.load(std::memory_order_relaxed);
    do {
      if (seen < units) {
        if (kind_ == Kind::kRigged && (++refusals_ & 63) == 0) {
          level.fetch_sub(units, std::memory_order_relaxed);  // the bug the checker must catch
          return TakeStatus::kAccepted;
        }
        return TakeStatus::kRefused;
      }
    } while (!level.compare_exchange_weak(seen, seen - units, std::memory_order_relaxed,
                                          std::memory_order_relaxed));
    return TakeStatus::kAccepted;
  }

 private:
  PaddedCounter* counters_;
  Kind kind_;
  std::uint64_t refusals_ = 0;
};

class AtomicBackend : public Backend {
 public:
  explicit AtomicBackend(Kind kind) : kind_(kind) {}

  std::string system() const override {
    switch (kind_) {
      case Kind::kFetchSub: return "atomic-fetch_sub";
      case Kind::kCas: return "atomic-cas";
      case Kind::kRigged: return "rigged-oversell";
    }
    return "?";
  }
  std::string variant() const override {
    switch (kind_) {
      case Kind::kFetchSub: return "no-floor=LIMIT";
      case Kind::kCas: return "floor-checked";
      case Kind::kRigged: return "checker-test";
    }
    return "?";
  }
  bool claims_correctness() const override { return kind_ != Kind::kFetchSub; }
  int latency_sample_every() const override { return 16; }

  absl::Status Load(std::uint32_t sku_count, std::int64_t stock_per_sku) override {
    counters_ = std::make_unique<PaddedCounter[]>(sku_count);
    sku_count_ = sku_count;
    for (std::uint32_t i = 0; i < sku_count; ++i) {
      counters_[i].level.store(stock_per_sku, std::memory_order_relaxed);
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<BackendClient>> Connect() override {
    return std::unique_ptr<BackendClient>(new AtomicClient(counters_.get(), kind_));
  }
  absl::StatusOr<std::vector<std::int64_t>> Levels() override {
    std::vector<std::int64_t> levels(sku_count_);
    for (std::uint32_t i = 0; i < sku_count_; ++i) {
      levels[i] = counters_[i].level.load(std::memory_order_relaxed);
    }
    return levels;
  }

 private:
  Kind kind_;
  std::unique_ptr<PaddedCounter[]> counters_;
  std::uint32_t sku_count_ = 0;
};

}  // namespace

std::unique_ptr<Backend> MakeAtomicFetchSubBackend() {
  return std::make_unique<AtomicBackend>(Kind::kFetchSub);
}
std::unique_ptr<Backend> MakeAtomicCasBackend() { return std::make_unique<AtomicBackend>(Kind::kCas); }
std::unique_ptr<Backend> MakeRiggedOversellBackend() {
  return std::make_unique<AtomicBackend>(Kind::kRigged);
}

}  // namespace flashsale
