#include "flashstock/outcome.h"

namespace flashstock {

std::string_view OutcomeCode(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk: return "OK";
    case Outcome::kInsufficient: return "INSUFFICIENT";
    case Outcome::kUnknownSku: return "UNKNOWN_SKU";
    case Outcome::kInvalidQuantity: return "INVALID_QUANTITY";
    case Outcome::kInvalidName: return "INVALID_NAME";
    case Outcome::kAlreadyDefined: return "ALREADY_DEFINED";
    case Outcome::kCatalogFull: return "CATALOG_FULL";
    case Outcome::kBackpressure: return "BACKPRESSURE";
    case Outcome::kReadOnly: return "READONLY";
    case Outcome::kUnknownOrder: return "UNKNOWN_ORDER";
    case Outcome::kOrderClosed: return "ORDER_CLOSED";
    case Outcome::kOrderConflict: return "ORDER_CONFLICT";
    case Outcome::kOrdersFull: return "ORDERS_FULL";
    case Outcome::kInvalidOrder: return "INVALID_ORDER";
    case Outcome::kOrderOpen: return "ORDER_OPEN";
    case Outcome::kEscrowFull: return "ESCROW_FULL";
  }
  return "UNKNOWN_OUTCOME";
}

}  // namespace flashstock
