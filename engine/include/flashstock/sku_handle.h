#ifndef FLASHSTOCK_SKU_HANDLE_H_
#define FLASHSTOCK_SKU_HANDLE_H_

#include <cstdint>

namespace flashstock {

// A resolved SKU: an index into the engine's cell array. Valid for the life
// of the engine that issued it (cells never move). Cheap to copy; compare by
// index. Resolve a name once, then operate by handle with no lookup at all.
struct SkuHandle {
  std::uint32_t index = 0;

  friend bool operator==(SkuHandle a, SkuHandle b) { return a.index == b.index; }
};

}  // namespace flashstock

#endif  // FLASHSTOCK_SKU_HANDLE_H_
