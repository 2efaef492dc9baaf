// `cidrotor export` in cluster mode: the numbers as PostgreSQL, the system of record, holds them
// (Redis is rebuilt from it; its counters are at most one group commit ahead, or the degraded
// mode's queue while PostgreSQL was down). One read-only
// REPEATABLE READ snapshot through a cursor, so a million numbers never sit in memory at once.
#pragma once

#include "app/config.h"
#include "cli/export.h"

namespace cidrotor::app {

// The scan for cli::ExportOptions::scan. Its errors: kUnavailable (PostgreSQL cannot be reached,
// or has no schema yet: the message says to run `cidrotor init-db`).
cli::NumberScan ClusterNumberScan(const Config& config);

}  // namespace cidrotor::app
