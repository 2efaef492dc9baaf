// WebhookSender and PostJson against a real receiver on a loopback socket: delivery with the
// event and signature headers, retries after failures, giving up, bounded queues, https with
// certificate checks, and URL validation.
#include "notify/webhook_sender.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <thread>

#include "notify/http_post.h"
#include "support/webhook_receiver.h"

namespace cidrotor::notify {
namespace {

using std::chrono::milliseconds;
using test_support::WebhookReceiver;

std::string HexHmac(const std::string& key, const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    static constexpr char kHex[] = "0123456789abcdef";
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

WebhookReceiver::Options Answering(std::vector<unsigned> statuses) {
  WebhookReceiver::Options options;
  options.statuses = std::move(statuses);
  return options;
}

WebhookOptions Fast(std::vector<std::string> urls) {
  WebhookOptions options;
  options.urls = std::move(urls);
  options.timeout = milliseconds(2'000);
  options.first_retry = milliseconds(20);
  options.max_attempts = 4;
  return options;
}

TEST(WebhookSenderTest, DeliversTheBodyWithTheEventAndItsSignature) {
  WebhookReceiver receiver;
  WebhookOptions options = Fast({receiver.Url("/hooks/cid?team=ops")});
  options.secret = "s3cret";
  auto sender = WebhookSender::Create(options);
  ASSERT_TRUE(sender.has_value()) << sender.error().ToString();
  const std::string body = R"({"event":"pool_dry","pool":"default"})";
  (*sender)->Send("pool_dry", body);
  const auto got = receiver.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].target, "/hooks/cid?team=ops");
  EXPECT_EQ(got[0].body, body);
  EXPECT_EQ(got[0].headers.at("content-type"), "application/json");
  EXPECT_EQ(got[0].headers.at("host"), "127.0.0.1:" + std::to_string(receiver.port()));
  EXPECT_EQ(got[0].headers.at("x-cidrotor-event"), "pool_dry");
  EXPECT_EQ(got[0].headers.at("x-cidrotor-signature"), "sha256=" + HexHmac("s3cret", body));
}

TEST(WebhookSenderTest, FailedDeliveriesAreTriedAgainInOrder) {
  WebhookReceiver receiver(Answering({503, 500}));
  auto sender = WebhookSender::Create(Fast({receiver.Url()}));
  ASSERT_TRUE(sender.has_value());
  (*sender)->Send("a", R"({"n":1})");
  (*sender)->Send("b", R"({"n":2})");
  const auto got = receiver.WaitFor(4);
  ASSERT_EQ(got.size(), 4u);
  // The first event until it is through, then the second: order kept.
  EXPECT_EQ(got[0].body, R"({"n":1})");
  EXPECT_EQ(got[1].body, R"({"n":1})");
  EXPECT_EQ(got[2].body, R"({"n":1})");
  EXPECT_EQ(got[3].body, R"({"n":2})");
  for (int i = 0; i < 1'000 && (*sender)->Delivered() < 2; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ((*sender)->Delivered(), 2u);
  EXPECT_EQ((*sender)->Abandoned(), 0u);
}

// While the receiver fails and the queue is full, a newer level of one area code replaces its
// queued one instead of being dropped: each key's latest state goes out, in the order the keys
// first came.
TEST(WebhookSenderTest, AKeyedEventReplacesTheQueuedOneOfItsKeyWhenTheQueueIsFull) {
  WebhookReceiver receiver(Answering({503}));
  WebhookOptions options = Fast({receiver.Url()});
  options.max_queue = 2;
  auto sender = WebhookSender::Create(options);
  ASSERT_TRUE(sender.has_value());
  (*sender)->Send("number_rested", R"({"n":0})");  // no key; 503 once, then retried
  for (int i = 0; i < 100 && receiver.count() == 0; ++i) {
    std::this_thread::sleep_for(milliseconds(10));  // in delivery: out of the queue
  }
  (*sender)->Send("area_code_low", R"({"212":"low"})", "area_code 212");
  (*sender)->Send("area_code_low", R"({"310":"low"})", "area_code 310");
  (*sender)->Send("area_code_dry", R"({"212":"dry"})", "area_code 212");
  const auto got = receiver.WaitFor(4);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].body, R"({"n":0})");
  EXPECT_EQ(got[1].body, R"({"n":0})");
  EXPECT_EQ(got[2].body, R"({"212":"dry"})");
  EXPECT_EQ(got[2].headers.at("x-cidrotor-event"), "area_code_dry");
  EXPECT_EQ(got[3].body, R"({"310":"low"})");
  EXPECT_EQ((*sender)->Superseded(), 1u);
  EXPECT_EQ((*sender)->Dropped(), 0u);
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(receiver.count(), 4u) << "212's low never went out";
}

// A full queue makes room by dropping its oldest event without a key: an area code running dry
// is not lost behind a pile of older rest notices, and the newest notice beats the oldest.
TEST(WebhookSenderTest, AFullQueueDropsItsOldestUnkeyedEventForANewOne) {
  WebhookReceiver receiver(Answering({503}));
  WebhookOptions options = Fast({receiver.Url()});
  options.max_queue = 2;
  options.first_retry = milliseconds(300);
  auto sender = WebhookSender::Create(options);
  ASSERT_TRUE(sender.has_value());
  (*sender)->Send("number_rested", R"({"n":0})");  // 503 once: waits in its back-off
  for (int i = 0; i < 100 && receiver.count() == 0; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  (*sender)->Send("number_rested", R"({"n":1})");
  (*sender)->Send("number_rested", R"({"n":2})");                         // full
  (*sender)->Send("area_code_dry", R"({"212":"dry"})", "area_code 212");  // drops n1
  (*sender)->Send("number_rested", R"({"n":3})");                         // drops n2
  const auto got = receiver.WaitFor(4);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[1].body, R"({"n":0})");
  EXPECT_EQ(got[2].body, R"({"212":"dry"})");
  EXPECT_EQ(got[3].body, R"({"n":3})");
  EXPECT_EQ((*sender)->Dropped(), 2u);
}

// A stop gives what is queued a last chance (one attempt each, within stop_drain): an alert
// raised just before a restart still reaches the receiver.
TEST(WebhookSenderTest, AStopStillSendsWhatIsQueuedWithinTheDrain) {
  WebhookReceiver::Options slow;
  slow.delay = milliseconds(100);
  WebhookReceiver receiver(slow);
  auto sender = WebhookSender::Create(Fast({receiver.Url()}));
  ASSERT_TRUE(sender.has_value());
  for (int i = 0; i < 4; ++i) (*sender)->Send("pool_dry", "{\"n\":" + std::to_string(i) + "}");
  sender->reset();
  EXPECT_EQ(receiver.count(), 4u);

  // A receiver too slow for the drain: the stop ends with it, and drops the rest.
  WebhookReceiver::Options slower;
  slower.delay = milliseconds(400);
  WebhookReceiver late(slower);
  WebhookOptions options = Fast({late.Url()});
  options.stop_drain = milliseconds(500);
  auto short_drain = WebhookSender::Create(options);
  ASSERT_TRUE(short_drain.has_value());
  for (int i = 0; i < 10; ++i) (*short_drain)->Send("pool_dry", "{}");
  const auto stopping = std::chrono::steady_clock::now();
  short_drain->reset();
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, milliseconds(1'500));
  EXPECT_LT(late.count(), 10u);
}

// The status decides: a 2xx whose body is large or slow to come is delivered, not failed and
// sent again (a receiver could not tell the copies apart).
TEST(WebhookSenderTest, ASuccessWhoseBodyIsSlowIsDeliveredOnce) {
  WebhookReceiver::Options stalling;
  stalling.stall_body = true;
  WebhookReceiver receiver(stalling);
  WebhookOptions options = Fast({receiver.Url()});
  options.timeout = milliseconds(1'000);
  auto sender = WebhookSender::Create(options);
  ASSERT_TRUE(sender.has_value());
  (*sender)->Send("pool_dry", "{}");
  for (int i = 0; i < 200 && (*sender)->Delivered() == 0; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ((*sender)->Delivered(), 1u);
  EXPECT_EQ((*sender)->Abandoned(), 0u);
  sender->reset();
  EXPECT_EQ(receiver.count(), 1u);
}

TEST(WebhookSenderTest, AnEventIsAbandonedAfterMaxAttemptsAndTheNextGoesOn) {
  WebhookReceiver receiver(Answering({500, 500, 500, 500}));
  auto sender = WebhookSender::Create(Fast({receiver.Url()}));
  ASSERT_TRUE(sender.has_value());
  (*sender)->Send("a", "{}");
  (*sender)->Send("b", R"({"next":true})");
  const auto got = receiver.WaitFor(5);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[4].body, R"({"next":true})");
  for (int i = 0; i < 1'000 && (*sender)->Delivered() < 1; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ((*sender)->Abandoned(), 1u);
  EXPECT_EQ((*sender)->Delivered(), 1u);
}

TEST(WebhookSenderTest, ANoOneListeningReceiverNeverBlocksSendAndTheQueueIsBounded) {
  std::string dead_url;
  {
    WebhookReceiver gone;  // a port nobody listens on once it is destroyed
    dead_url = gone.Url();
  }
  WebhookOptions options = Fast({dead_url});
  options.first_retry = milliseconds(60'000);  // the first event waits in its back-off
  options.max_queue = 3;
  auto sender = WebhookSender::Create(options);
  ASSERT_TRUE(sender.has_value());
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 50; ++i) (*sender)->Send("e", "{}");
  EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(500));
  EXPECT_GE((*sender)->Dropped(), 46u);  // 50 sent, 1 in delivery, at most 3 queued
  const auto stopping = std::chrono::steady_clock::now();
  sender->reset();  // stops within the back-off, not after it
  EXPECT_LT(std::chrono::steady_clock::now() - stopping, milliseconds(5'000));
}

TEST(WebhookSenderTest, AClientErrorIsNotTriedAgain) {
  WebhookReceiver receiver(Answering({404, 429}));
  auto sender = WebhookSender::Create(Fast({receiver.Url()}));
  ASSERT_TRUE(sender.has_value());
  (*sender)->Send("a", R"({"n":1})");  // 404: dropped at once
  (*sender)->Send("b", R"({"n":2})");  // 429: tried again, then 200
  const auto got = receiver.WaitFor(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].body, R"({"n":1})");
  EXPECT_EQ(got[1].body, R"({"n":2})");
  EXPECT_EQ(got[2].body, R"({"n":2})");
  for (int i = 0; i < 1'000 && (*sender)->Delivered() < 1; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ((*sender)->Abandoned(), 1u);
  EXPECT_EQ((*sender)->Delivered(), 1u);
}

// A redirect is not followed (the body would not be sent again anyway): configure the final URL.
// A receiver rate-limiting (429 with Retry-After, as chat services answer) is left alone for as
// long as it asked, not for the 20 ms backoff; a Retry-After beyond max_retry_after is cut to it.
TEST(WebhookSenderTest, ARetryAfterLongerThanTheBackoffIsWaitedFor) {
  WebhookReceiver::Options answering = Answering({429, 503});
  answering.retry_after = "1";
  WebhookReceiver receiver(answering);
  WebhookOptions options = Fast({receiver.Url()});
  auto sender = WebhookSender::Create(options);
  ASSERT_TRUE(sender.has_value());
  (*sender)->Send("a", R"({"n":1})");
  const auto got = receiver.WaitFor(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_GE(got[1].at - got[0].at, milliseconds(1'000));
  EXPECT_GE(got[2].at - got[1].at, milliseconds(1'000));

  answering.retry_after = "3600";
  WebhookReceiver capped(answering);
  options = Fast({capped.Url()});
  options.max_retry_after = milliseconds(300);
  sender = WebhookSender::Create(options);
  ASSERT_TRUE(sender.has_value());
  (*sender)->Send("a", R"({"n":1})");
  const auto capped_got = capped.WaitFor(2);
  ASSERT_EQ(capped_got.size(), 2u);
  EXPECT_GE(capped_got[1].at - capped_got[0].at, milliseconds(300));
  EXPECT_LT(capped_got[1].at - capped_got[0].at, milliseconds(5'000));
}

TEST(RetryAfterTest, DelaySecondsOrAnHttpDate) {
  using std::chrono::seconds;
  const auto now =
      std::chrono::sys_days{std::chrono::year{2026} / 11 / 27} + std::chrono::hours(13);
  EXPECT_EQ(ParseRetryAfter("120", now), seconds(120));
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), seconds(0));
  EXPECT_EQ(ParseRetryAfter("Fri, 27 Nov 2026 13:02:30 GMT", now), seconds(150));
  EXPECT_EQ(ParseRetryAfter("Fri, 27 Nov 2026 12:00:00 GMT", now), seconds(0));  // past
  EXPECT_EQ(ParseRetryAfter("99999999999", now), seconds(UINT32_MAX));
  EXPECT_EQ(ParseRetryAfter("", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-5", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("1.5", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("soon", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("Fri, 27 Nov 2026 13:02:30 GMT trailing", now), std::nullopt);
}

TEST(WebhookSenderTest, ARedirectIsNotTriedAgain) {
  WebhookReceiver receiver(Answering({301}));
  auto sender = WebhookSender::Create(Fast({receiver.Url()}));
  ASSERT_TRUE(sender.has_value());
  (*sender)->Send("a", R"({"n":1})");  // 301: dropped at once
  (*sender)->Send("b", R"({"n":2})");  // 200
  const auto got = receiver.WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].body, R"({"n":2})");
  for (int i = 0; i < 1'000 && (*sender)->Delivered() < 1; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ((*sender)->Abandoned(), 1u);
  EXPECT_EQ((*sender)->Delivered(), 1u);
}

// A CA file that cannot be loaded stops the start, instead of failing every https delivery.
TEST(WebhookSenderTest, ACaFileThatCannotBeLoadedIsRefusedAtCreate) {
  WebhookOptions options = Fast({"https://hooks.example.com/cid"});
  options.ca_file = "/nonexistent/ca.pem";
  auto missing = WebhookSender::Create(options);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().field(), "WEBHOOK_CA_FILE");
  EXPECT_THAT(missing.error().detail(), ::testing::HasSubstr("/nonexistent/ca.pem"));
  options.ca_file = test_support::WebhookTestCaFile();
  EXPECT_TRUE(WebhookSender::Create(options).has_value());
}

TEST(WebhookSenderTest, ErrorsShowTheHostButNotThePathOrQuery) {
  std::string dead_url;
  {
    WebhookReceiver gone;
    dead_url = gone.Url("/services/T000/B000/secret-token?key=abc");
  }
  const auto url = ParseWebhookUrl(dead_url);
  ASSERT_TRUE(url.has_value());
  const auto status = PostJson(*url, "{}", {}, milliseconds(2'000));
  ASSERT_FALSE(status.has_value());
  EXPECT_THAT(status.error().detail(), ::testing::HasSubstr("http://127.0.0.1:"));
  EXPECT_THAT(status.error().detail(), ::testing::Not(::testing::HasSubstr("secret-token")));
  EXPECT_THAT(status.error().detail(), ::testing::Not(::testing::HasSubstr("key=abc")));
}

TEST(WebhookSenderTest, HttpsChecksTheCertificate) {
  WebhookReceiver::Options tls;
  tls.tls = true;
  WebhookReceiver receiver(tls);
  const auto url = ParseWebhookUrl(receiver.Url());
  ASSERT_TRUE(url.has_value());
  // Trusted through the fixture CA: delivered.
  auto status = PostJson(*url, "{}", {}, milliseconds(5'000), test_support::WebhookTestCaFile());
  ASSERT_TRUE(status.has_value()) << status.error().ToString();
  EXPECT_EQ(status->status, 200u);
  // Against the system's CAs the self-signed certificate is refused.
  status = PostJson(*url, "{}", {}, milliseconds(5'000));
  ASSERT_FALSE(status.has_value());
  EXPECT_THAT(status.error().detail(), ::testing::HasSubstr("TLS handshake"));
  EXPECT_EQ(receiver.count(), 1u);  // the refused one never sent its body
}

TEST(WebhookSenderTest, ASlowReceiverTimesOut) {
  WebhookReceiver::Options slow;
  slow.delay = milliseconds(1'500);
  WebhookReceiver receiver(slow);
  const auto url = ParseWebhookUrl(receiver.Url());
  ASSERT_TRUE(url.has_value());
  const auto started = std::chrono::steady_clock::now();
  const auto status = PostJson(*url, "{}", {}, milliseconds(300));
  EXPECT_FALSE(status.has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(1'200));
}

TEST(WebhookUrlTest, OnlyHttpAndHttpsUrlsWithAHost) {
  const auto https = ParseWebhookUrl("https://hooks.example.com/a/b?c=d");
  ASSERT_TRUE(https.has_value());
  EXPECT_TRUE(https->tls);
  EXPECT_EQ(https->host, "hooks.example.com");
  EXPECT_EQ(https->port, 443);
  EXPECT_EQ(https->target, "/a/b?c=d");
  const auto ipv6 = ParseWebhookUrl("http://[::1]:8080/x");
  ASSERT_TRUE(ipv6.has_value());
  EXPECT_EQ(ipv6->host, "::1");  // as the resolver wants it
  const auto http = ParseWebhookUrl("http://10.0.0.5:8080");
  ASSERT_TRUE(http.has_value());
  EXPECT_EQ(http->port, 8080);
  EXPECT_EQ(http->target, "/");
  for (const char* bad :
       {"ftp://x/", "hooks.example.com/x", "http://", "http://h:0/", "http://h:99999/", ""}) {
    const auto parsed = ParseWebhookUrl(bad);
    ASSERT_FALSE(parsed.has_value()) << bad;
    EXPECT_EQ(parsed.error().field(), "WEBHOOK_URLS");
  }
  EXPECT_FALSE(WebhookSender::Create(Fast({"http://ok/", "nope"})).has_value());
}

}  // namespace
}  // namespace cidrotor::notify
