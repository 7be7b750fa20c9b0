#include "backends.h"

#include <string>
#include <utility>
#include <vector>

#include "flashstock/engine.h"

namespace flashsale {
namespace {

class FlashstockClient : public BackendClient {
 public:
  FlashstockClient(flashstock::Engine* engine, const std::vector<flashstock::SkuHandle>* handles)
      : engine_(engine), handles_(handles) {}

  TakeStatus Take(std::uint32_t sku, std::int64_t units) override {
    // By handle: the engine's hot path (one CAS on the SKU's line).
    const flashstock::StockResult r = engine_->Take((*handles_)[sku], units);
    if (r.ok()) return TakeStatus::kAccepted;
    if (r.outcome == flashstock::Outcome::kInsufficient) return TakeStatus::kRefused;
    error_ = std::string(flashstock::OutcomeCode(r.outcome));
    return TakeStatus::kError;
  }
  std::string last_error() const override { return error_; }

 private:
  flashstock::Engine* engine_;
  const std::vector<flashstock::SkuHandle>* handles_;
  std::string error_;
};

class FlashstockBackend : public Backend {
 public:
  explicit FlashstockBackend(std::string variant) : variant_(std::move(variant)) {}

  std::string system() const override { return "flashstock"; }
  std::string variant() const override { return variant_; }
  int latency_sample_every() const override { return 16; }

  absl::Status Load(std::uint32_t sku_count, std::int64_t stock_per_sku) override {
    handles_.clear();
    engine_ = std::make_unique<flashstock::Engine>(flashstock::EngineOptions{.skus_max = sku_count});
    for (std::uint32_t i = 0; i < sku_count; ++i) {
      const std::string name = "sku-" + std::to_string(i);
      const flashstock::StockResult r = engine_->Define(name, stock_per_sku);
      if (!r.ok()) {
        return absl::InternalError("flashstock: define " + name + ": " +
                                   std::string(flashstock::OutcomeCode(r.outcome)));
      }
      handles_.push_back(*engine_->Resolve(name));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<BackendClient>> Connect() override {
    return std::unique_ptr<BackendClient>(new FlashstockClient(engine_.get(), &handles_));
  }

  absl::StatusOr<std::vector<std::int64_t>> Levels() override {
    std::vector<std::int64_t> levels;
    levels.reserve(handles_.size());
    for (flashstock::SkuHandle h : handles_) levels.push_back(engine_->Level(h).available);
    return levels;
  }

 private:
  std::string variant_;
  std::unique_ptr<flashstock::Engine> engine_;
  std::vector<flashstock::SkuHandle> handles_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> MakeFlashstockBackend(const std::string& variant,
                                                               const std::string& work_dir) {
  (void)work_dir;  // the journal modes will keep their segments there
  if (variant == "none") return std::unique_ptr<Backend>(new FlashstockBackend(variant));
  // TODO(journal): "async", "sync" once EngineOptions has a journal mode.
  return absl::UnimplementedError("flashstock/" + variant + ": no such journal mode yet");
}

}  // namespace flashsale
