// A webhook receiver for tests: an HTTP (or HTTPS, with tests/fixtures/webhook-test-*.pem)
// server on 127.0.0.1 and a free port, on a thread of its own, that records every request and
// answers each with the next status of a script (200 once the script is used up).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cidrotor::test_support {

struct ReceivedHook {
  std::string target;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::chrono::steady_clock::time_point at;    // when it was read
};

class WebhookReceiver {
 public:
  struct Options {
    std::vector<unsigned> statuses;      // answers in order, then 200
    bool tls = false;                    // with the fixture certificate for localhost/127.0.0.1
    std::chrono::milliseconds delay{0};  // before each answer (a slow receiver)
    // Answers the status line and headers of a 1 MB body, then holds the body back for 3 s.
    bool stall_body = false;
    std::string retry_after;  // sent as Retry-After with every answer but a 2xx, when not empty
  };
  explicit WebhookReceiver(Options options);
  WebhookReceiver() : WebhookReceiver(Options{}) {}
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  std::uint16_t port() const { return port_; }
  std::string Url(const std::string& path = "/hook") const;
  // The requests received so far, once there are at least `count` (or the timeout passed).
  std::vector<ReceivedHook> WaitFor(std::size_t count,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::size_t count();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::uint16_t port_ = 0;
};

// The fixture certificate (PEM) clients use as their CA for a TLS receiver.
std::string WebhookTestCaFile();

}  // namespace cidrotor::test_support
