// The shipped dialplan (deploy/asterisk/extensions_cidrotor.conf) parses as Asterisk reads it:
// every line in a context, `same =>` after an `exten =>`, priorities start at 1, labels unique,
// and every Goto/GotoIf/Gosub/hangup-handler target names a context, extension and priority or
// label that exist in the file. Also checks what VICIdial needs: CALLERID(name) is never set,
// `SET CALLERID` is never used, and every outbound request bounds its wait.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace cidrotor::agi {
namespace {

const std::string kDialplan =
    std::string(CIDROTOR_SOURCE_DIR) + "/deploy/asterisk/extensions_cidrotor.conf";

std::string Trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, sep)) parts.push_back(Trim(part));
  if (!s.empty() && s.back() == sep) parts.emplace_back();
  return parts;
}

struct Extension {
  std::set<std::string> labels;
  int priorities = 0;
};

struct Dialplan {
  std::map<std::string, std::map<std::string, Extension>> contexts;
  struct Jump {
    std::string context, exten, target;
    int line;
  };
  std::vector<Jump> jumps;  // (context, exten) the jump is made from, and its target text
  std::vector<std::string> applications;
  std::vector<std::string> errors;
};

// The `ctx,ext,prio(args)` text of a Gosub / hangup handler, without the `(args)`.
std::string WithoutArgs(std::string target) {
  if (const auto paren = target.find('('); paren != std::string::npos) target.resize(paren);
  return target;
}

Dialplan Parse(std::istream& in) {
  Dialplan plan;
  std::string context, exten, raw;
  int line_no = 0;
  while (std::getline(in, raw)) {
    ++line_no;
    const std::string line = Trim(raw.substr(0, raw.find(';')));
    if (line.empty()) continue;
    auto error = [&](const std::string& what) {
      plan.errors.push_back("line " + std::to_string(line_no) + ": " + what);
    };
    if (line.front() == '[') {
      if (line.back() != ']') error("unterminated context header");
      context = line.substr(1, line.size() - 2);
      if (plan.contexts.count(context)) error("context defined twice: " + context);
      plan.contexts[context];
      exten.clear();
      continue;
    }
    if (context.empty()) error("line outside a context");
    const auto arrow = line.find("=>");
    if (arrow == std::string::npos) {
      error("not `exten =>` or `same =>`");
      continue;
    }
    const std::string kind = Trim(line.substr(0, arrow));
    const std::string rest = Trim(line.substr(arrow + 2));
    const auto comma = rest.find(',');
    std::string head = rest.substr(0, comma);
    std::string after = comma == std::string::npos ? "" : rest.substr(comma + 1);
    std::string priority;
    if (kind == "exten") {
      exten = head;
      const auto c2 = after.find(',');
      priority = after.substr(0, c2);
      after = c2 == std::string::npos ? "" : after.substr(c2 + 1);
      if (priority != "1") error("a new extension starts at priority 1: " + exten);
      if (plan.contexts[context].count(exten)) error("extension defined twice: " + exten);
    } else if (kind == "same") {
      if (exten.empty()) error("`same =>` before any `exten =>`");
      priority = head;
      if (priority.rfind("n", 0) != 0) error("`same =>` must use priority n");
    } else {
      error("unknown statement: " + kind);
      continue;
    }
    Extension& ext = plan.contexts[context][exten];
    ++ext.priorities;
    if (const auto open = priority.find('('); open != std::string::npos) {
      const std::string label = priority.substr(open + 1, priority.find(')') - open - 1);
      if (!ext.labels.insert(label).second) error("label defined twice: " + label);
    }
    const std::string app = Trim(after.substr(0, after.find('(')));
    if (app.empty() || after.back() != ')') error("application call expected: " + after);
    plan.applications.push_back(after);
    const std::string args = after.substr(after.find('(') + 1, after.size() - after.find('(') - 2);
    if (app == "Goto" || app == "Gosub") {
      plan.jumps.push_back({context, exten, WithoutArgs(args), line_no});
    } else if (app == "GotoIf" || app == "GosubIf") {
      const std::string branches = args.substr(args.rfind('?') + 1);
      for (const auto& branch : Split(branches, ':')) {
        if (!branch.empty()) plan.jumps.push_back({context, exten, WithoutArgs(branch), line_no});
      }
    }
    constexpr std::string_view kPush = "CHANNEL(hangup_handler_push)=";
    if (const auto at = after.find(kPush); at != std::string::npos) {
      std::string target = after.substr(at + kPush.size());
      // Inside ExecIf(...?Set(...)) the target ends at the first `)` it did not open.
      int depth = 0;
      for (std::size_t i = 0; i < target.size(); ++i) {
        if (target[i] == '(') ++depth;
        if (target[i] == ')' && depth-- == 0) {
          target.resize(i);
          break;
        }
      }
      plan.jumps.push_back({context, exten, WithoutArgs(target), line_no});
    }
  }
  return plan;
}

// The errors of one jump target: `label`, `prio`, `ext,label` or `ctx,ext,label`.
std::string CheckJump(const Dialplan& plan, const Dialplan::Jump& jump) {
  const auto parts = Split(jump.target, ',');
  std::string context = jump.context, exten = jump.exten, where = parts.back();
  if (parts.size() == 2) exten = parts[0];
  if (parts.size() == 3) context = parts[0], exten = parts[1];
  if (parts.size() > 3) return "bad target " + jump.target;
  const auto ctx = plan.contexts.find(context);
  if (ctx == plan.contexts.end()) return "no context " + context;
  const auto ext = ctx->second.find(exten);
  if (ext == ctx->second.end()) return "no extension " + exten + " in " + context;
  const bool numeric = !where.empty() && where.find_first_not_of("0123456789") == std::string::npos;
  if (numeric) {
    if (std::stoi(where) < 1 || std::stoi(where) > ext->second.priorities) {
      return "no priority " + where;
    }
  } else if (!ext->second.labels.count(where)) {
    return "no label " + where + " in " + context + "," + exten;
  }
  return "";
}

Dialplan ParseShipped() {
  std::ifstream in(kDialplan);
  EXPECT_TRUE(in.good()) << kDialplan;
  return Parse(in);
}

TEST(DialplanTest, EveryLineParsesAndEveryJumpTargetExists) {
  const Dialplan plan = ParseShipped();
  EXPECT_TRUE(plan.errors.empty()) << ::testing::PrintToString(plan.errors);
  for (const char* context :
       {"cidrotor-agi", "cidrotor-agi-release", "cidrotor-curl", "cidrotor-curl-release"}) {
    EXPECT_TRUE(plan.contexts.count(context)) << context;
  }
  EXPECT_GE(plan.jumps.size(), 6U);
  for (const auto& jump : plan.jumps) {
    EXPECT_EQ(CheckJump(plan, jump), "") << "line " << jump.line << ": " << jump.target;
  }
}

TEST(DialplanTest, NeverTouchesTheCallerIdNameAndBoundsEveryWait) {
  const Dialplan plan = ParseShipped();
  int curl_calls = 0;
  for (const auto& app : plan.applications) {
    EXPECT_EQ(app.find("CALLERID(name)="), std::string::npos) << app;
    EXPECT_EQ(app.find("CALLERID(all)"), std::string::npos) << app;
    EXPECT_EQ(app.find("SET CALLERID"), std::string::npos) << app;
    if (app.find("${CURL(") != std::string::npos) ++curl_calls;
  }
  EXPECT_EQ(curl_calls, 2);
  // Each CURL context sets both timeouts before its request.
  for (const char* context : {"cidrotor-curl", "cidrotor-curl-release"}) {
    bool conn = false, http = false;
    std::ifstream in(kDialplan);
    std::string line, current;
    while (std::getline(in, line)) {
      if (line.rfind("[", 0) == 0) current = line.substr(1, line.find(']') - 1);
      if (current != context) continue;
      conn = conn || line.find("CURLOPT(conntimeout)=") != std::string::npos;
      http = http || line.find("CURLOPT(httptimeout)=") != std::string::npos;
      if (line.find("${CURL(") != std::string::npos) {
        EXPECT_TRUE(conn && http) << context;
      }
    }
  }
}

TEST(DialplanTest, TheCheckerCatchesBrokenDialplans) {
  std::istringstream broken(
      "[a]\n"
      "exten => s,1,Goto(nowhere)\n"
      " same => n,Gosub(b,s,1(x))\n"
      " same => n(x),NoOp()\n"
      " same => n(x),NoOp()\n"
      " same => n,ExecIf($[1]?Set(CHANNEL(hangup_handler_push)=c,s,1))\n"
      "exten => t,2,NoOp()\n");
  const Dialplan plan = Parse(broken);
  EXPECT_EQ(plan.errors.size(), 2U);  // label x twice, priority 2 first
  int bad = 0;
  for (const auto& jump : plan.jumps) bad += CheckJump(plan, jump).empty() ? 0 : 1;
  EXPECT_EQ(bad, 3);  // no label `nowhere`, no context b, no context c
}

}  // namespace
}  // namespace cidrotor::agi
