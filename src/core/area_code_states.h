// Which state an area code serves: the `state` tier of the allocation ladder (SPEC: "same state:
// overlays and neighbours, from real numbering-plan data").
//
// A state is a US state or DC, a Canadian province or territory, or, for the rest of the NANP
// (Puerto Rico, the Caribbean, the Pacific territories), the country or territory itself, named
// by its two-letter code. The table is generated at build time from libphonenumber's geocoding
// data (area_code_states.py), so it is the numbering plan of that data release. Pure lookups on
// constant data; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace cidrotor::core {

// "NY" for 212; "" for an area code the data places in no state (toll-free, unassigned).
std::string_view StateOfAreaCode(std::uint32_t npa);

// Every area code of the state `npa` is in, `npa` included, ascending; empty when it is in none.
std::span<const std::uint16_t> AreaCodesOfState(std::uint32_t npa);

}  // namespace cidrotor::core
