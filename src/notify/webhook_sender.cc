#include "notify/webhook_sender.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/ssl/context.hpp>
#include <optional>
#include <utility>

namespace cidrotor::notify {
namespace {

std::string HexHmacSha256(const std::string& key, const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

}  // namespace

core::Result<std::unique_ptr<WebhookSender>> WebhookSender::Create(WebhookOptions options) {
  std::vector<WebhookUrl> urls;
  for (const std::string& text : options.urls) {
    auto url = ParseWebhookUrl(text);
    if (!url) return core::Fail(url.error());
    urls.push_back(std::move(*url));
  }
  if (!options.ca_file.empty()) {
    // Loaded once here, so a wrong path stops the start instead of failing every delivery.
    boost::asio::ssl::context context(boost::asio::ssl::context::tls_client);
    boost::system::error_code ec;
    context.load_verify_file(options.ca_file, ec);
    if (ec) {
      return core::Fail(core::Error::InvalidArgument(
          "WEBHOOK_CA_FILE",
          "cannot load CA certificates from " + options.ca_file + ": " + ec.message()));
    }
  }
  return std::unique_ptr<WebhookSender>(new WebhookSender(std::move(options), std::move(urls)));
}

WebhookSender::WebhookSender(WebhookOptions options, std::vector<WebhookUrl> urls)
    : options_(std::move(options)) {
  for (WebhookUrl& url : urls) {
    auto target = std::make_unique<Target>();
    target->url = std::move(url);
    targets_.push_back(std::move(target));
  }
  for (auto& target : targets_) target->thread = std::thread([this, t = target.get()] { Run(*t); });
}

WebhookSender::~WebhookSender() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
    drain_until_ = std::chrono::steady_clock::now() + options_.stop_drain;
  }
  cv_.notify_all();
  for (auto& target : targets_) target->thread.join();
}

std::size_t WebhookSender::Queued() const {
  std::lock_guard lock(mu_);
  std::size_t queued = 0;
  for (const auto& target : targets_) queued += target->queue.size();
  return queued;
}

void WebhookSender::Send(const std::string& event, const std::string& json,
                         const std::string& key) {
  {
    std::lock_guard lock(mu_);
    for (auto& target : targets_) {
      if (stop_) {
        CountDropped(*target, event);
        continue;
      }
      if (target->queue.size() >= options_.max_queue && !key.empty()) {
        // a scan of max_queue events, when it is full only
        const auto same = std::find_if(target->queue.begin(), target->queue.end(),
                                       [&](const Pending& p) { return p.key == key; });
        if (same != target->queue.end()) {
          same->event = event;
          same->json = json;
          superseded_.fetch_add(1);
          continue;
        }
      }
      if (target->queue.size() >= options_.max_queue && !DropOldestUnkeyed(*target)) {
        CountDropped(*target, event);
        continue;
      }
      target->queue.push_back(Pending{event, json, key});
    }
  }
  cv_.notify_all();
}

bool WebhookSender::DropOldestUnkeyed(Target& target) {
  const auto oldest = std::find_if(target.queue.begin(), target.queue.end(),
                                   [](const Pending& p) { return p.key.empty(); });
  if (oldest == target.queue.end()) return false;
  const std::string event = oldest->event;
  target.queue.erase(oldest);
  CountDropped(target, event);
  return true;
}

void WebhookSender::CountDropped(const Target& target, const std::string& event) {
  dropped_.fetch_add(1);
  if (const auto times = drop_log_.Pass()) {
    spdlog::warn(
        "webhook {}: {} event(s) dropped since the last such line (queue full or "
        "stopping), the last one {}",
        target.url.shown, times, event);
  }
}

std::chrono::milliseconds WebhookSender::TimeLeftLocked() const {
  if (!stop_) return options_.timeout;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      drain_until_ - std::chrono::steady_clock::now());
  return std::max(std::chrono::milliseconds(0), std::min(left, options_.timeout));
}

void WebhookSender::Run(Target& target) {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !target.queue.empty(); });
    if (target.queue.empty()) return;  // stopping, and nothing left
    if (TimeLeftLocked().count() == 0) {
      spdlog::warn("webhook {}: stopping, {} events not sent", target.url.shown,
                   target.queue.size());
      dropped_.fetch_add(target.queue.size());
      target.queue.clear();
      return;
    }
    Pending pending = std::move(target.queue.front());
    target.queue.pop_front();
    lock.unlock();
    Deliver(target, pending);
    lock.lock();
  }
}

Headers WebhookSender::HeadersFor(const Pending& pending) const {
  Headers headers = {{"X-Cidrotor-Event", pending.event}};
  if (!options_.secret.empty()) {
    headers.emplace_back("X-Cidrotor-Signature",
                         "sha256=" + HexHmacSha256(options_.secret, pending.json));
  }
  return headers;
}

void WebhookSender::Deliver(const Target& target, const Pending& pending) {
  const Headers headers = HeadersFor(pending);
  auto wait = options_.first_retry;
  for (int attempt = 1;; ++attempt) {
    std::chrono::milliseconds timeout;
    bool draining = false;
    {
      std::lock_guard lock(mu_);
      timeout = TimeLeftLocked();
      draining = stop_;
    }
    if (timeout.count() == 0) {
      CountDropped(target, pending.event);
      return;
    }
    auto answer = PostJson(target.url, pending.json, headers, timeout, options_.ca_file);
    const std::optional<unsigned> status =
        answer ? std::optional<unsigned>(answer->status) : std::nullopt;
    if (status && *status >= 200 && *status < 300) {
      delivered_.fetch_add(1);
      return;
    }
    const std::string why =
        status ? "answered " + std::to_string(*status) : answer.error().detail();
    // A 4xx other than 408 and 429 says the request itself is wrong (a revoked URL, a bad
    // path), and a 3xx that the URL moved (webhooks are not redirected: configure the final
    // URL): sending it again would hold the queue up for nothing.
    const bool hopeless =
        status && ((*status >= 300 && *status < 400) ||
                   (*status >= 400 && *status < 500 && *status != 408 && *status != 429));
    if (attempt >= options_.max_attempts || hopeless || draining) {
      abandoned_.fetch_add(1);
      spdlog::warn("webhook {}: event {} abandoned after {} attempts{}: {}", target.url.shown,
                   pending.event, attempt, draining ? " (stopping)" : "", why);
      return;
    }
    // A receiver that asks for a longer pause (a 429 or 503 with Retry-After, as chat services
    // send when rate-limiting) gets it, up to max_retry_after: trying sooner only fails again.
    auto pause = wait;
    if (answer && answer->retry_after) {
      pause = std::clamp<std::chrono::milliseconds>(*answer->retry_after, wait,
                                                    std::max(wait, options_.max_retry_after));
    }
    spdlog::info("webhook {}: event {} not delivered ({}), trying again in {} ms", target.url.shown,
                 pending.event, why, pause.count());
    std::unique_lock lock(mu_);
    // A stop during the wait: one more attempt, within the drain.
    (void)cv_.wait_for(lock, pause, [this] { return stop_; });
    wait *= 2;
  }
}

}  // namespace cidrotor::notify
