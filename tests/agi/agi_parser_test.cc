#include "agi/agi_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agi/asterisk_env.h"

namespace cidrotor::agi {
namespace {

using testing::AsteriskEnv;

// Feeds `chunks` one after another through a buffer, as the session does.
template <class Parser>
ParseState FeedChunks(Parser& parser, const std::vector<std::string>& chunks,
                      std::string* rest = nullptr) {
  std::string buffer;
  ParseState state = ParseState::kNeedMore;
  for (const auto& chunk : chunks) {
    buffer += chunk;
    const ParseStep step = parser.Feed(buffer);
    buffer.erase(0, step.consumed);
    state = step.state;
    if (state != ParseState::kNeedMore) break;
  }
  if (rest) *rest = buffer;
  return state;
}

TEST(EnvironmentParserTest, ReadsTheBlockAsAsteriskSendsIt) {
  EnvironmentParser parser;
  const std::string env = AsteriskEnv();
  const ParseStep step = parser.Feed(env + "HANGUP\n");
  ASSERT_EQ(step.state, ParseState::kDone);
  EXPECT_EQ(step.consumed, env.size());  // what follows the block is left for the reply parser
  EXPECT_EQ(parser.environment().Get("agi_extension"), "913105559876");
  EXPECT_EQ(parser.environment().Get("agi_network_script"),
            "next-cid?campaign=sales&agent=agent001");
  EXPECT_EQ(parser.environment().Get("agi_accountcode"), "");
  EXPECT_EQ(parser.environment().Get("agi_missing"), std::nullopt);
}

TEST(EnvironmentParserTest, SameResultSplitAtEveryByteBoundary) {
  const std::string env = AsteriskEnv();
  EnvironmentParser whole;
  ASSERT_EQ(whole.Feed(env).state, ParseState::kDone);
  for (std::size_t i = 0; i <= env.size(); ++i) {
    for (std::size_t j = i; j <= env.size(); j += 7) {
      EnvironmentParser parser;
      std::string rest;
      const auto state =
          FeedChunks(parser, {env.substr(0, i), env.substr(i, j - i), env.substr(j)}, &rest);
      ASSERT_EQ(state, ParseState::kDone) << "split at " << i << "," << j;
      ASSERT_EQ(parser.environment().vars(), whole.environment().vars());
      ASSERT_TRUE(rest.empty());
    }
  }
}

TEST(EnvironmentParserTest, OneByteAtATime) {
  const std::string env = AsteriskEnv();
  std::vector<std::string> bytes;
  for (char ch : env) bytes.emplace_back(1, ch);
  EnvironmentParser parser;
  EXPECT_EQ(FeedChunks(parser, bytes), ParseState::kDone);
  EXPECT_EQ(parser.environment().size(), 22U);
}

TEST(EnvironmentParserTest, AcceptsCrLfLineEnds) {
  EnvironmentParser parser;
  EXPECT_EQ(parser.Feed("agi_extension: 3105559876\r\n\r\n").state, ParseState::kDone);
  EXPECT_EQ(parser.environment().Get("agi_extension"), "3105559876");
}

TEST(EnvironmentParserTest, RefusesGarbage) {
  for (const std::string& garbage :
       std::vector<std::string>{"hello world\n\n", "GET / HTTP/1.1\r\n\r\n", ": value\n\n",
                                "agi bad name: x\n\n", "\x01\x02\x03\n\n"}) {
    EnvironmentParser parser;
    EXPECT_EQ(parser.Feed(garbage).state, ParseState::kError) << garbage;
    EXPECT_FALSE(parser.error().empty());
  }
}

TEST(EnvironmentParserTest, RefusesAnOversizeLineBeforeItEnds) {
  EnvironmentParser parser;
  const std::string endless = "agi_callerid: " + std::string(kMaxLineBytes, '1');
  EXPECT_EQ(parser.Feed(endless).state, ParseState::kError);  // no line end needed to refuse
  EnvironmentParser fits;
  EXPECT_EQ(fits.Feed("agi_x: " + std::string(kMaxLineBytes - 7, 'a')).state,
            ParseState::kNeedMore);
}

TEST(EnvironmentParserTest, RefusesTooManyLines) {
  std::string block;
  for (std::size_t i = 0; i <= kMaxEnvLines; ++i) block += "agi_arg_" + std::to_string(i) + ": x\n";
  EnvironmentParser parser;
  EXPECT_EQ(parser.Feed(block + "\n").state, ParseState::kError);
}

// Lines each within kMaxLineBytes, fewer than kMaxEnvLines, but more than kMaxEnvBytes in all:
// refused as soon as the bound is passed, before the block ends.
TEST(EnvironmentParserTest, RefusesABlockOfTooManyBytes) {
  const std::string line = "agi_x: " + std::string(kMaxLineBytes - 8, 'a') + "\n";
  std::string block;
  while (block.size() + line.size() <= kMaxEnvBytes) block += line;
  EnvironmentParser fits;
  EXPECT_EQ(fits.Feed(block + "\n").state, ParseState::kDone);
  EnvironmentParser parser;
  const ParseStep step = parser.Feed(block + line);
  EXPECT_EQ(step.state, ParseState::kError);
  EXPECT_EQ(parser.error(), "environment block longer than 32 KiB");
}

Reply ParseOne(const std::string& text, std::size_t* consumed = nullptr) {
  ReplyParser parser;
  const ParseStep step = parser.Feed(text);
  EXPECT_EQ(step.state, ParseState::kDone) << text << " " << parser.error();
  if (consumed) *consumed = step.consumed;
  return parser.reply();
}

TEST(ReplyParserTest, ReadsEveryKindOfReply) {
  Reply ok = ParseOne("200 result=1\n");
  EXPECT_EQ(ok.kind, Reply::Kind::kResult);
  EXPECT_EQ(ok.result, 1);
  Reply data = ParseOne("200 result=1 (3105551234) endpos=0\n");
  EXPECT_EQ(data.data, "3105551234");
  EXPECT_EQ(ParseOne("200 result=-1\n").result, -1);
  EXPECT_EQ(ParseOne("510 Invalid or unknown command\n").kind, Reply::Kind::kInvalid);
  EXPECT_EQ(ParseOne("511 Command Not Permitted on a dead channel or intercept routine\n").kind,
            Reply::Kind::kDeadChannel);
  EXPECT_EQ(ParseOne("520 Invalid command syntax.  Proper usage not available.\n").kind,
            Reply::Kind::kUsage);
  EXPECT_EQ(ParseOne("HANGUP\n").kind, Reply::Kind::kHangup);
  EXPECT_EQ(ParseOne("299 something new\n").kind, Reply::Kind::kOtherCode);
}

TEST(ReplyParserTest, ReadsTheMultiLineUsageToItsEnd) {
  const std::string usage =
      "520-Invalid command syntax.  Proper usage follows:\n"
      "Usage: SET VARIABLE <variablename> <value>\n"
      " Sets a variable to the given value.\n"
      "520 End of proper usage.\n";
  std::size_t consumed = 0;
  const Reply reply = ParseOne(usage + "200 result=1\n", &consumed);
  EXPECT_EQ(reply.kind, Reply::Kind::kUsage);
  EXPECT_EQ(consumed, usage.size());
  EXPECT_NE(reply.data.find("SET VARIABLE"), std::string::npos);
  // Old versions print the usage without a final newline before the terminator.
  EXPECT_EQ(ParseOne("520-Invalid command syntax.  Proper usage follows:\n"
                     "Answers channel.520 End of proper usage.\n")
                .kind,
            Reply::Kind::kUsage);
}

TEST(ReplyParserTest, SameRepliesSplitAtEveryByteBoundary) {
  const std::string stream =
      "200 result=1\n"
      "520-Invalid command syntax.  Proper usage follows:\nUsage: X\n520 End of proper usage.\n"
      "510 Invalid or unknown command\n"
      "HANGUP\n"
      "511 Command Not Permitted on a dead channel or intercept routine\n";
  const std::vector<Reply::Kind> expected = {Reply::Kind::kResult, Reply::Kind::kUsage,
                                             Reply::Kind::kInvalid, Reply::Kind::kHangup,
                                             Reply::Kind::kDeadChannel};
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    const std::vector<std::string> chunks = {stream.substr(0, split), stream.substr(split)};
    std::string buffer;
    std::vector<Reply::Kind> kinds;
    ReplyParser parser;
    for (const auto& chunk : chunks) {
      buffer += chunk;
      for (;;) {
        const ParseStep step = parser.Feed(buffer);
        buffer.erase(0, step.consumed);
        ASSERT_NE(step.state, ParseState::kError) << split;
        if (step.state == ParseState::kNeedMore) break;
        kinds.push_back(parser.reply().kind);
        parser.Reset();
      }
    }
    EXPECT_EQ(kinds, expected) << "split at " << split;
  }
}

TEST(ReplyParserTest, RefusesGarbageAndOversizeLines) {
  for (const std::string& garbage :
       std::vector<std::string>{"hello\n", "200\n", "200 result 1\n", "200 result=\n",
                                "200 result=x\n", "20 ok\n", "2000 result=1\n"}) {
    ReplyParser parser;
    EXPECT_EQ(parser.Feed(garbage).state, ParseState::kError) << garbage;
  }
  ReplyParser parser;
  EXPECT_EQ(parser.Feed("200 result=1 (" + std::string(kMaxLineBytes, 'x')).state,
            ParseState::kError);
  ReplyParser endless_usage;
  std::string usage = "520-Invalid command syntax.  Proper usage follows:\n";
  for (std::size_t i = 0; i <= kMaxEnvLines; ++i) usage += "more\n";
  EXPECT_EQ(endless_usage.Feed(usage).state, ParseState::kError);
}

}  // namespace
}  // namespace cidrotor::agi
