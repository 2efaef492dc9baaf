// `cidrotor move-to-cluster`: the way from one box to several. Copies the embedded store (the
// SQLite file in CIDROTOR_DATA_DIR) into the cluster's PostgreSQL, every table as it is: the
// numbers with their usage, rests and warm-ups; the reservations, live ones included (so no call
// on the line loses its number), with the history the lookup, the sticky tier, the coverage report
// and the automatic rests read; api_logs; campaigns → pools; the pools' settings. One transaction
// (all or nothing), COPY per table. Then it deletes Redis's generation key, so the first instance
// that starts (or one already running) rebuilds Redis from PostgreSQL before allocating.
//
// Refuses (exit 2) unless cluster mode is configured (PostgreSQL and Redis, as `serve` would use
// them), while `serve` runs on the data directory (its lock), when there is no embedded store,
// and (exit 1) when PostgreSQL already holds any numbers or history: it fills an empty database,
// it never merges.
#pragma once

#include <iosfwd>

#include "app/config.h"

namespace cidrotor::app {

// Returns the exit status: 0 moved; 1 the move failed (nothing of it kept), or it was made but
// Redis could not be told to rebuild (the message says what to run); 2 usage.
int RunMoveToCluster(const Config& config, std::ostream& out, std::ostream& err);

}  // namespace cidrotor::app
