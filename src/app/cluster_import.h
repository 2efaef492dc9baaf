// `cidrotor import FILE` in cluster mode: the rows go to PostgreSQL, the system of record, with
// COPY in whole batches (store/postgres/bulk_import.h), and each committed batch's written rows
// (new or updated, not skipped) are then upserted into Redis through the Redis store's pipelined
// import, so running instances allocate them at once. Redis takes a batch while the next one is
// read and copied (batches of at most 250,000 rows for that); only committed rows ever reach it.
// Redis's copy of the rows is not journaled again: COPY already wrote them (ImportedRowsJournal in
// the .cc). Redis down during an import: the batches already in PostgreSQL stay; a Redis that
// lost its data gets them at its rebuild, one that kept it (it was only unreachable) from a
// rerun of the file, as the error says.
#pragma once

#include <memory>

#include "app/config.h"
#include "cli/import.h"
#include "core/calendar.h"
#include "core/clock.h"
#include "core/result.h"

namespace cidrotor::app {

// Errors: kInvalidArgument (a bad REDIS_URL), kUnavailable (PostgreSQL cannot be reached).
[[nodiscard]] core::Result<std::unique_ptr<cli::ImportTarget>> OpenClusterImportTarget(
    const Config& config, const core::Clock& clock, const core::Calendar& calendar,
    const cli::ImportOptions& options);

}  // namespace cidrotor::app
