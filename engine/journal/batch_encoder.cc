// The batch encoder: summing deltas per SKU, assembling order groups, and
// encoding every record of a batch into one buffer.
#include "journal/batch_encoder.h"

#include <algorithm>
#include <cassert>
#include <limits>

namespace flashstock::journal {

BatchEncoder::BatchEncoder(std::uint64_t first_sequence, std::size_t reserve_bytes)
    : next_sequence_(first_sequence) {
  buffer_.reserve(reserve_bytes);
}

void BatchEncoder::AddDefine(std::uint32_t sku, std::string_view name, std::int64_t level, std::int64_t floor) {
  EncodeDefineRecord(Extend(DefineRecordBytes(name.size())), next_sequence_++, sku, name, level, floor);
}

void BatchEncoder::AddStockRecord(RecordType type, std::uint32_t sku, std::int64_t value) {
  EncodeStockRecord(Extend(kStockRecordBytes), type, next_sequence_++, sku, value);
}

void BatchEncoder::Accumulate(const Entry& e) {
  if (e.sku >= acc_of_sku_.size()) acc_of_sku_.resize(std::max<std::size_t>(e.sku + 1, acc_of_sku_.size() * 2), -1);
  std::int32_t& slot = acc_of_sku_[e.sku];
  if (slot < 0) {
    slot = static_cast<std::int32_t>(accs_.size());
    accs_.push_back({e.sku, 0, 0});
  }
  Acc& a = accs_[slot];
  std::uint64_t& sum = e.type == RecordType::kTake ? a.take : a.restock;
  const std::uint64_t q = static_cast<std::uint64_t>(e.value);
  constexpr std::uint64_t kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (sum > kMax - q) {  // the merged quantity would not fit a record: emit what we have
    EncodeStockRecord(Extend(kStockRecordBytes), e.type, next_sequence_++, e.sku, static_cast<std::int64_t>(sum));
    sum = 0;
  }
  sum += q;
}

void BatchEncoder::Consume(const Entry& e) {
  if (group_need_ > 0) {
    assert(e.type == kEntryContinuation);
    group_[group_have_++] = e;
    if (group_have_ == group_need_) {
      EncodeOrderGroup(group_);
      group_have_ = group_need_ = 0;
    }
    return;
  }
  if (e.type == RecordType::kTake || e.type == RecordType::kRestock) {
    Accumulate(e);
    return;
  }
  group_need_ = OrderGroupEntries(e);
  assert(group_need_ <= kOrderEntriesMax);
  group_[0] = e;
  group_have_ = 1;
}

void BatchEncoder::ConsumeChunk(const Entry* entries, std::size_t n) {
  constexpr std::uint64_t kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  std::size_t i = 0;
  while (i < n) {
    const Entry& e = entries[i];
    if (group_need_ > 0) {  // finishing a group cut by the previous chunk
      Consume(e);
      ++i;
      continue;
    }
    if (e.type != RecordType::kTake && e.type != RecordType::kRestock) {
      const std::size_t size = OrderGroupEntries(e);
      if (i + size > n) {  // cut by the chunk's end: assemble it in group_
        Consume(e);
        ++i;
        continue;
      }
      EncodeOrderGroup(entries + i);
      i += size;
      continue;
    }
    // A run of one SKU's takes (or restocks), as a hot SKU's ring holds:
    // summed here in a register, handed to Accumulate once. The sum stays
    // an int64 (the run stops before it would not).
    std::uint64_t sum = static_cast<std::uint64_t>(e.value);
    std::size_t j = i + 1;
    while (j < n && entries[j].type == e.type && entries[j].sku == e.sku &&
           static_cast<std::uint64_t>(entries[j].value) <= kMax - sum) {
      sum += static_cast<std::uint64_t>(entries[j].value);
      ++j;
    }
    Accumulate({e.type, e.sku, static_cast<std::int64_t>(sum)});
    i = j;
  }
}

char* BatchEncoder::Extend(std::size_t n) {
  const std::size_t at = buffer_.size();
  buffer_.resize(at + n, boost::container::default_init);
  return buffer_.data() + at;
}

void BatchEncoder::EncodeOrderGroup(const Entry* group) {
  const Entry& head = group[0];
  const std::uint64_t id = static_cast<std::uint64_t>(head.value);
  if (head.type == RecordType::kOrderReserve || head.type == RecordType::kOrderReserveFailed) {
    OrderLineRecord lines[kOrderLinesMax];
    const std::size_t first_line = head.type == RecordType::kOrderReserve ? 2 : 3;
    for (std::uint32_t i = 0; i < head.sku; ++i) {
      const Entry& l = group[first_line + i];
      lines[i] = {l.sku, static_cast<std::uint32_t>(l.value)};
    }
    if (head.type == RecordType::kOrderReserve) {
      EncodeOrderReserveRecord(Extend(OrderReserveRecordBytes(head.sku)), next_sequence_++, id, group[1].value,
                               lines, head.sku);
    } else {
      EncodeOrderFailedRecord(Extend(OrderFailedRecordBytes(head.sku)), next_sequence_++, id, group[1].value,
                              group[1].sku, group[2].value, lines, head.sku);
    }
  } else {
    EncodeOrderCloseRecord(Extend(kOrderCloseRecordBytes), head.type, next_sequence_++, id, group[1].value,
                           group[2].value);
  }
}

void BatchEncoder::EncodeSums() {
  for (const Acc& a : accs_) {
    for (RecordType t : {RecordType::kTake, RecordType::kRestock}) {
      const std::uint64_t q = t == RecordType::kTake ? a.take : a.restock;
      if (q == 0) continue;
      EncodeStockRecord(Extend(kStockRecordBytes), t, next_sequence_++, a.sku, static_cast<std::int64_t>(q));
    }
    acc_of_sku_[a.sku] = -1;
  }
  accs_.clear();
}

}  // namespace flashstock::journal
