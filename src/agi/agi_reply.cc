#include "agi/agi_reply.h"

namespace cidrotor::agi {

std::string SetVariableCommand(std::string_view name, std::string_view value) {
  std::string command = "SET VARIABLE ";
  command.append(name);
  command += " \"";
  for (char ch : value) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) continue;
    if (ch == '"' || ch == '\\') command += '\\';
    command += ch;
  }
  command += "\"\n";
  return command;
}

std::string_view StatusFor(const core::Error& error) { return core::ErrorCodeName(error.code()); }

}  // namespace cidrotor::agi
