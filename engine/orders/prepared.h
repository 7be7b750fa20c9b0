// One order operation's journal reservation: OrderJournal's Prepare, then
// Append or Abandon, as a scope that abandons what it did not append.
#ifndef FLASHSTOCK_ORDERS_PREPARED_H_
#define FLASHSTOCK_ORDERS_PREPARED_H_

#include "flashstock/outcome.h"
#include "orders/order_book.h"
#include "orders/order_journal.h"

namespace flashstock {

// One operation's journal reservation (see OrderJournal): Begin() before
// anything changes; Append() once the transition is won; otherwise the
// destructor abandons it.
class OrderBook::Prepared {
 public:
  explicit Prepared(OrderJournal* journal) : journal_(journal) {}
  ~Prepared() { Release(); }
  Prepared(const Prepared&) = delete;
  Prepared& operator=(const Prepared&) = delete;
  Outcome Begin(bool reads_floor = false) {
    if (journal_ == nullptr) return Outcome::kOk;
    const Outcome o = journal_->Prepare(reads_floor);
    open_ = o == Outcome::kOk;
    return o;
  }
  OrderTicket Append(const OrderEvent& event) {
    if (!open_) return {};
    open_ = false;
    return journal_->Append(event);
  }
  void Release() {
    if (open_) journal_->Abandon();
    open_ = false;
  }

 private:
  OrderJournal* const journal_;
  bool open_ = false;
};

}  // namespace flashstock

#endif  // FLASHSTOCK_ORDERS_PREPARED_H_
