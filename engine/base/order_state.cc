// The order states' names, as the shell and the journal's messages print
// them. Apart from the book so that the journal reader (and its fuzz target)
// can name a state without linking the order book.
#include "flashstock/order.h"

namespace flashstock {

std::string_view OrderStateName(OrderState state) {
  switch (state) {
    case OrderState::kNone: return "NONE";
    case OrderState::kReserving: return "RESERVING";
    case OrderState::kHeld: return "HELD";
    case OrderState::kCommitted: return "COMMITTED";
    case OrderState::kCancelled: return "CANCELLED";
    case OrderState::kExpired: return "EXPIRED";
    case OrderState::kReturned: return "RETURNED";
    case OrderState::kFailed: return "FAILED";
  }
  return "UNKNOWN_STATE";
}

}  // namespace flashstock
