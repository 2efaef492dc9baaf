#!/usr/bin/python3
"""Writes the NANP area code -> state table of core/area_code_states.cc (the `state` tier).

Run at build time (src/core/CMakeLists.txt) on libphonenumber's geocoding data as Debian packages
it (python3-phonenumbers, the same data release as libphonenumber8), so the table follows the
numbering plan of the installed data rather than a list kept by hand.

The geocoder describes number prefixes ("1310" -> "California", "1310393" -> "Santa Monica, CA"):
each description that names a US state, DC or a Canadian province or territory votes for that
region, and an area code takes the region most of its prefixes name (a few NPAs straddle a
border: 902 is Nova Scotia and Prince Edward Island). An area code of the rest of the NANP (Puerto
Rico, the Caribbean, the Pacific territories) is its own "state": its ISO region code. Area codes
the data does not place (toll-free, unassigned) get none, so the tier skips them.

Usage: area_code_states.py OUT.inc. Output: C++ initializers `{"ST", NPA},`, ordered by state
then area code.
"""
import re
import sys

import phonenumbers
from phonenumbers.geodata import GEOCODE_DATA

# What the descriptions call regions, by the codes used for them.
REGIONS = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "Washington D.C.",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota",
    "MS": "Mississippi", "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada",
    "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia",
    "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
    "NL": "Newfoundland and Labrador", "NS": "Nova Scotia", "ON": "Ontario",
    "PE": "Prince Edward Island", "QC": "Quebec", "SK": "Saskatchewan",
    "NT": "Northwest Territories", "NU": "Nunavut", "YT": "Yukon",
}
# Overlays the packaged data does not place (its 8.12.57 release is from late 2022, and it names
# 445 "Philadelphia" with no state), each with an area code it overlays: it takes that one's
# region. From the state commissions' and NANPA's overlay announcements (e.g. cpuc.ca.gov/AreaCodes
# for California's). Where the data places an area code, the data wins.
OVERLAYS = {
    350: 209, 357: 559, 369: 707, 738: 213, 837: 530,  # California
    445: 215, 835: 610,  # Pennsylvania
    329: 845, 363: 516, 624: 716,  # New York
    324: 904, 645: 305, 728: 561,  # Florida
    686: 703, 227: 301, 436: 440, 472: 910, 983: 303, 730: 618, 861: 815, 274: 920,
    557: 314, 235: 573,
    354: 450, 382: 519, 428: 506, 683: 705, 879: 709, 942: 416, 257: 250,  # Canada
}
BY_NAME = {name: code for code, name in REGIONS.items()}
BY_NAME["Washington State"] = "WA"
CITY_AND_REGION = re.compile(r", ([A-Z]{2})$")  # "Santa Monica, CA"


def regions_of(description):
    """The regions a description names: "Santa Monica, CA", "Ontario", or several joined by a
    slash ("Nova Scotia/Prince Edward Island")."""
    found = []
    for part in description.split("/"):
        match = CITY_AND_REGION.search(part)
        if match and match.group(1) in REGIONS:
            found.append(match.group(1))
        elif part.strip() in BY_NAME:
            found.append(BY_NAME[part.strip()])
    return found


def main():
    votes = {}  # npa -> {region: prefixes naming it}
    for prefix, descriptions in GEOCODE_DATA.items():
        if not prefix.startswith("1") or len(prefix) < 4:
            continue
        for region in regions_of(descriptions.get("en", "")):
            counts = votes.setdefault(int(prefix[1:4]), {})
            counts[region] = counts.get(region, 0) + 1
    table = []
    for npa in range(200, 1000):
        if npa in votes:
            counts = votes[npa]
            table.append((max(sorted(counts), key=counts.get), npa))
            continue
        country = phonenumbers.region_code_for_number(phonenumbers.parse(f"+1{npa}2000000"))
        if country and country not in ("US", "CA", "ZZ"):
            table.append((country, npa))
    placed = {npa: state for state, npa in table}
    for npa, overlaid in sorted(OVERLAYS.items()):
        if npa not in placed and overlaid in placed:
            table.append((placed[overlaid], npa))
    if len(table) < 300:  # the data went missing or changed shape: fail the build, loudly
        sys.exit(f"area_code_states.py: only {len(table)} area codes placed")
    with open(sys.argv[1], "w", encoding="ascii") as out:
        for state, npa in sorted(table):
            out.write(f'{{"{state}", {npa}}},\n')


if __name__ == "__main__":
    main()
