// Not part of the API. Engine::Take by handle is inline in engine.h (the
// hot path: the checks and one compare-and-swap, no call), so the cell's and
// the catalog's layout must be visible there and are installed with it. The
// code is in engine/stock/; only the engine and its tests use these.
//
// Name -> SKU index, sharded, with a read path that writes no shared memory.
//
// Cells and names live in arrays sized at construction; a defined SKU's slot
// never moves, so an index stays valid for the catalog's life.
//
// Each shard keeps two copies of an absl::flat_hash_set of indices (keyed by
// name through a transparent hash), in a left-right scheme: readers look in
// the copy named by the shard's `active_` index, bracketed by Enter/Leave on
// their own thread's slot (base/reader_slots.h); a define, under the one
// define mutex, inserts into the inactive copy, flips `active_`, waits for
// readers still in the old copy, then inserts there too. So a by-name lookup
// writes only its own thread's line and never waits; defines wait briefly.
//
// Memory ordering: a define writes the cell and the name, then publishes them
// with the seq_cst (so also release) store of the shard's `active_`; a reader's
// seq_cst (so also acquire) load of `active_` makes them visible. `size_` is
// stored with release after each define and loaded with acquire by handle
// checks, so any index below it names a fully initialised cell.
#ifndef FLASHSTOCK_INTERNAL_CATALOG_H_
#define FLASHSTOCK_INTERNAL_CATALOG_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "flashstock/limits.h"
#include "flashstock/validate.h"
#include "flashstock/outcome.h"
#include "flashstock/internal/stock_cell.h"

namespace flashstock {

class Catalog {
 public:
  // REQUIRES: 1 <= skus_max <= kSkusMaxLimit.
  explicit Catalog(std::uint32_t skus_max);
  ~Catalog();
  Catalog(const Catalog&) = delete;
  Catalog& operator=(const Catalog&) = delete;

  struct Defined {
    Outcome outcome;     // kOk, kInvalidName, kInvalidQuantity, kAlreadyDefined, kCatalogFull
    std::uint32_t index; // valid when outcome == kOk
  };
  // Adds a SKU with an initial level and floor. Thread-safe; serialised with
  // other defines. Checks, in order: name length, floor in [kFloorMin, 0],
  // level >= 0 and >= floor, not already defined, capacity.
  Defined Define(std::string_view name, std::int64_t level, std::int64_t floor);

  // Lock-free lookup (wait-free for the reader). Thread-safe.
  std::optional<std::uint32_t> Find(std::string_view name) const;

  // True when `index` names a defined SKU (acquire: pairs with Define's release).
  bool Contains(std::uint32_t index) const {
    return index < size_.load(std::memory_order_acquire);
  }
  // REQUIRES: Contains(index), established before by the caller.
  StockCell& cell(std::uint32_t index) { return cells_[index]; }
  const StockCell& cell(std::uint32_t index) const { return cells_[index]; }
  std::string_view name(std::uint32_t index) const {
    return {names_[index].bytes, names_[index].size};
  }

  // SKUs defined so far; indices [0, size()) are valid.
  std::uint32_t size() const { return size_.load(std::memory_order_acquire); }
  std::uint32_t capacity() const { return capacity_; }

  static bool ValidName(std::string_view name) { return ValidateName(name) == Outcome::kOk; }

 private:
  struct NameEntry {
    std::uint8_t size;
    char bytes[kNameBytesMax];
  };
  static_assert(kNameBytesMax <= 255, "name size fits NameEntry::size");

  // A lookup key carrying its hash, so the name is hashed once per lookup.
  struct HashedName {
    std::string_view name;
    std::size_t hash;
  };
  struct IndexHash {
    using is_transparent = void;
    const Catalog* catalog;
    std::size_t operator()(std::uint32_t index) const;
    std::size_t operator()(const HashedName& key) const { return key.hash; }
  };
  struct IndexEq {
    using is_transparent = void;
    const Catalog* catalog;
    bool operator()(std::uint32_t a, std::uint32_t b) const { return a == b; }
    bool operator()(std::uint32_t a, const HashedName& b) const { return catalog->name(a) == b.name; }
    bool operator()(const HashedName& a, std::uint32_t b) const { return a.name == catalog->name(b); }
  };
  using IndexSet = absl::flat_hash_set<std::uint32_t, IndexHash, IndexEq>;

  struct Shard {
    explicit Shard(const Catalog* catalog);
    IndexSet copies[2];
    std::atomic<int> active{0};
  };

  static HashedName Hash(std::string_view name);
  // The shard from the hash's high bits: flat_hash_set uses the low 7 bits
  // as its control byte, so picking shards from those would weaken filtering.
  Shard& ShardFor(std::size_t hash) const;
  std::optional<std::uint32_t> FindIn(const IndexSet& set, const HashedName& key) const;

  const std::uint32_t capacity_;
  std::unique_ptr<StockCell[]> cells_;
  std::unique_ptr<NameEntry[]> names_;
  std::unique_ptr<std::unique_ptr<Shard>[]> shards_;
  std::atomic<std::uint32_t> size_{0};
  // Serialises defines; also the fallback read lock for a thread that could
  // not get a reader slot (more than kReaderThreadsMax live readers).
  // std::mutex, not absl::Mutex: Debian's libabsl is not built for
  // ThreadSanitizer, which then cannot see absl::Mutex's ordering.
  mutable std::mutex define_mu_;
};

}  // namespace flashstock

#endif  // FLASHSTOCK_INTERNAL_CATALOG_H_
