// DescribeServer (store/postgres/pg_connection.h): the name of a server in log lines and
// messages, which must never carry a password, whatever spelling of DATABASE_URL libpq accepts.
#include <gtest/gtest.h>

#include <string>

#include "store/postgres/pg_connection.h"

namespace cidrotor::store::postgres {
namespace {

std::string Described(const std::string& url) {
  ConnectionSettings settings;
  settings.url = url;
  return DescribeServer(settings);
}

TEST(DescribeServerTest, AUrlIsNamedByItsServerAndDatabase) {
  EXPECT_EQ(Described("postgresql://cidrotor:s3cret@db.example:5433/calls"),
            "postgresql://db.example:5433/calls");
  EXPECT_EQ(Described("postgres://127.0.0.1/calls?password=s3cret&sslmode=require"),
            "postgresql://127.0.0.1/calls");
}

// The security review: `password = x` (spaces around '=', which libpq accepts) went to the log
// whole, in every reconnect warning while PostgreSQL was down.
TEST(DescribeServerTest, NoSpellingOfAPasswordReachesTheDescription) {
  for (const std::string url :
       {"host=127.0.0.1 port=19765 user=u password = PGPASS-s3cr3t dbname=x",
        "host=127.0.0.1 port=19765 user=u password ='PGPASS s3cr3t' dbname=x",
        "password=PGPASS-s3cr3t host=127.0.0.1 port=19765 dbname=x"}) {
    const std::string described = Described(url);
    EXPECT_EQ(described.find("PGPASS"), std::string::npos) << described;
    EXPECT_EQ(described, "postgresql://127.0.0.1:19765/x");
  }
}

TEST(DescribeServerTest, AStringLibpqCannotParseShowsNoneOfIt) {
  const std::string described = Described("host=127.0.0.1 password='unterminated s3cr3t");
  EXPECT_EQ(described.find("s3cr3t"), std::string::npos) << described;
}

}  // namespace
}  // namespace cidrotor::store::postgres
