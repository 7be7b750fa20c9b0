/* The escrow lease protocol of one SKU, checked over every interleaving.
 *
 * A SKU's units live in a central pool (a StockCell: takes never leave it
 * below the floor F <= 0) and in NL lease words that spread takers over
 * separate cache lines. A lease word holds units (>= 0) or a sentinel:
 * REVOKED (the SKU is joined: use the pool) or REFILLING (its owner is
 * moving units from the pool into it). The state word is (seq << 1) | split,
 * seq odd while a transition runs; the exclusion (a per-SKU mutex)
 * serialises transitions and slow paths.
 *
 * Modelled: three takers (two share lease 0), each taking 1 or 2 units
 * once, through the lease path (sell from the lease, pool-direct while a
 * sharer refills, refill from the pool), the joined fast path (pool take,
 * then the state re-check that makes its refusal exact) and the slow path
 * (Join under the exclusion, then the pool). One restocker adds RESTOCK
 * units and, if the SKU is joined, Splits it again. The SKU starts with
 * INIT units: split with all of them in the pool (as a Split leaves it),
 * split with all but one unit above the floor in lease 1 (as a refill may
 * leave it: a Join then needs one take fewer, which three takes need to
 * reach Join, Split and a refill after it), or joined. Each refill asks for
 * 1 or 2 units beyond its need.
 *
 * Abstracted away, and why:
 * - A compare-and-swap loop is one atomic step: its load has no effect and
 *   a CAS that fails only reloads, so any run that interleaves between the
 *   load and a successful CAS equals one where the load came just before
 *   the CAS (ABA included: the CAS compares values, and values are all the
 *   protocol reads). A decision taken on a load (a sentinel, a refusal) is
 *   that load's step.
 * - Separate steps remain wherever the protocol really has them: the state
 *   read before the lease or pool, the pool read and the state re-check of
 *   the joined fast path, a refill's claim, pool take and deposit, and a
 *   Join's revoke and its pool add (units the reclaimer holds meanwhile).
 * - Memory orders: Spin runs every interleaving of sequentially consistent
 *   steps; the C++ must give the re-check the same meaning. A pool value a
 *   refill left after a Split must bring the Split's state word with it:
 *   the owner read the split state with acquire (Split publishes it with
 *   release), its pool RMW is release, the joined path's pool load is
 *   acquire, so its re-read of the state cannot see the state before Split.
 * - A waiting Join or a busy exclusion is a blocked guard, not a spin loop;
 *   the joined path retries at most RETRIES times before the slow path.
 *
 * Ghosts: `total` is the SKU's stock wherever it is (pool, leases, a
 * refilling owner's or a reclaimer's hands): INIT + restocked - sold, changed
 * in the same atomic step as the real change that sells or restocks. A
 * refill moves units pool -> owner -> lease and a Join lease -> reclaimer ->
 * pool without changing it.
 *
 * Invariants asserted:
 * - Floor: the pool never goes below F (a refill takes down to it; the
 *   other takes refuse below it), a lease never holds fewer than 0 units.
 * - Exact refusal (no stranding): a take of q is refused only if, at the
 *   pool read that decided it, total - F < q (the joined fast path records
 *   total at its pool read and asserts once the re-check passes).
 * - Split only from joined: every lease is REVOKED when Split zeroes it.
 * - At the end: pool + leases + sold == INIT + restocked (conservation); a
 *   joined SKU has every lease REVOKED (no units stranded where no taker
 *   looks); if a take of q was refused with no restock after its pool read,
 *   the units left are < q.
 *
 * tests/model/run_spin.sh checks this model, and these mutants that each
 * drop one rule of the protocol and must be caught:
 *   BUG_REFUSE_BEFORE_RECLAIM     the slow path refuses on the pool alone, without Join
 *   BUG_REFILL_OUTSIDE_EXCLUSION  Join does not wait for a REFILLING lease: revokes it as 0
 *   BUG_NO_EPOCH_RECHECK          the joined fast path refuses without re-reading the state
 *   BUG_OWNER_STORES_UNCLAIMED    a refill does not claim its lease REFILLING: the owner's
 *                                 plain-store deposit lands on a REVOKED lease or on a
 *                                 sharer's deposit
 *   BUG_REVOKED_SKIPS_SPLIT_CHECK after seeing REVOKED, the taker runs the joined path on
 *                                 a re-read state without checking it is still joined
 */
/* MUTANTS: BUG_REFUSE_BEFORE_RECLAIM BUG_REFILL_OUTSIDE_EXCLUSION BUG_NO_EPOCH_RECHECK BUG_OWNER_STORES_UNCLAIMED BUG_REVOKED_SKIPS_SPLIT_CHECK */

#define NL 2                  /* lease words */
#ifndef INIT
#define INIT 3                /* units in the pool at the start */
#endif
#ifndef RESTOCK
#define RESTOCK 1
#endif
#ifndef FLOOR
#define FLOOR 0               /* F: the pool's floor, <= 0 */
#endif
#define RETRIES 1             /* joined-path restarts before the slow path */
#define REVOKED (-1)
#define REFILLING (-2)

#define SPLIT(s) (((s) & 1) == 1)
#define IN_TRANSITION(s) ((((s) >> 1) & 1) == 1)

short pool = INIT;            /* init may move some into a lease */
short lease[NL];
byte state;                   /* (seq << 1) | split */
bool mu = false;              /* the exclusion */

/* ghosts */
short total = INIT;           /* INIT + restocked - sold */
short sold = 0;
short restocked = 0;
byte refused_q = 0;           /* smallest q refused since the last restock (0: none) */

inline lock() { atomic { !mu -> mu = true } }
inline unlock() { mu = false }
inline floor_ok() { assert(pool >= FLOOR) }

/* Join, holding the exclusion, the SKU split and stable. */
inline join() {
  seq = state >> 1;
  state = ((seq + 1) << 1) | 1;
  j = 0;
  do
  :: j < NL ->
#ifndef BUG_REFILL_OUTSIDE_EXCLUSION
     /* Wait out a refill: its owner holds units it will deposit here with a
      * plain store, so revoking under it would strand them. */
     atomic { lease[j] != REFILLING -> reclaim = lease[j]; lease[j] = REVOKED }
#else
     atomic {
       reclaim = lease[j]; lease[j] = REVOKED;
       if :: reclaim == REFILLING -> reclaim = 0 :: else -> skip fi
     }
#endif
     /* The reclaimer holds `reclaim` units until this add. */
     if
     :: reclaim > 0 -> pool = pool + reclaim
     :: else -> skip
     fi;
     j++
  :: else -> break
  od;
  state = (seq + 2) << 1
}

/* Split, holding the exclusion, the SKU joined and stable. */
inline split() {
  seq = state >> 1;
  state = (seq + 1) << 1;
  j = 0;
  do
  :: j < NL -> assert(lease[j] == REVOKED); lease[j] = 0; j++
  :: else -> break
  od;
  state = ((seq + 2) << 1) | 1
}

/* A refusal of q, exact when `seen` (total at the deciding pool read) - F < q.
 * It counts for the end check if no restock came after that pool read. */
inline refuse(seen, stamp) {
  atomic {
    assert(seen - FLOOR < q);
    if
    :: stamp == restocked && (refused_q == 0 || q < refused_q) -> refused_q = q
    :: else -> skip
    fi
  }
}

proctype Taker(byte q; byte i) {
  byte s, s2, seq, j, tries = 0;
  short v, got, want, have, reclaim, seen, stamp;
  bool ok;

  /* The inline fast path (Engine::Take, Escrow::TrySpendLease): the
   * caller's lease alone, before any state read; a split, a join or a
   * refill may be anywhere in its steps. Anything but a count covering q
   * goes on to the full protocol below, which it never re-enters. */
  atomic {
    v = lease[i];
    if
    :: v >= q -> lease[i] = v - q; sold = sold + q; total = total - q
    :: else -> skip
    fi
  }
  if
  :: v >= q -> goto done
  :: else -> skip
  fi;

start:
  s = state;
  if
  :: SPLIT(s) -> goto lease_path
  :: else -> goto joined_path
  fi;

lease_path:
#ifndef BUG_OWNER_STORES_UNCLAIMED
  atomic {
    v = lease[i];
    if
    :: v >= q -> lease[i] = v - q; sold = sold + q; total = total - q
    :: v >= 0 && v < q -> lease[i] = REFILLING   /* claim: the owner holds v */
    :: else -> skip
    fi
  }
#else
  atomic {
    v = lease[i];
    if
    :: v >= q -> lease[i] = v - q; sold = sold + q; total = total - q
    :: else -> skip                              /* no claim: just a load */
    fi
  }
#endif
  if
  :: v >= q -> goto done
  :: v == REVOKED -> goto revoked
  :: v == REFILLING -> goto pool_direct
  :: else -> skip
  fi;
  /* Refill: take up to want from the pool, down to the floor. */
  if
  :: want = q - v + 1
  :: want = q - v + 2
  fi;
  atomic {
    if
    :: pool - FLOOR >= want -> got = want
    :: else -> got = pool - FLOOR
    fi;
    pool = pool - got;
    floor_ok()
  }
  have = v + got;
  /* Only the owner writes a REFILLING lease: a plain store. The sale is
   * linearised at this store, not at the pool take: until it, the owner's
   * units count in total, the stricter choice for the refusal check. */
  if
  :: have >= q ->
     atomic { lease[i] = have - q; sold = sold + q; total = total - q };
     goto done
  :: else ->
     lease[i] = have;
     goto slow
  fi;

pool_direct:                  /* a sharer is refilling our lease */
  atomic {
    ok = (pool - q >= FLOOR);
    if
    :: ok -> pool = pool - q; sold = sold + q; total = total - q; floor_ok()
    :: else -> skip
    fi
  }
  if
  :: ok -> goto done
  :: else -> goto slow
  fi;

revoked:                      /* a Join has run or is running */
  s = state;
  if
  :: IN_TRANSITION(s) -> goto slow
#ifndef BUG_REVOKED_SKIPS_SPLIT_CHECK
  :: !IN_TRANSITION(s) && SPLIT(s) -> goto retry  /* a Split has finished since */
#endif
  :: else -> skip
  fi;

joined_path:
  if
  :: IN_TRANSITION(s) -> goto slow
  :: else -> skip
  fi;
  atomic {
    ok = (pool - q >= FLOOR);
    if
    :: ok -> pool = pool - q; sold = sold + q; total = total - q; floor_ok()
    :: else -> seen = total; stamp = restocked
    fi
  }
  if
  :: ok -> goto done
  :: else -> skip
  fi;
#ifndef BUG_NO_EPOCH_RECHECK
  /* Unchanged state (seq only grows): no Split ran since s, so the leases
   * were REVOKED at the pool read and the pool was all there was. */
  s2 = state;
#else
  s2 = s;
#endif
  if
  :: s2 == s -> refuse(seen, stamp); goto done
  :: else -> skip
  fi;

retry:
  if
  :: tries < RETRIES -> tries++; goto start
  :: else -> skip
  fi;

slow:
  lock();
  assert(!IN_TRANSITION(state));
#ifndef BUG_REFUSE_BEFORE_RECLAIM
  if
  :: SPLIT(state) -> join()
  :: else -> skip
  fi;
#endif
  atomic {
    ok = (pool - q >= FLOOR);
    if
    :: ok -> pool = pool - q; sold = sold + q; total = total - q; floor_ok()
    :: else -> seen = total; stamp = restocked
    fi
  }
  if
  :: !ok -> refuse(seen, stamp)
  :: else -> skip
  fi;
  unlock();

done: skip
}

proctype Restocker() {
  byte seq, j;
  atomic {
    pool = pool + RESTOCK; restocked = restocked + RESTOCK; total = total + RESTOCK;
    refused_q = 0             /* earlier refusals say nothing about the end */
  }
  lock();
  if
  :: !SPLIT(state) -> split()
  :: else -> skip
  fi;
  unlock()
}

init {
  byte j;
  short have;
  atomic {
    /* The SKU as a Split leaves it, as an earlier refill may have left it
     * (all but one unit above the floor in lease 1), or joined. */
    if
    :: state = 1
    :: state = 1; pool = FLOOR + 1; lease[1] = INIT - FLOOR - 1
    :: state = 0; lease[0] = REVOKED; lease[1] = REVOKED
    fi;
    /* takers 0 and 1 share lease 0 */
    if :: run Taker(1, 0) :: run Taker(2, 0) fi;
    if :: run Taker(1, 0) :: run Taker(2, 0) fi;
    if :: run Taker(1, 1) :: run Taker(2, 1) fi;
    run Restocker()
  }
  (_nr_pr == 1);              /* every process finished */
  assert(!IN_TRANSITION(state));
  assert(pool >= FLOOR);
  have = pool;
  j = 0;
  do
  :: j < NL ->
     assert(lease[j] >= REVOKED);   /* no refill left over, no negative units */
     /* Units in a lease of a joined SKU are stranded: no taker looks there. */
     assert(lease[j] == REVOKED || SPLIT(state));
     if
     :: lease[j] >= 0 -> have = have + lease[j]
     :: else -> skip
     fi;
     j++
  :: else -> break
  od;
  assert(have + sold == INIT + restocked);     /* conservation */
  assert(refused_q == 0 || have - FLOOR < refused_q)
}
