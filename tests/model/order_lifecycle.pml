/* The order lifecycle of engine/orders/ (order_reserve.cc, order_close.cc, expiry.cc), checked over every interleaving.
 *
 * One order holding Q units races a COMMIT and a CANCEL (API threads:
 * Decide, under the shard mutex), the expiry driver (Visit: its CAS is
 * outside the mutex; then ScheduleForget/ForgetDue, which re-checks the
 * state under the mutex before forgetting the id), and a RETURN (which
 * waits while a commit is still moving stock). Each stock move is a
 * separate step, as each StockCell RMW is. Retention is 0, so the driver
 * forgets the id as soon as the order is settled.
 *
 * Checked: exactly one of commit, cancel and expiry wins; a return
 * restocks at most once and only a finished commit; no stock moves after
 * the id is forgotten (its slot may be reused); and at the end
 * available + held + sold == Q with the split the final state implies.
 *
 * tests/model/run_spin.sh checks this model, and three mutants that each
 * drop one rule of the protocol and must be caught:
 *   BUG_PLAIN_STORE        a decider loads HELD and later stores its winner
 *                          (no compare-and-swap): the classic double restock
 *   BUG_RETURN_IGNORES_MOVING  a return does not wait for the commit's moves
 *   BUG_FORGET_WITHOUT_RECHECK the driver forgets without re-checking the
 *                          state under the mutex (a return may be moving)
 */
/* MUTANTS: BUG_PLAIN_STORE BUG_RETURN_IGNORES_MOVING BUG_FORGET_WITHOUT_RECHECK */
#define Q 2
#define HELD 2
#define COMMITTED 3
#define CANCELLED 4
#define EXPIRED 5
#define RETURNED 6
#define MOVING 16
#define WON 255

byte state = HELD;                /* the slot's state word: a state, | MOVING while stock moves */
byte avail = 0; byte held = Q; byte sold = 0;
bool mu = false;                  /* the shard mutex */
bool forgotten = false;           /* the id erased, the slot free for reuse */
byte wins = 0;                    /* commit, cancel and expiry transitions won */
byte returns = 0;

inline lock() { atomic { !mu -> mu = true } }
inline unlock() { mu = false }
/* Every stock move: the slot must still be this order's, and no counter
 * may leave [0, Q] (bytes would wrap). */
inline moving() { assert(!forgotten) }
inline in_range() { assert(avail <= Q && held <= Q && sold <= Q) }

/* Decide(id, target) for COMMIT and CANCEL. */
proctype Decider(byte target) {
  byte w;
  lock();
  if
  :: forgotten -> unlock(); goto done   /* UNKNOWN_ORDER */
  :: else -> skip
  fi;
  w = state;
#ifdef BUG_PLAIN_STORE
  unlock();
  if
  :: w == HELD -> state = target | MOVING; w = WON
  :: else -> skip
  fi;
#else
  if
  :: w == HELD ->  /* the decision: CAS HELD -> target | MOVING */
     atomic { if :: state == HELD -> state = target | MOVING; w = WON :: else -> w = state fi }
  :: else -> skip
  fi;
  unlock();
#endif
  if
  :: w == WON ->
     wins++;
     moving(); held = held - Q; in_range();
     if
     :: target == COMMITTED -> moving(); sold = sold + Q
     :: target == CANCELLED -> moving(); avail = avail + Q
     fi;
     in_range();
     state = target            /* release store: settled */
  :: else -> skip               /* ORDER_CLOSED naming the winner */
  fi;
done: skip
}

/* Decide(id, RETURNED): COMMITTED -> RETURNED, waiting out a commit's moves. */
proctype Returner() {
  byte w;
retry:
  lock();
  if
  :: forgotten -> unlock(); goto done
  :: else -> skip
  fi;
  w = state;
#ifndef BUG_RETURN_IGNORES_MOVING
  if
  :: w == (COMMITTED | MOVING) -> unlock(); goto retry
  :: else -> skip
  fi;
#else
  if
  :: w == (COMMITTED | MOVING) -> w = COMMITTED
  :: else -> skip
  fi;
#endif
  if
  :: w == COMMITTED ->  /* CAS from the word loaded (the mutant's may still be moving) */
#ifndef BUG_RETURN_IGNORES_MOVING
     atomic { if :: state == COMMITTED -> state = RETURNED | MOVING; w = WON :: else -> skip fi }
#else
     atomic { if :: (state & ~MOVING) == COMMITTED -> state = RETURNED | MOVING; w = WON :: else -> skip fi }
#endif
  :: else -> skip
  fi;
  unlock();
  if
  :: w == WON ->
     returns++;
     moving(); sold = sold - Q; in_range();
     moving(); avail = avail + Q; in_range();
     state = RETURNED
  :: else -> skip               /* ORDER_OPEN or ORDER_CLOSED */
  fi;
done: skip
}

/* The expiry driver: Visit at the deadline, then forget once settled. */
proctype Driver() {
  byte w;
  w = state;
  if
  :: w == HELD ->  /* the decision, outside the mutex */
     atomic { if :: state == HELD -> state = EXPIRED | MOVING; w = WON :: else -> skip fi };
     if
     :: w == WON ->
        wins++;
        moving(); held = held - Q; in_range();
        moving(); avail = avail + Q; in_range();
        state = EXPIRED
     :: else -> skip
     fi
  :: else -> skip
  fi;
look:
  w = state;
  if
  :: (w & MOVING) == 0 && w != HELD ->   /* Settled(): due to be forgotten */
     lock();
#ifdef BUG_FORGET_WITHOUT_RECHECK
     forgotten = true;
#else
     if
     :: state == w -> forgotten = true
     :: else -> skip                   /* a return won meanwhile: next tick */
     fi;
#endif
     unlock();
     if
     :: forgotten -> skip
     :: else -> goto look
     fi
  :: else -> goto look                 /* still moving: next tick */
  fi
}

init {
  atomic {
    run Decider(COMMITTED);
    run Decider(CANCELLED);
    run Driver();
    run Returner()
  }
  (_nr_pr == 1);                        /* every process finished */
  assert(wins == 1);
  assert(returns <= 1);
  assert(avail + held + sold == Q);
  assert(held == 0);
  if
  :: state == COMMITTED -> assert(sold == Q && avail == 0)
  :: state == RETURNED -> assert(returns == 1 && sold == 0 && avail == Q)
  :: state == CANCELLED || state == EXPIRED -> assert(sold == 0 && avail == Q)
  :: else -> assert(false)
  fi
}
