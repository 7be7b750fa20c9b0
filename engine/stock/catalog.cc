#include "flashstock/internal/catalog.h"

#include <cstring>

#include "absl/hash/hash.h"
#include "base/check.h"
#include "base/reader_slots.h"

namespace flashstock {

std::size_t Catalog::IndexHash::operator()(std::uint32_t index) const {
  return Hash(catalog->name(index)).hash;
}

Catalog::Shard::Shard(const Catalog* catalog)
    : copies{IndexSet(0, IndexHash{catalog}, IndexEq{catalog}),
             IndexSet(0, IndexHash{catalog}, IndexEq{catalog})} {}

Catalog::Catalog(std::uint32_t skus_max)
    : capacity_(skus_max),
      cells_(new StockCell[skus_max]),
      names_(new NameEntry[skus_max]),  // left uninitialised: pages are touched only as SKUs are defined
      shards_(new std::unique_ptr<Shard>[kCatalogShards]) {
  FLASHSTOCK_CHECK(skus_max >= 1);
  FLASHSTOCK_CHECK(skus_max <= kSkusMaxLimit);
  for (std::size_t i = 0; i < kCatalogShards; ++i) shards_[i] = std::make_unique<Shard>(this);
}

Catalog::~Catalog() = default;

Catalog::HashedName Catalog::Hash(std::string_view name) {
  return {name, absl::Hash<std::string_view>{}(name)};
}

Catalog::Shard& Catalog::ShardFor(std::size_t hash) const {
  constexpr int kShardBits = __builtin_ctzll(kCatalogShards);
  return *shards_[hash >> (64 - kShardBits)];
}

std::optional<std::uint32_t> Catalog::FindIn(const IndexSet& set, const HashedName& key) const {
  auto it = set.find(key);
  if (it == set.end()) return std::nullopt;
  return *it;
}

std::optional<std::uint32_t> Catalog::Find(std::string_view name) const {
  if (!ValidName(name)) return std::nullopt;
  const HashedName key = Hash(name);
  const Shard& shard = ShardFor(key.hash);
  internal::ReaderSlots::Slot* slot = internal::ReaderSlots::ThisThreadSlot();
  if (slot == nullptr) {  // more live reader threads than slots: read under the lock
    std::lock_guard<std::mutex> lock(define_mu_);
    return FindIn(shard.copies[shard.active.load(std::memory_order_relaxed)], key);
  }
  internal::ReaderSlots::Enter(slot);
  // seq_cst: the load half of the reader's Dekker pair (reader_slots.h); it is
  // also the acquire that makes the defined cell and name visible.
  const int active = shard.active.load(std::memory_order_seq_cst);
  std::optional<std::uint32_t> found = FindIn(shard.copies[active], key);
  internal::ReaderSlots::Leave(slot);
  return found;
}

Catalog::Defined Catalog::Define(std::string_view name, std::int64_t level, std::int64_t floor) {
  if (const Outcome o = ValidateDefine(name, level, floor); o != Outcome::kOk) return {o, 0};
  const HashedName key = Hash(name);
  Shard& shard = ShardFor(key.hash);

  std::lock_guard<std::mutex> lock(define_mu_);
  // Only defines write `active`, and we hold the define lock: relaxed.
  const int active = shard.active.load(std::memory_order_relaxed);
  if (FindIn(shard.copies[active], key).has_value()) return {Outcome::kAlreadyDefined, 0};
  const std::uint32_t index = size_.load(std::memory_order_relaxed);  // only defines write it
  if (index >= capacity_) return {Outcome::kCatalogFull, 0};

  NameEntry& entry = names_[index];
  entry.size = static_cast<std::uint8_t>(name.size());
  std::memcpy(entry.bytes, name.data(), name.size());
  cells_[index].Init(level, floor);
  // Release: pairs with the acquire in Contains()/size(); done before the
  // name is findable, so a handle that Find returned always passes Contains.
  size_.store(index + 1, std::memory_order_release);

  // Left-right: nobody reads the inactive copy; insert, switch, wait out the
  // readers of the old copy, then bring it level.
  const int inactive = 1 - active;
  shard.copies[inactive].insert(index);
  // seq_cst: the writer's store of the Dekker pair; also the release that
  // publishes the cell and name to readers' acquire of `active`.
  shard.active.store(inactive, std::memory_order_seq_cst);
  internal::ReaderSlots::Instance().WaitForReaders();
  shard.copies[active].insert(index);
  return {Outcome::kOk, index};
}

}  // namespace flashstock
