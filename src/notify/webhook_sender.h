// Delivers webhook events (JSON texts) to the configured URLs off every request path: Send()
// only queues. One thread per URL posts its queue in order; a delivery that fails (no
// connection, timeout, a 5xx, 408 or 429) is tried again after 1, 2, 4, … seconds (or after
// the receiver's Retry-After when longer, up to max_retry_after), up to max_attempts, then dropped
// with a warning (another 4xx or a 3xx: dropped at once), so a dead receiver never holds the
// process up and never grows its memory (each queue is bounded; events beyond it are dropped and
// counted). But an event sent with a key, finding the queue full, replaces the queued one of its
// key (not yet in delivery) instead: when a slow or failing receiver lets hundreds of area codes'
// changes pile up (an hour's caps resetting), each one's latest state still goes out, rather than
// only the oldest events. Otherwise a full queue makes room by dropping its oldest event without a
// key (a number's rest, say) before it drops the new one: an area code or pool running dry is never
// lost behind a pile of older notices. Below the bound every event goes out, in order. A stop gives
// what is queued up to `stop_drain` more (one attempt each, no retry), so an alert raised just
// before a restart still goes out.
//
// Each request carries `X-Cidrotor-Event: <event name>` and, when a secret is configured,
// `X-Cidrotor-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>`, so a receiver
// can check the sender.
//
// Example (app/):
//   WebhookOptions options;
//   options.urls = {"https://hooks.example.com/cid"};
//   auto sender = WebhookSender::Create(options);
//   (*sender)->Send("pool_dry", R"({"event":"pool_dry",...})");
//
// Thread-safety: Send may be called from any thread. The destructor stops the threads within
// stop_drain (plus, for a delivery in flight, its timeout); what is left is dropped (and logged).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "net/log_throttle.h"
#include "notify/http_post.h"

namespace cidrotor::notify {

struct WebhookOptions {
  std::vector<std::string> urls;  // http:// or https://
  std::string secret;             // signs each body when not empty
  std::string ca_file;            // PEM CAs for https instead of the system's; empty: the system's
  std::chrono::milliseconds timeout{5'000};      // per delivery attempt, everything included
  std::chrono::milliseconds first_retry{1'000};  // doubled after each failed attempt
  int max_attempts = 6;                          // ~1 minute of retries with the defaults
  // The longest pause a receiver's Retry-After gets (the queue behind the event waits too).
  std::chrono::milliseconds max_retry_after{60'000};
  std::size_t max_queue = 1'000;                 // events waiting per URL
  std::chrono::milliseconds stop_drain{3'000};   // a stop's time for what is still queued
};

class WebhookSender {
 public:
  // Checks every URL, and loads ca_file when set. Errors: kInvalidArgument (field WEBHOOK_URLS)
  // for a bad URL, (field WEBHOOK_CA_FILE) for a CA file that cannot be loaded.
  [[nodiscard]] static core::Result<std::unique_ptr<WebhookSender>> Create(WebhookOptions options);
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;
  ~WebhookSender();

  // Queues `json` for every URL; never blocks. `event` names it (the X-Cidrotor-Event header).
  // A non-empty `key` (e.g. "area_code 212"): when the queue is full, the event replaces the
  // queued one of the same key in place rather than being dropped.
  void Send(const std::string& event, const std::string& json, const std::string& key = {});

  // Counters since Create, over all URLs.
  std::uint64_t Delivered() const { return delivered_.load(); }
  std::uint64_t Superseded() const { return superseded_.load(); }  // replaced when full
  std::uint64_t Abandoned() const { return abandoned_.load(); }  // failed max_attempts times
  std::uint64_t Dropped() const { return dropped_.load(); }      // queue full, or stopping
  std::size_t Queued() const;                                    // waiting, over all URLs

 private:
  struct Pending {
    std::string event;
    std::string json;
    std::string key;  // empty: never replaced
  };
  struct Target {
    WebhookUrl url;
    std::deque<Pending> queue;  // guarded by mu_
    std::thread thread;
  };

  WebhookSender(WebhookOptions options, std::vector<WebhookUrl> urls);
  void Run(Target& target);
  // Posts one event until it is delivered, abandoned, or the sender stops (then at most once
  // more, within what is left of the drain).
  void Deliver(const Target& target, const Pending& pending);
  Headers HeadersFor(const Pending& pending) const;
  // Makes room in a full queue for an event (keyed or not): drops its oldest event without a
  // key. False when every queued event has one. REQUIRES: mu_ held.
  bool DropOldestUnkeyed(Target& target);
  // Counts one dropped event, and logs drops once per 10 s with their count.
  void CountDropped(const Target& target, const std::string& event);
  // Time left to deliver in after a stop (zero once it is over); the full timeout before.
  // REQUIRES: mu_ held.
  std::chrono::milliseconds TimeLeftLocked() const;

  const WebhookOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;  // work for a target, or stop_
  bool stop_ = false;           // guarded by mu_
  std::chrono::steady_clock::time_point drain_until_;  // guarded by mu_; set with stop_
  net::LogThrottle drop_log_{std::chrono::seconds(10)};
  std::vector<std::unique_ptr<Target>> targets_;
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> superseded_{0};
  std::atomic<std::uint64_t> abandoned_{0};
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace cidrotor::notify
