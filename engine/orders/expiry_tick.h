// Clock readings to the expiry driver's ticks (kExpiryTickNanos): a
// deadline rounds up and the present down, so nothing is due early.
#ifndef FLASHSTOCK_ORDERS_EXPIRY_TICK_H_
#define FLASHSTOCK_ORDERS_EXPIRY_TICK_H_

#include <cstdint>

#include "flashstock/limits.h"

namespace flashstock::internal {

inline std::int64_t TickCeil(std::int64_t nanos) {
  return nanos / kExpiryTickNanos + (nanos % kExpiryTickNanos > 0 ? 1 : 0);
}
inline std::int64_t TickFloor(std::int64_t nanos) {
  return nanos / kExpiryTickNanos - (nanos % kExpiryTickNanos < 0 ? 1 : 0);
}

}  // namespace flashstock::internal

#endif  // FLASHSTOCK_ORDERS_EXPIRY_TICK_H_
