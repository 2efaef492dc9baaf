// Which of a journal's reader threads a history query runs on (store/sqlite/sqlite_journal.h,
// store/postgres/postgres_journal.h).
#pragma once

#include <cstdint>

namespace cidrotor::store {

// Which reader thread and connection a history query runs on. Scans of a window of every call
// (the coverage report, the automatic rests' answer rates) take seconds at millions of calls:
// they have a connection and a thread of their own (and, on PostgreSQL, a longer statement
// timeout), so a lookup (an inbound callback over FastAGI, 250 ms) or a history page never waits
// behind one.
enum class ReadKind : std::uint8_t { kPoint, kScan };

}  // namespace cidrotor::store
