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

namespace {

// Where reading one segment stopped early, and why ("" if it did not).
struct SegmentStop {
  std::string problem;
  std::uint64_t offset = 0;
  bool torn = false;  // a torn tail: a crash artifact, not damage
};

// Loads the newest snapshot that reads clean into *out (none: the empty
// state); an unreadable one is damage unless salvage, which falls back to
// an older one. Also removes what an interrupted checkpoint left (repair).
absl::Status LoadNewestSnapshot(const std::string& dir, const RecoveryOptions& options, Recovered* out) {
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
  RecoveryReport& report = out->report;
  for (std::uint64_t seq : snapshots) {
    const std::string name = SnapshotFileName(seq);
    absl::StatusOr<std::string> bytes = internal::ReadWholeFile(dir + "/" + name);
    absl::StatusOr<JournalState> loaded = bytes.ok() ? DecodeSnapshot(*bytes) : bytes.status();
    if (loaded.ok() && loaded->sequence != seq) {
      loaded = absl::DataLossError(absl::StrCat("holds sequence ", loaded->sequence));
    }
    if (loaded.ok()) {
      out->state = std::move(*loaded);
      report.snapshot = name;
      report.snapshot_sequence = seq;
      return absl::OkStatus();
    }
    if (!options.salvage) {
      return absl::DataLossError(absl::StrCat(dir, "/", name, " at offset 0: ", loaded.status().message(),
                                              " (use --salvage to fall back to an older snapshot)"));
    }
    report.salvaged = true;
    report.problem_file = name;
    report.problem = std::string(loaded.status().message());
  }
  return absl::OkStatus();
}

// Verifies the records of one segment whose header checked out, folding
// those after the snapshot (unless `covered`) into *out, and passing each to
// options.on_record. Records are applied in groups of kReplayWindow, each
// SKU's state prefetched as its record is read: replay is bound by cache
// misses on the SKU array (random SKUs), and this overlaps them.
SegmentStop ReadRecords(SegmentReader& reader, const std::string& name, bool covered,
                        const RecoveryOptions& options, Recovered* out) {
  JournalState& state = out->state;
  SegmentStop stop;
  constexpr std::size_t kReplayWindow = 32;
  Record window[kReplayWindow];
  std::size_t pending = 0;
  auto apply_window = [&]() -> bool {
    for (std::size_t k = 0; k < pending; ++k) {
      const Record& r = window[k];
      if (!covered && r.sequence > state.sequence) {
        if (absl::Status s = state.Apply(r); !s.ok()) {
          stop.problem = absl::StrCat(s.message(), " in record ", r.sequence, " at offset ", r.offset);
          stop.offset = r.offset;
          return false;
        }
        ++out->report.replayed;
      }
      if (options.on_record) options.on_record(name, r);
    }
    pending = 0;
    return true;
  };
  bool applied_all = true;
  while (reader.Next(&window[pending])) {
    ++out->report.records;
    const std::uint32_t sku = window[pending].sku;
    if (sku < state.skus.size()) __builtin_prefetch(&state.skus[sku].level, 1);
    if (++pending == kReplayWindow && !(applied_all = apply_window())) break;
  }
  if (applied_all) applied_all = apply_window();
  if (stop.problem.empty()) {
    stop.offset = reader.valid_bytes();
    if (reader.end() != SegmentReader::End::kClean) {
      stop.torn = reader.end() == SegmentReader::End::kTornTail;
      stop.problem = reader.problem();
    }
  }
  return stop;
}

// What recovery does where a segment stopped early: a torn tail is cut; other
// damage refuses to open, or with salvage is cut too and every later segment
// renamed *.dropped. The cut is made durable through options.fs.
absl::Status HandleStop(const std::string& dir, const std::vector<SegmentFile>& segments, std::size_t i,
                        std::uint64_t segment_bytes, const SegmentStop& stop, const RecoveryOptions& options,
                        RecoveryReport* report) {
  const std::string path = dir + "/" + segments[i].name;
  report->problem_file = segments[i].name;
  report->problem_offset = stop.offset;
  report->problem = stop.problem;
  report->dropped_bytes = segment_bytes - stop.offset;
  if (stop.torn) {
    report->torn_tail = true;
  } else if (!options.salvage) {
    return absl::DataLossError(absl::StrCat(path, " at offset ", stop.offset, ": ", stop.problem,
                                            " (not a torn tail; --salvage opens up to here)"));
  } else {
    report->salvaged = true;
    for (std::size_t j = i + 1; j < segments.size(); ++j) {
      const std::string later = dir + "/" + segments[j].name;
      absl::StatusOr<std::string> b = internal::ReadWholeFile(later);
      if (b.ok()) report->dropped_bytes += b->size();
      report->dropped_files.push_back(segments[j].name);
      if (options.repair) {
        if (absl::Status s = internal::RenameFile(later, later + ".dropped"); !s.ok()) return s;
      }
    }
  }
  if (!options.repair) return absl::OkStatus();
  absl::Status s = stop.offset < kSegmentHeaderBytes ? internal::RemoveFile(path)
                                                      : internal::TruncateFile(path, stop.offset);
  if (!s.ok()) return s;
  internal::FileSystem* fs = options.fs != nullptr ? options.fs : internal::FileSystem::Default();
  return fs->SyncDir(dir);
}

}  // namespace

absl::StatusOr<Recovered> Recover(const std::string& dir, const RecoveryOptions& options) {
  Recovered out;
  if (absl::Status s = LoadNewestSnapshot(dir, options, &out); !s.ok()) return s;
  JournalState& state = out.state;
  absl::StatusOr<std::vector<SegmentFile>> segments = ListSegments(dir);
  if (!segments.ok()) return segments.status();
  const std::size_t n = segments->size();
  const std::uint64_t snapshot_sequence = state.sequence;
  bool started = false;  // read a segment holding records after the snapshot

  for (std::size_t i = 0; i < n; ++i) {
    const SegmentFile& seg = (*segments)[i];
    const bool covered = i + 1 < n && (*segments)[i + 1].first_sequence <= snapshot_sequence + 1;
    if (covered && !options.read_covered) continue;
    absl::StatusOr<std::string> bytes = internal::ReadWholeFile(dir + "/" + seg.name);
    if (!bytes.ok()) return bytes.status();
    ++out.report.segments;

    SegmentReader reader(*bytes, /*is_last=*/i + 1 == n);
    SegmentStop stop;
    if (!reader.ReadHeader()) {
      stop.torn = reader.end() == SegmentReader::End::kTornTail;
      stop.problem = reader.problem();
    } else if (reader.first_sequence() != seg.first_sequence) {
      stop.problem = absl::StrCat("header says first sequence ", reader.first_sequence());
    } else if (!covered && !started && seg.first_sequence > state.sequence + 1) {
      stop.problem = absl::StrCat("records ", state.sequence + 1, "..", seg.first_sequence - 1, " are missing");
    } else if (!covered && started && seg.first_sequence != state.sequence + 1) {
      stop.problem = absl::StrCat("sequence gap between segments (expected ", state.sequence + 1, ")");
    } else {
      if (!covered) started = true;
      stop = ReadRecords(reader, seg.name, covered, options, &out);
    }
    if (stop.problem.empty()) continue;
    if (absl::Status s = HandleStop(dir, *segments, i, bytes->size(), stop, options, &out.report); !s.ok()) {
      return s;
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
