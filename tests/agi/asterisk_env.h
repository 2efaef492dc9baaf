// Test helpers: the environment block exactly as Asterisk 20 writes it to a FastAGI server
// (res_agi.c setup_env: `name: value\n` lines, then an empty line), with the fields a test varies.
#pragma once

#include <string>

namespace cidrotor::agi::testing {

struct EnvFields {
  std::string script = "next-cid?campaign=sales&agent=agent001";
  std::string extension = "913105559876";
  std::string dnid = "unknown";
  std::string callerid = "0000000000";
  std::string calleridname = "V11251430120000012345";  // VICIdial call code, lead 12345
  std::string uniqueid = "1700000000.42";
  std::string channel = "SIP/carrier-0000001a";
  std::string extra;  // more lines (each ending in \n), e.g. agi_arg_1
};

inline std::string AsteriskEnv(const EnvFields& f = {}) {
  return "agi_network: yes\n"
         "agi_network_script: " +
         f.script +
         "\n"
         "agi_request: agi://127.0.0.1:4573/" +
         f.script +
         "\n"
         "agi_channel: " +
         f.channel +
         "\n"
         "agi_language: en\n"
         "agi_type: SIP\n"
         "agi_uniqueid: " +
         f.uniqueid +
         "\n"
         "agi_version: 20.5.0\n"
         "agi_callerid: " +
         f.callerid +
         "\n"
         "agi_calleridname: " +
         f.calleridname +
         "\n"
         "agi_callingpres: 0\n"
         "agi_callingani2: 0\n"
         "agi_callington: 0\n"
         "agi_callingtns: 0\n"
         "agi_dnid: " +
         f.dnid +
         "\n"
         "agi_rdnis: unknown\n"
         "agi_context: vicidial-carrier\n"
         "agi_extension: " +
         f.extension +
         "\n"
         "agi_priority: 2\n"
         "agi_enhanced: 0.0\n"
         "agi_accountcode: \n"
         "agi_threadid: 140536283789056\n" +
         f.extra + "\n";
}

}  // namespace cidrotor::agi::testing
