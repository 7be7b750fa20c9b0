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
  }
  return "UNKNOWN_OUTCOME";
}

}  // namespace flashstock
