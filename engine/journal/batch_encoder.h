// Encodes one batch of the journal: the entries the journal thread drains
// and the control records become record bytes, numbered in file order.
#ifndef FLASHSTOCK_JOURNAL_BATCH_ENCODER_H_
#define FLASHSTOCK_JOURNAL_BATCH_ENCODER_H_

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "boost/container/vector.hpp"
#include "journal/journal_format.h"
#include "journal/producer_ring.h"

namespace flashstock::journal {

// Take and restock deltas of one SKU within a batch commute, so they are
// summed into one record per SKU and kind (the sums are encoded last, by
// EncodeSums); every other record is encoded as it arrives. An order
// group cut by the end of a popped chunk is assembled here until its last
// entry comes.
//
// Thread-safety: none; the journal thread owns it.
class BatchEncoder {
 public:
  // `first_sequence`: the number of the first record. `reserve_bytes`: the
  // batch buffer's capacity up front.
  BatchEncoder(std::uint64_t first_sequence, std::size_t reserve_bytes);
  BatchEncoder(const BatchEncoder&) = delete;
  BatchEncoder& operator=(const BatchEncoder&) = delete;

  // The number the next record gets.
  std::uint64_t next_sequence() const { return next_sequence_; }

  // Control records, encoded at once.
  void AddDefine(std::uint32_t sku, std::string_view name, std::int64_t level, std::int64_t floor);
  void AddStockRecord(RecordType type, std::uint32_t sku, std::int64_t value);
  // Takes one entry off a ring: stock entries accumulate, order groups are
  // assembled in group_ and encoded when complete.
  void Consume(const Entry& e);
  // Consume for n entries popped together; sums runs of one SKU's deltas
  // first, and encodes an order group that lies whole in the chunk from
  // where it lies (no copy through group_).
  void ConsumeChunk(const Entry* entries, std::size_t n);
  // True while an order group has begun and not ended: the rest of it is
  // still in the ring its head came from.
  bool group_open() const { return group_need_ > 0; }
  // Encodes the summed deltas: the batch's bytes are complete after it.
  void EncodeSums();

  const char* data() const { return buffer_.data(); }
  std::size_t size() const { return buffer_.size(); }
  bool empty() const { return buffer_.empty(); }
  // Empties the buffer for the next batch.
  void Clear() { buffer_.clear(); }

 private:
  void Accumulate(const Entry& e);
  // Encodes one complete order group (OrderGroupEntries(group[0]) entries).
  void EncodeOrderGroup(const Entry* group);
  // Grows buffer_ by n bytes, left uninitialised (every byte is encoded
  // next), and returns where they start.
  char* Extend(std::size_t n);

  std::uint64_t next_sequence_;
  struct Acc {
    std::uint32_t sku;
    std::uint64_t take;
    std::uint64_t restock;
  };
  std::vector<std::int32_t> acc_of_sku_;  // index into accs_, -1 if none
  std::vector<Acc> accs_;
  // The batch being encoded. Grown without zero-filling (default_init):
  // every byte is written by an encoder right after.
  boost::container::vector<char> buffer_;
  Entry group_[kOrderEntriesMax];  // the order group being assembled
  std::size_t group_have_ = 0, group_need_ = 0;
};

}  // namespace flashstock::journal

#endif  // FLASHSTOCK_JOURNAL_BATCH_ENCODER_H_
