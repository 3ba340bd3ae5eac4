// SPDX-License-Identifier: LGPL-2.1-or-later
// A strict reader of the Prometheus text exposition format (version 0.0.4),
// enough to reject anything a scraper would reject: every line must be a
// HELP, TYPE or sample line, names and labels well formed, values numbers,
// each family's TYPE before its samples and declared once.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace test_support {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;  // values unescaped
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family name -> counter, gauge, ...
  std::map<std::string, std::string> help;
  std::vector<Sample> samples;

  // The sample named `name`, or nullptr.
  const Sample *find(const std::string &name) const;
};

// Parses `text`; on failure returns false and says which line and why.
bool parse_exposition(const std::string &text, Exposition *out, std::string *error);

}  // namespace test_support
