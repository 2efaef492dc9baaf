// The records of a backlog spill file (backlog_spill.h): journal entries, api_logs rows and
// checkpoints, as bytes and back. Fixed-width little-endian integers, strings as a 32-bit length
// and their bytes; each record framed by its length and a CRC-32, so a record cut short by a
// crash, or bytes the file system never wrote, end the reading instead of being misread.
//
// Only for this machine's own files (no version negotiation): the file begins with
// kSpillFileMagic, whose last digit changes when a field does, and a file of another version is
// refused whole. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "store/journal.h"

namespace cidrotor::store::postgres {

inline constexpr std::string_view kSpillFileMagic = "cidrotor backlog spill 1\n";

// One append, as acknowledged: `seq` is its place in the spilling journal's append order.
struct SpilledAppend {
  std::uint64_t seq = 0;
  std::vector<JournalEntry> entries;
};

// One api_logs row; `index` counts the journal's rows from 0 (a row spilled twice, as a batch
// put back after a lost connection may be, is read once).
struct SpilledLog {
  std::uint64_t index = 0;
  ApiLogEntry row;
};

// Every append up to `done_seq` and every row below `logs_done` is committed to PostgreSQL.
struct SpillCheckpoint {
  std::uint64_t done_seq = 0;
  std::uint64_t logs_done = 0;
};

using SpillRecord = std::variant<SpilledAppend, SpilledLog, SpillCheckpoint>;

// Append each record, framed, to `out`.
void EncodeSpilledAppend(std::uint64_t seq, std::span<const JournalEntry> entries,
                         std::string& out);
void EncodeSpilledLog(std::uint64_t index, const ApiLogEntry& row, std::string& out);
void EncodeSpillCheckpoint(const SpillCheckpoint& checkpoint, std::string& out);

// The record framed at the front of `in`, and how many bytes it took; nullopt when `in` does not
// begin with a whole, intact record (cut short, a CRC mismatch, a field out of range).
struct DecodedSpillRecord {
  SpillRecord record;
  std::size_t size = 0;
};
std::optional<DecodedSpillRecord> DecodeSpillRecord(std::string_view in);

}  // namespace cidrotor::store::postgres
