// HttpServerTest: an HttpServer on a loopback port with two I/O threads and a FakeStore, for the
// tests that talk to it over real sockets (server_test.cc, streamed_import_test.cc).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <optional>
#include <thread>
#include <vector>

#include "fake_store.h"
#include "http/server.h"
#include "raw_client.h"

namespace cidrotor::http::testing {

constexpr std::string_view kNextCidRequest =
    "GET /next-cid?to=2125559876&agent=agent001 HTTP/1.1\r\nHost: test\r\n\r\n";

class HttpServerTest : public ::testing::Test {
 protected:
  ~HttpServerTest() override {
    if (!threads_.empty()) {
      server_->Stop();
      if (!RunReturns()) io_.stop();
      for (auto& t : threads_) t.join();
    }
    store_.JoinThreads();  // before io_ is destroyed: they post to it
  }

  void Start(ServerOptions options = {}) {
    options.admin_token = "s3cret";
    server_.emplace(io_, ServerContext{store_, clock_, std::move(options)});
    auto port = server_->Listen("127.0.0.1", 0);
    ASSERT_TRUE(port.has_value()) << port.error().ToString();
    port_ = *port;
    server_->Start();
    for (int i = 0; i < 2; ++i) {  // the app runs one thread per core
      threads_.emplace_back([this] {
        io_.run();
        if (++returned_ == 2) all_returned_.set_value();
      });
    }
  }

  // Whether every io.run() returned within the deadline (after Stop()).
  bool RunReturns(std::chrono::seconds deadline = std::chrono::seconds(10)) {
    return done_.wait_for(deadline) == std::future_status::ready;
  }

  // Stops, waits for io.run() to return on every thread, joins them.
  void StopAndJoin() {
    server_->Stop();
    ASSERT_TRUE(RunReturns()) << "io.run() did not return after Stop()";
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  boost::asio::io_context io_;
  FakeStore store_;
  FixedClock clock_{kTestNow};
  std::optional<HttpServer> server_;
  std::uint16_t port_ = 0;
  std::vector<std::thread> threads_;
  std::atomic<int> returned_{0};
  std::promise<void> all_returned_;
  std::future<void> done_ = all_returned_.get_future();
};

}  // namespace cidrotor::http::testing
