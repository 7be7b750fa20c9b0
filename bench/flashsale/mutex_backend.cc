// What a careful programmer writes first: one lock around a hash map.
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "backends.h"

namespace flashsale {
namespace {

struct LockedMap {
  std::mutex mu;
  absl::flat_hash_map<std::uint32_t, std::int64_t> levels;  // guarded by mu
};

class MutexClient : public BackendClient {
 public:
  explicit MutexClient(LockedMap* map) : map_(map) {}
  TakeStatus Take(std::uint32_t sku, std::int64_t units) override {
    std::lock_guard<std::mutex> lock(map_->mu);
    std::int64_t& level = map_->levels.find(sku)->second;
    if (level < units) return TakeStatus::kRefused;
    level -= units;
    return TakeStatus::kAccepted;
  }

 private:
  LockedMap* map_;
};

class MutexBackend : public Backend {
 public:
  std::string system() const override { return "mutex"; }
  std::string variant() const override { return "flat_hash_map"; }
  int latency_sample_every() const override { return 16; }

  absl::Status Load(std::uint32_t sku_count, std::int64_t stock_per_sku) override {
    std::lock_guard<std::mutex> lock(map_.mu);
    map_.levels.clear();
    map_.levels.reserve(sku_count);
    for (std::uint32_t i = 0; i < sku_count; ++i) map_.levels[i] = stock_per_sku;
    sku_count_ = sku_count;
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<BackendClient>> Connect() override {
    return std::unique_ptr<BackendClient>(new MutexClient(&map_));
  }
  absl::StatusOr<std::vector<std::int64_t>> Levels() override {
    std::lock_guard<std::mutex> lock(map_.mu);
    std::vector<std::int64_t> levels(sku_count_);
    for (std::uint32_t i = 0; i < sku_count_; ++i) levels[i] = map_.levels.at(i);
    return levels;
  }

 private:
  LockedMap map_;
  std::uint32_t sku_count_ = 0;
};

}  // namespace

std::unique_ptr<Backend> MakeMutexBackend() { return std::make_unique<MutexBackend>(); }

}  // namespace flashsale
