// POST /api/numbers/import over real sockets: the CSV body is streamed into the store in batches
// while it still arrives, chunked bodies are decoded, and a request answered before its body was
// read (bad header, 401, over the limit) closes the connection.
#include <gtest/gtest.h>

#include <string>

#include "server_fixture.h"

namespace cidrotor::http {
namespace {

using testing::HttpServerTest;
using testing::RawClient;

constexpr std::string_view kAuthorization = "Authorization: Bearer s3cret\r\n";

// `count` valid rows (212-55x-xxxx), one per line, after the header.
std::string CsvRows(std::size_t first, std::size_t count) {
  std::string rows;
  for (std::size_t i = first; i < first + count; ++i) {
    rows += std::to_string(2'125'500'000 + i) + ",Carrier\n";
  }
  return rows;
}

std::string ImportHead(std::string_view framing) {
  return "POST /api/numbers/import HTTP/1.1\r\nHost: test\r\nContent-Type: text/csv\r\n" +
         std::string(kAuthorization) + std::string(framing) + "\r\n";
}

std::string Chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + std::string(data) + "\r\n";
}

TEST_F(HttpServerTest, ImportBodyGoesToTheStoreWhileItStillArrives) {
  Start();
  RawClient client(port_);
  const std::string first = "caller_id,carrier\n" + CsvRows(0, 66'000);
  const std::string rest = CsvRows(66'000, 4'000);
  ASSERT_TRUE(client.Send(
      ImportHead("Content-Length: " + std::to_string(first.size() + rest.size()) + "\r\n")));
  ASSERT_TRUE(client.Send(first));
  // The first batch reaches the store before the client sent the rest of the body: the server
  // does not wait for (or hold) the whole body.
  // A batch is cut after the chunk that completes 65,536 rows.
  ASSERT_TRUE(store_.WaitForImportBatches(1));
  const std::size_t batch = store_.import_batches().at(0);
  EXPECT_GE(batch, 65'536u);
  EXPECT_LT(batch, 66'000u);
  ASSERT_TRUE(client.Send(rest));
  auto reply = client.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200) << reply->body;
  EXPECT_NE(reply->body.find(R"("rows":70000,"imported":70000)"), std::string::npos) << reply->body;
  EXPECT_EQ(store_.import_batches(), (std::vector<std::size_t>{batch, 70'000 - batch}));
  // The connection stays usable.
  auto health = client.Get("/health");
  ASSERT_TRUE(health.has_value());
  EXPECT_EQ(health->status, 200);
}

// A batch the store refuses ends the import (503): the answer also says what the batches before
// it imported, so a client tells the operator to rerun rather than that nothing was imported.
TEST_F(HttpServerTest, AnImportEndedByTheStoreSaysWhatItKept) {
  store_.import_batches_kept = 1;
  Start();
  RawClient client(port_);
  const std::string body = "caller_id,carrier\n" + CsvRows(0, 70'000);
  ASSERT_TRUE(client.Send(ImportHead("Content-Length: " + std::to_string(body.size()) + "\r\n")));
  ASSERT_TRUE(client.Send(body));
  auto reply = client.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 503) << reply->body;
  ASSERT_FALSE(store_.import_batches().empty());
  const std::size_t kept = store_.import_batches().at(0);
  EXPECT_NE(reply->body.find(R"("imported":)" + std::to_string(kept)), std::string::npos)
      << reply->body;
  EXPECT_NE(reply->body.find(R"("error":"store_unavailable")"), std::string::npos) << reply->body;
}

// A client that stops sending before its Content-Length is at fault, not the store: 400 naming
// the body, logged at debug (a dialer or script that aborts is no reason for a warning).
TEST_F(HttpServerTest, AnImportBodyCutShortIsTheClientsError) {
  Start();
  RawClient client(port_);
  ASSERT_TRUE(client.Send(ImportHead("Content-Length: 1000\r\n")));
  ASSERT_TRUE(client.Send("caller_id,carrier\n2125550100,A\n"));
  client.FinishSending();
  auto reply = client.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 400) << reply->body;
  EXPECT_NE(reply->body.find(R"("field":"body")"), std::string::npos) << reply->body;
}

TEST_F(HttpServerTest, ChunkedImportBodyIsDecodedWithBadRowsCounted) {
  Start();
  RawClient client(port_);
  ASSERT_TRUE(client.Send(ImportHead("Transfer-Encoding: chunked\r\n")));
  ASSERT_TRUE(client.Send(Chunk("caller_id,carr")));
  ASSERT_TRUE(client.Send(Chunk("ier\n2125550100,A\n21255")));
  ASSERT_TRUE(client.Send(Chunk("50101,B\nnot-a-number,C\n2125550102,D") + "0\r\n\r\n"));
  auto reply = client.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200) << reply->body;
  EXPECT_NE(reply->body.find(R"("rows":4,"imported":3)"), std::string::npos) << reply->body;
  EXPECT_NE(reply->body.find(R"("rejected":1)"), std::string::npos) << reply->body;
  EXPECT_NE(reply->body.find(R"("line":4)"), std::string::npos) << reply->body;
  EXPECT_EQ(store_.import_batches(), (std::vector<std::size_t>{3}));
}

TEST_F(HttpServerTest, ImportWithABadHeaderIsRefusedBeforeTheBodyEnds) {
  Start();
  RawClient client(port_);
  // Declares a megabyte but sends one line: the answer must not wait for the rest.
  ASSERT_TRUE(client.Send(ImportHead("Content-Length: 1000000\r\n") + "number,carrier\n"));
  auto reply = client.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 400);
  EXPECT_NE(reply->body.find(R"("field":"header")"), std::string::npos) << reply->body;
  EXPECT_EQ(reply->Header("Connection"), "close");
  EXPECT_TRUE(client.WaitForClose());
  EXPECT_TRUE(store_.import_batches().empty());
}

TEST_F(HttpServerTest, UnauthorizedImportIsAnsweredWithoutItsBodyAndClosed) {
  Start();
  RawClient client(port_);
  ASSERT_TRUE(client.Send(
      "POST /api/numbers/import HTTP/1.1\r\nHost: test\r\nContent-Length: 1000000\r\n\r\n"));
  auto reply = client.Read();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 401);
  EXPECT_TRUE(client.WaitForClose());
}

TEST_F(HttpServerTest, ImportBodyOverTheLimitIsRefused) {
  ServerOptions options;
  options.import_body_limit = 100'000;
  Start(options);
  {  // declared too long: refused from the header
    RawClient client(port_);
    ASSERT_TRUE(client.Send(ImportHead("Content-Length: 200000\r\n")));
    auto reply = client.Read();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->status, 413);
    EXPECT_TRUE(client.WaitForClose());
  }
  {  // chunked past the limit: refused once the limit is crossed, naming the body
    RawClient client(port_);
    ASSERT_TRUE(client.Send(ImportHead("Transfer-Encoding: chunked\r\n") +
                            Chunk("caller_id,carrier\n" + CsvRows(0, 10'000))));
    auto reply = client.Read();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->status, 400) << reply->body;
    EXPECT_NE(reply->body.find(R"("field":"body")"), std::string::npos) << reply->body;
    EXPECT_TRUE(client.WaitForClose());
  }
  EXPECT_TRUE(store_.import_batches().empty());
}

}  // namespace
}  // namespace cidrotor::http
