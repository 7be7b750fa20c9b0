// Background checkpoints: a snapshot of the state as of a sequence number,
// then removal of the segments and snapshots it makes redundant.
//
// The snapshot is not read from the live cells (which change under it) but
// folded from the journal itself: the checkpointer keeps the state as of its
// last snapshot (initially the recovered state), asks the writer to close the
// active segment (RotateForCheckpoint returns S, the last sequence in closed
// segments), and folds the closed segments' records up to S into it, exactly
// as recovery would. So snapshot(S) + records after S == recovery of the
// whole journal == the live state; see docs/design.md. Takes never wait for
// it: it reads files the journal thread no longer writes.
#ifndef FLASHSTOCK_CHECKPOINTER_H_
#define FLASHSTOCK_CHECKPOINTER_H_

#include <string>
#include <thread>

#include "absl/status/status.h"
#include <condition_variable>
#include <mutex>
#include "journal/journal_writer.h"
#include "journal/snapshot.h"

namespace flashstock::journal {

class Checkpointer {
 public:
  // `state` is the recovered state (its sequence is where the writer began).
  // Closed orders are pruned from snapshots order_retention_nanos (+ a
  // margin) after they closed.
  Checkpointer(std::string dir, internal::FileSystem* fs, JournalState state, std::int64_t order_retention_nanos);
  ~Checkpointer();  // Stop()s

  // Stops the background thread (waits for a running checkpoint). Due() may
  // still be called afterwards and does nothing.
  void Stop();

  // Starts the background thread, which checkpoints whenever Due() is called.
  void Start(JournalWriter* writer);
  // Requests a background checkpoint. Never blocks (called on the journal thread).
  void Due();
  // Checkpoints now, on the calling thread. Serialised with the background one.
  absl::Status Checkpoint();

  std::uint64_t checkpoints() const;
  absl::Status last_status() const;

 private:
  void Run();

  const std::string dir_;
  internal::FileSystem* const fs_;
  const std::int64_t order_retention_nanos_;
  JournalWriter* writer_ = nullptr;
  // std::mutex, not absl::Mutex: see journal_writer.h.
  std::mutex run_mu_;   // one checkpoint at a time
  JournalState state_;  // guarded by run_mu_

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool due_ = false;  // guarded by mu_ (and the next three)
  bool stop_ = false;
  std::uint64_t checkpoints_ = 0;
  absl::Status last_status_;
  std::thread thread_;
};

}  // namespace flashstock::journal

#endif  // FLASHSTOCK_CHECKPOINTER_H_
