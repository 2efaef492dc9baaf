// `cidrotor init-db [--sample-data]` in cluster mode: opens cluster mode's store as `serve` does
// (which creates or migrates PostgreSQL's schema, and loads Redis from PostgreSQL when Redis is
// empty), then, with --sample-data and only while the store has no numbers, loads the sample pool
// through that store, so PostgreSQL and Redis both hold it.
#pragma once

#include <iosfwd>

#include "app/config.h"
#include "core/calendar.h"
#include "core/clock.h"

namespace cidrotor::app {

// Prints what it did on `out`, errors on `err`. Returns the exit status: 0 done (also when the
// sample was skipped), 1 the store failed, 2 a configuration error.
int RunClusterInitDb(const Config& config, const core::Clock& clock, const core::Calendar& calendar,
                     bool sample_data, std::ostream& out, std::ostream& err);

}  // namespace cidrotor::app
