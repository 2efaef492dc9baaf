# Warnings for the project's own targets (not for third-party headers, which are SYSTEM).
add_library(cidrotor_warnings INTERFACE)
target_compile_options(cidrotor_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion)
target_compile_definitions(cidrotor_warnings INTERFACE _GLIBCXX_ASSERTIONS)
