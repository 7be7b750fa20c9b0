#include "backends.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "flashstock/engine.h"
#include "flashstock/limits.h"

namespace flashsale {
namespace {

// Orders rows: a buyer's take is a one-line reserve + commit. Holds live
// kHoldTtlMs, a short cart: long enough that a client descheduled between
// its reserve and its commit (16 clients on 2 cores, and in async mode a
// commit waiting for ring room while the disk syncs) still commits; at
// 100 ms some did not, and an expired hold is a refused buyer. An id is
// remembered until the later of its last change + retention (0 here) and
// its hold's deadline (so a reserve retried within its ttl is recognised;
// docs/design.md, "When an order is forgotten"), so orders_max must cover
// one TTL of orders: ~2 M/s x 1 s fits 4 M slots (at 10 s it did not).
constexpr std::int64_t kHoldTtlMs = 1'000;
constexpr std::uint32_t kBenchOrdersMax = 1u << 22;

// Why a client's last take was not answered; out of line and cold, so the
// take's fast path keeps a small frame (the atomic rows' clients have none).
[[gnu::noinline, gnu::cold]] TakeStatus SetError(flashstock::Outcome outcome, std::string* error) {
  *error = std::string(flashstock::OutcomeCode(outcome));
  return TakeStatus::kError;
}

// Plain takes by handle. Its Take does the same per-call work as the atomic
// rows' clients (an index into the SKUs, one call into the take), so the
// none row against atomic-cas compares the engine with the raw loop, not
// two harnesses.
class FlashstockClient : public BackendClient {
 public:
  FlashstockClient(flashstock::Engine* engine, const flashstock::SkuHandle* handles)
      : engine_(engine), handles_(handles) {}

  TakeStatus Take(std::uint32_t sku, std::int64_t units) override {
    // By handle: the engine's hot path (one CAS on the SKU's line).
    const flashstock::StockResult r = engine_->Take(handles_[sku], units);
    if (r.ok()) return TakeStatus::kAccepted;
    if (r.outcome == flashstock::Outcome::kInsufficient) return TakeStatus::kRefused;
    return SetError(r.outcome, &error_);
  }
  std::string last_error() const override { return error_; }

 private:
  flashstock::Engine* const engine_;
  const flashstock::SkuHandle* const handles_;
  std::string error_;
};

// Orders rows: a buyer's take is a one-line reserve + commit.
class FlashstockOrdersClient : public BackendClient {
 public:
  FlashstockOrdersClient(flashstock::Engine* engine, const flashstock::SkuHandle* handles,
                         std::uint64_t client_id)
      : engine_(engine), handles_(handles), next_order_(client_id << 40) {}

  TakeStatus Take(std::uint32_t sku, std::int64_t units) override {
    const flashstock::OrderLine line[] = {{handles_[sku], units}};
    const flashstock::OrderId id = ++next_order_;
    const flashstock::OrderResult reserved = engine_->Reserve(id, line, kHoldTtlMs);
    if (reserved.outcome == flashstock::Outcome::kInsufficient) return TakeStatus::kRefused;
    if (!reserved.ok()) return SetError(reserved.outcome, &error_);
    const flashstock::OrderResult committed = engine_->Commit(id);
    // A commit can only lose to expiry if the client stalled past the TTL
    // (on 2 cores with 16 clients a descheduled client can): that unit went
    // back to stock, so the buyer was refused. With order_retention_ms = 0
    // the expired order may already be forgotten, which Commit answers
    // UNKNOWN_ORDER; only this client ever used the id, so that too means
    // expired. The checker's conservation test catches a wrong guess.
    if (committed.outcome == flashstock::Outcome::kOrderClosed &&
        committed.state == flashstock::OrderState::kExpired) {
      return TakeStatus::kRefused;
    }
    if (committed.outcome == flashstock::Outcome::kUnknownOrder) return TakeStatus::kRefused;
    if (!committed.ok()) return SetError(committed.outcome, &error_);
    return TakeStatus::kAccepted;
  }
  std::string last_error() const override { return error_; }

 private:
  flashstock::Engine* const engine_;
  const flashstock::SkuHandle* const handles_;
  flashstock::OrderId next_order_;
  std::string error_;
};

class FlashstockBackend : public Backend {
 public:
  // `orders`: clients reserve + commit instead of taking. `escrow`: the
  // SKUs are put in escrow once defined (PutInEscrow).
  FlashstockBackend(std::string system, std::string variant, flashstock::Durability durability,
                    std::string work_dir, bool orders, bool escrow)
      : system_(std::move(system)),
        variant_(std::move(variant)),
        durability_(durability),
        work_dir_(std::move(work_dir)),
        orders_(orders),
        escrow_(escrow) {}

  std::string system() const override { return system_; }
  std::string variant() const override { return variant_; }
  int latency_sample_every() const override {
    // A sync take waits for fdatasync: time every one, like the databases.
    return durability_ == flashstock::Durability::kSync ? 1 : 16;
  }

  absl::Status Load(std::uint32_t sku_count, std::int64_t stock_per_sku) override {
    handles_.clear();
    engine_.reset();  // closes the previous row's journal first
    flashstock::EngineOptions options;
    options.skus_max = sku_count;
    options.durability = durability_;
    options.orders_max = orders_ ? kBenchOrdersMax : flashstock::kOrdersMaxDefault;
    options.order_retention_ms = 0;
    if (durability_ != flashstock::Durability::kNone) {
      // A fresh journal per row, so each row starts from its own catalogue.
      options.journal_dir = JournalDir();
      std::error_code ec;
      std::filesystem::remove_all(options.journal_dir, ec);
    }
    absl::StatusOr<std::unique_ptr<flashstock::Engine>> engine = flashstock::Engine::Open(options);
    if (!engine.ok()) return engine.status();
    engine_ = std::move(*engine);
    std::vector<std::string> names;
    names.reserve(sku_count);
    std::vector<flashstock::Engine::SkuDefinition> defs;
    defs.reserve(sku_count);
    for (std::uint32_t i = 0; i < sku_count; ++i) names.push_back("sku-" + std::to_string(i));
    for (const std::string& name : names) defs.push_back({name, stock_per_sku, 0});
    // One durable wait for the whole catalogue, not one fdatasync per SKU.
    const flashstock::Engine::DefineManyResult r = engine_->DefineMany(defs);
    if (r.outcome != flashstock::Outcome::kOk) {
      return absl::InternalError("flashstock: define " + names[r.failed_at] + ": " +
                                 std::string(flashstock::OutcomeCode(r.outcome)));
    }
    for (const std::string& name : names) handles_.push_back(*engine_->Resolve(name));
    next_client_ = 0;
    return escrow_ ? PutInEscrow(stock_per_sku) : absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<BackendClient>> Connect() override {
    ++next_client_;
    if (orders_) {
      return std::unique_ptr<BackendClient>(
          new FlashstockOrdersClient(engine_.get(), handles_.data(), next_client_));
    }
    return std::unique_ptr<BackendClient>(new FlashstockClient(engine_.get(), handles_.data()));
  }

  absl::StatusOr<std::vector<std::int64_t>> Levels() override {
    std::vector<std::int64_t> levels;
    levels.reserve(handles_.size());
    for (flashstock::SkuHandle h : handles_) {
      const flashstock::StockLevels l = engine_->Levels(h);
      // Held units are neither sold nor back in stock: count them against
      // the level so the checker sees any hold left behind as a mismatch.
      levels.push_back(l.available + l.held);
    }
    return levels;
  }

  void Unload() override {
    handles_.clear();
    engine_.reset();  // joins its journal and expiry threads
    if (durability_ != flashstock::Durability::kNone) {
      // An async row writes gigabytes; do not keep them until the next row.
      std::error_code ec;
      std::filesystem::remove_all(JournalDir(), ec);
    }
  }

 private:
  std::string JournalDir() const { return work_dir_ + "/flashstock-" + system_ + "-" + variant_; }

  // Escrow on for every SKU up to the engine's kEscrowSkusMax: all of the
  // hot workload, and of the 10,000-SKU ones the first 1024, which in the
  // skewed workload are the most popular ranks. Each must then be split
  // exactly when it has kEscrowSplitMin units above its floor (0 here):
  // otherwise the row would time the plain take under the escrow name.
  absl::Status PutInEscrow(std::int64_t stock_per_sku) {
    const bool roomy = stock_per_sku >= flashstock::kEscrowSplitMin;
    const std::size_t count = std::min(handles_.size(), flashstock::kEscrowSkusMax);
    for (std::size_t i = 0; i < count; ++i) {
      const flashstock::StockResult r = engine_->SetEscrow(handles_[i], true);
      if (!r.ok()) {
        return absl::InternalError("flashstock: escrow sku-" + std::to_string(i) + ": " +
                                   std::string(flashstock::OutcomeCode(r.outcome)));
      }
      const std::optional<flashstock::Engine::EscrowStatus> status = engine_->GetEscrow(handles_[i]);
      if (!status || !status->on || status->split != roomy) {
        return absl::InternalError("flashstock: sku-" + std::to_string(i) + " with " +
                                   std::to_string(stock_per_sku) + " units is " +
                                   (status && status->split ? "split" : "not split") + " in escrow");
      }
    }
    return absl::OkStatus();
  }

  const std::string system_;
  const std::string variant_;
  const flashstock::Durability durability_;
  const std::string work_dir_;
  const bool orders_;
  const bool escrow_;
  std::unique_ptr<flashstock::Engine> engine_;
  std::vector<flashstock::SkuHandle> handles_;
  std::uint64_t next_client_ = 0;
};

absl::StatusOr<flashstock::Durability> ParseDurability(const std::string& variant) {
  if (variant == "none") return flashstock::Durability::kNone;
  if (variant == "async") return flashstock::Durability::kAsync;
  if (variant == "sync") return flashstock::Durability::kSync;
  return absl::InvalidArgumentError("flashstock/" + variant + ": journal mode is none, async or sync");
}

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> MakeFlashstockBackend(const std::string& variant,
                                                               const std::string& work_dir) {
  absl::StatusOr<flashstock::Durability> d = ParseDurability(variant);
  if (!d.ok()) return d.status();
  return std::unique_ptr<Backend>(new FlashstockBackend("flashstock", variant, *d, work_dir, false, false));
}

absl::StatusOr<std::unique_ptr<Backend>> MakeFlashstockOrdersBackend(const std::string& variant,
                                                                     const std::string& work_dir) {
  absl::StatusOr<flashstock::Durability> d = ParseDurability(variant);
  if (!d.ok()) return d.status();
  return std::unique_ptr<Backend>(new FlashstockBackend("flashstock-orders", variant, *d, work_dir, true, false));
}

absl::StatusOr<std::unique_ptr<Backend>> MakeFlashstockEscrowBackend(const std::string& variant,
                                                                     const std::string& work_dir) {
  absl::StatusOr<flashstock::Durability> d = ParseDurability(variant);
  if (!d.ok()) return d.status();
  return std::unique_ptr<Backend>(new FlashstockBackend("flashstock-escrow", variant, *d, work_dir, false, true));
}

}  // namespace flashsale
