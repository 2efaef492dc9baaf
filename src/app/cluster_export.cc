#include "app/cluster_export.h"

#include "app/store_factory.h"
#include "store/postgres/pg_connection.h"
#include "store/postgres/queries.h"
#include "store/postgres/schema.h"

namespace cidrotor::app {

cli::NumberScan ClusterNumberScan(const Config& config) {
  return [settings = PostgresSettings(config)](
             core::TimePoint now, store::LoadSink& sink) -> core::Result<std::uint64_t> {
    auto connection = store::postgres::Connection::Open(settings);
    if (!connection) return core::Fail(connection.error());
    auto version = store::postgres::ReadSchemaVersion(*connection);
    if (!version) return core::Fail(version.error());
    if (*version == 0) {
      return core::Fail(core::Error::Unavailable(
          "PostgreSQL has no cidrotor schema yet: run `cidrotor init-db` (or `serve`) first"));
    }
    auto summary = store::postgres::LoadState(*connection, now, sink);
    if (!summary) return core::Fail(summary.error());
    return summary->numbers;
  };
}

}  // namespace cidrotor::app
