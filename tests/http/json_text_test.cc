#include "http/json_text.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace cidrotor::http {
namespace {

std::string Quoted(std::string_view text) {
  std::string out;
  AppendJsonString(out, text);
  return out;
}

TEST(JsonTextTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(Quoted("AT&T"), R"("AT&T")");
  EXPECT_EQ(Quoted(R"(say "hi")"), R"("say \"hi\"")");
  EXPECT_EQ(Quoted(R"(a\b)"), R"("a\\b")");
  EXPECT_EQ(Quoted("line\nbreak\ttab\r"), R"("line\nbreak\ttab\r")");
  EXPECT_EQ(Quoted(std::string("nul\0x", 5)), R"("nul\u0000x")");
  EXPECT_EQ(Quoted("\x1f"), R"("\u001f")");
  EXPECT_EQ(Quoted("caf\xc3\xa9"), "\"caf\xc3\xa9\"");  // UTF-8 passes through
  EXPECT_EQ(Quoted(""), R"("")");
}

// A client's bytes echoed in an error (a path) need not be UTF-8; the JSON around them must be.
TEST(JsonTextTest, ReplacesBytesThatAreNotUtf8) {
  EXPECT_EQ(Quoted("/\xff\xfe"), R"("/\ufffd\ufffd")");
  EXPECT_EQ(Quoted("a\xc3"), R"("a\ufffd")");                              // cut short
  EXPECT_EQ(Quoted("\xc0\xaf"), R"("\ufffd\ufffd")");                      // overlong '/'
  EXPECT_EQ(Quoted("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");            // a surrogate
  EXPECT_EQ(Quoted("\xf4\x90\x80\x80"), R"("\ufffd\ufffd\ufffd\ufffd")");  // above U+10FFFF
  EXPECT_EQ(Quoted("\xe2\x82\xac \xf0\x9f\x93\x9e"),
            "\"\xe2\x82\xac \xf0\x9f\x93\x9e\"");  // € and 📞
}

TEST(JsonTextTest, FormatsInstantsAsIsoUtcSeconds) {
  using namespace std::chrono;
  EXPECT_EQ(FormatIsoTime(core::TimePoint(seconds(0))), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatIsoTime(core::TimePoint(seconds(1'772'366'400) + milliseconds(999))),
            "2026-03-01T12:00:00Z");
  EXPECT_EQ(FormatIsoTime(core::TimePoint(sys_days(year(2024) / 2 / 29) + hours(23) + minutes(59) +
                                          seconds(59))),
            "2024-02-29T23:59:59Z");
}

}  // namespace
}  // namespace cidrotor::http
