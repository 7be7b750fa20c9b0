#include "journal/recovery.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/file.h"

namespace flashstock::journal {

std::string RecoveryReport::Summary() const {
  std::string s = absl::StrCat(
      "snapshot ", snapshot.empty() ? std::string("none") : absl::StrCat(snapshot, " (sequence ", snapshot_sequence, ")"),
      "; ", segments, " segment(s), ", records, " record(s) verified, ", replayed, " replayed");
  if (torn_tail) {
    absl::StrAppend(&s, "; torn tail cut from ", problem_file, " at offset ", problem_offset, " (",
                    dropped_bytes, " bytes dropped: ", problem, ")");
  }
  if (salvaged) {
    absl::StrAppend(&s, "; SALVAGED: damage in ", problem_file, " at offset ", problem_offset, " (", problem,
                    "); ", dropped_bytes, " bytes dropped");
    if (!dropped_files.empty()) absl::StrAppend(&s, ", later segments set aside: ", absl::StrJoin(dropped_files, " "));
  }
  return s;
}

absl::StatusOr<std::vector<SegmentFile>> ListSegments(const std::string& dir) {
  absl::StatusOr<std::vector<std::string>> names = internal::ListDir(dir);
  if (!names.ok()) return names.status();
  std::vector<SegmentFile> segments;
  for (const std::string& n : *names) {
    std::uint64_t first = 0;
    if (ParseSegmentFileName(n, &first)) segments.push_back({first, n});
  }
  std::sort(segments.begin(), segments.end(),
            [](const SegmentFile& a, const SegmentFile& b) { return a.first_sequence < b.first_sequence; });
  return segments;
}

absl::StatusOr<Recovered> Recover(const std::string& dir, const RecoveryOptions& options) {
  absl::StatusOr<std::vector<std::string>> names = internal::ListDir(dir);
  if (!names.ok()) return names.status();
  std::vector<std::uint64_t> snapshots;
  for (const std::string& n : *names) {
    std::uint64_t seq = 0;
    if (ParseSnapshotFileName(n, &seq)) snapshots.push_back(seq);
    if (options.repair && n.size() > 4 && n.substr(n.size() - 4) == ".tmp") {
      (void)internal::RemoveFile(dir + "/" + n);  // an interrupted checkpoint
    }
  }
  std::sort(snapshots.rbegin(), snapshots.rend());

  Recovered out;
  RecoveryReport& report = out.report;
  JournalState& state = out.state;
  for (std::uint64_t seq : snapshots) {
    const std::string name = SnapshotFileName(seq);
    absl::StatusOr<std::string> bytes = internal::ReadWholeFile(dir + "/" + name);
    absl::StatusOr<JournalState> loaded = bytes.ok() ? DecodeSnapshot(*bytes) : bytes.status();
    if (loaded.ok() && loaded->sequence != seq) {
      loaded = absl::DataLossError(absl::StrCat("holds sequence ", loaded->sequence));
    }
    if (loaded.ok()) {
      state = std::move(*loaded);
      report.snapshot = name;
      report.snapshot_sequence = seq;
      break;
    }
    if (!options.salvage) {
      return absl::DataLossError(absl::StrCat(dir, "/", name, " at offset 0: ", loaded.status().message(),
                                              " (use --salvage to fall back to an older snapshot)"));
    }
    report.salvaged = true;
    report.problem_file = name;
    report.problem = std::string(loaded.status().message());
  }

  absl::StatusOr<std::vector<SegmentFile>> segments = ListSegments(dir);
  if (!segments.ok()) return segments.status();
  const std::size_t n = segments->size();
  const std::uint64_t snapshot_sequence = state.sequence;
  bool started = false;  // read a segment holding records after the snapshot

  for (std::size_t i = 0; i < n; ++i) {
    const SegmentFile& seg = (*segments)[i];
    const bool covered = i + 1 < n && (*segments)[i + 1].first_sequence <= snapshot_sequence + 1;
    if (covered && !options.read_covered) continue;
    const bool is_last = i + 1 == n;
    const std::string path = dir + "/" + seg.name;
    absl::StatusOr<std::string> bytes = internal::ReadWholeFile(path);
    if (!bytes.ok()) return bytes.status();
    ++report.segments;

    SegmentReader reader(*bytes, is_last);
    std::uint64_t stop_offset = 0;
    std::string problem;
    bool torn = false;
    if (!reader.ReadHeader()) {
      torn = reader.end() == SegmentReader::End::kTornTail;
      problem = reader.problem();
    } else if (reader.first_sequence() != seg.first_sequence) {
      problem = absl::StrCat("header says first sequence ", reader.first_sequence());
    } else if (!covered && !started && seg.first_sequence > state.sequence + 1) {
      problem = absl::StrCat("records ", state.sequence + 1, "..", seg.first_sequence - 1, " are missing");
    } else if (!covered && started && seg.first_sequence != state.sequence + 1) {
      problem = absl::StrCat("sequence gap between segments (expected ", state.sequence + 1, ")");
    } else {
      if (!covered) started = true;
      // Records are applied in groups of kReplayWindow, each SKU's state
      // prefetched as its record is read: replay is bound by cache misses on
      // the SKU array (random SKUs), and this overlaps them.
      constexpr std::size_t kReplayWindow = 32;
      Record window[kReplayWindow];
      std::size_t pending = 0;
      auto apply_window = [&]() -> bool {
        for (std::size_t k = 0; k < pending; ++k) {
          const Record& r = window[k];
          if (!covered && r.sequence > state.sequence) {
            if (absl::Status s = state.Apply(r); !s.ok()) {
              problem = absl::StrCat(s.message(), " in record ", r.sequence, " at offset ", r.offset);
              stop_offset = r.offset;
              return false;
            }
            ++report.replayed;
          }
          if (options.on_record) options.on_record(seg.name, r);
        }
        pending = 0;
        return true;
      };
      bool applied_all = true;
      while (reader.Next(&window[pending])) {
        ++report.records;
        const std::uint32_t sku = window[pending].sku;
        if (sku < state.skus.size()) __builtin_prefetch(&state.skus[sku].level, 1);
        if (++pending == kReplayWindow && !(applied_all = apply_window())) break;
      }
      if (applied_all) applied_all = apply_window();
      if (problem.empty()) {
        stop_offset = reader.valid_bytes();
        if (reader.end() != SegmentReader::End::kClean) {
          torn = reader.end() == SegmentReader::End::kTornTail;
          problem = reader.problem();
        }
      }
    }
    if (problem.empty()) continue;

    report.problem_file = seg.name;
    report.problem_offset = stop_offset;
    report.problem = problem;
    report.dropped_bytes = bytes->size() - stop_offset;
    if (torn) {
      report.torn_tail = true;
    } else if (!options.salvage) {
      return absl::DataLossError(absl::StrCat(path, " at offset ", stop_offset, ": ", problem,
                                              " (not a torn tail; --salvage opens up to here)"));
    } else {
      report.salvaged = true;
      for (std::size_t j = i + 1; j < n; ++j) {
        const std::string later = dir + "/" + (*segments)[j].name;
        absl::StatusOr<std::string> b = internal::ReadWholeFile(later);
        if (b.ok()) report.dropped_bytes += b->size();
        report.dropped_files.push_back((*segments)[j].name);
        if (options.repair) {
          if (absl::Status s = internal::RenameFile(later, later + ".dropped"); !s.ok()) return s;
        }
      }
    }
    if (options.repair) {
      absl::Status s = stop_offset < kSegmentHeaderBytes ? internal::RemoveFile(path)
                                                         : internal::TruncateFile(path, stop_offset);
      if (!s.ok()) return s;
      internal::FileSystem* fs = options.fs != nullptr ? options.fs : internal::FileSystem::Default();
      if (absl::Status d = fs->SyncDir(dir); !d.ok()) return d;
    }
    break;
  }
  return out;
}

absl::Status Replay(const JournalState& state, RecoveryApplier& applier) {
  for (std::size_t i = 0; i < state.skus.size(); ++i) {
    if (absl::Status s = applier.ApplySku(static_cast<std::uint32_t>(i), state.skus[i]); !s.ok()) return s;
  }
  std::vector<std::pair<std::uint64_t, const OrderEntry*>> sorted;
  sorted.reserve(state.orders.size());
  for (const auto& [id, e] : state.orders) sorted.emplace_back(id, &e);
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    const bool ha = a.second->state == OrderState::kHeld, hb = b.second->state == OrderState::kHeld;
    if (ha != hb) return ha;
    return a.first < b.first;
  });
  for (const auto& [id, e] : sorted) {
    if (absl::Status s = applier.ApplyOrder(id, *e); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status CatchUp(const std::string& dir, std::uint64_t through, JournalState* state) {
  absl::StatusOr<std::vector<SegmentFile>> segments = ListSegments(dir);
  if (!segments.ok()) return segments.status();
  const std::size_t n = segments->size();
  for (std::size_t i = 0; i + 1 < n && state->sequence < through; ++i) {
    const SegmentFile& seg = (*segments)[i];
    const std::uint64_t next_first = (*segments)[i + 1].first_sequence;
    if (next_first <= state->sequence + 1) continue;  // wholly folded already
    if (seg.first_sequence > through) break;
    const std::string path = dir + "/" + seg.name;
    absl::StatusOr<std::string> bytes = internal::ReadWholeFile(path);
    if (!bytes.ok()) return bytes.status();
    SegmentReader reader(*bytes, /*is_last=*/false);
    if (!reader.ReadHeader()) return absl::DataLossError(absl::StrCat(path, ": ", reader.problem()));
    if (reader.first_sequence() > state->sequence + 1) {
      return absl::DataLossError(absl::StrCat(path, ": records from ", state->sequence + 1, " missing"));
    }
    Record r;
    while (state->sequence < through && reader.Next(&r)) {
      if (r.sequence <= state->sequence) continue;
      if (absl::Status s = state->Apply(r); !s.ok()) {
        return absl::DataLossError(absl::StrCat(path, " at offset ", r.offset, ": ", s.message()));
      }
    }
    if (reader.end() == SegmentReader::End::kCorrupt || reader.end() == SegmentReader::End::kTornTail) {
      return absl::DataLossError(absl::StrCat(path, " at offset ", reader.valid_bytes(), ": ", reader.problem()));
    }
  }
  if (state->sequence != through) {
    return absl::DataLossError(absl::StrCat(dir, ": journal ends at ", state->sequence, ", expected ", through));
  }
  return absl::OkStatus();
}

}  // namespace flashstock::journal
