// SPDX-License-Identifier: LGPL-2.1-or-later
#include "exposition.h"

#include <glib.h>

#include <set>

namespace test_support {

namespace {

bool is_name_start(char c) { return g_ascii_isalpha(c) || c == '_' || c == ':'; }
bool is_name_char(char c) { return is_name_start(c) || g_ascii_isdigit(c); }

// Reads a metric name at `pos`; label names use the same rule minus ':'.
bool read_name(const std::string &line, size_t *pos, std::string *name, bool label) {
  size_t start = *pos;
  if (start >= line.size() || !is_name_start(line[start]) || (label && line[start] == ':'))
    return false;
  size_t end = start + 1;
  while (end < line.size() && is_name_char(line[end]) && !(label && line[end] == ':')) end++;
  *name = line.substr(start, end - start);
  *pos = end;
  return true;
}

bool read_label_value(const std::string &line, size_t *pos, std::string *value) {
  if (*pos >= line.size() || line[*pos] != '"') return false;
  value->clear();
  for (size_t i = *pos + 1; i < line.size(); i++) {
    char c = line[i];
    if (c == '"') {
      *pos = i + 1;
      return true;
    }
    if (c == '\\') {
      if (++i >= line.size()) return false;
      if (line[i] == '\\')
        *value += '\\';
      else if (line[i] == '"')
        *value += '"';
      else if (line[i] == 'n')
        *value += '\n';
      else
        return false;
    } else {
      *value += c;
    }
  }
  return false;
}

bool read_number(const std::string &text, double *value) {
  if (text == "+Inf" || text == "-Inf" || text == "NaN") return true;
  if (text.empty()) return false;
  gchar *end = nullptr;
  *value = g_ascii_strtod(text.c_str(), &end);
  return end && *end == '\0';
}

bool parse_sample(const std::string &line, Sample *sample, std::string *why) {
  size_t pos = 0;
  if (!read_name(line, &pos, &sample->name, false)) return *why = "bad metric name", false;
  if (pos < line.size() && line[pos] == '{') {
    pos++;
    while (pos < line.size() && line[pos] != '}') {
      std::string label, value;
      if (!read_name(line, &pos, &label, true)) return *why = "bad label name", false;
      if (pos >= line.size() || line[pos] != '=') return *why = "no '=' after label", false;
      pos++;
      if (!read_label_value(line, &pos, &value)) return *why = "bad label value", false;
      if (!sample->labels.emplace(label, value).second) return *why = "label repeated", false;
      if (pos < line.size() && line[pos] == ',') pos++;
    }
    if (pos >= line.size()) return *why = "unclosed '{'", false;
    pos++;
  }
  if (pos >= line.size() || line[pos] != ' ') return *why = "no space before the value", false;
  const std::string rest = line.substr(pos + 1);
  const size_t space = rest.find(' ');
  if (!read_number(rest.substr(0, space), &sample->value)) return *why = "bad value", false;
  if (space != std::string::npos) {
    double timestamp = 0;
    if (!read_number(rest.substr(space + 1), &timestamp)) return *why = "bad timestamp", false;
  }
  return true;
}

}  // namespace

const Sample *Exposition::find(const std::string &name) const {
  for (const Sample &sample : samples)
    if (sample.name == name) return &sample;
  return nullptr;
}

bool parse_exposition(const std::string &text, Exposition *out, std::string *error) {
  if (text.empty() || text.back() != '\n') return *error = "does not end with a newline", false;
  static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                               "untyped"};
  std::set<std::string> sampled;
  size_t start = 0;
  int number = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    number++;
    auto fail = [&](const std::string &why) {
      *error = "line " + std::to_string(number) + " (" + line + "): " + why;
      return false;
    };
    if (line.empty()) continue;
    if (line[0] == '#') {
      const bool is_help = line.rfind("# HELP ", 0) == 0;
      const bool is_type = line.rfind("# TYPE ", 0) == 0;
      if (!is_help && !is_type) continue;  // a plain comment
      size_t pos = 7;
      std::string name;
      if (!read_name(line, &pos, &name, false)) return fail("bad metric name");
      if (pos >= line.size() || line[pos] != ' ') return fail("nothing after the name");
      const std::string rest = line.substr(pos + 1);
      if (is_help) {
        if (!out->help.emplace(name, rest).second) return fail("second HELP");
      } else {
        if (!kTypes.count(rest)) return fail("unknown type");
        if (sampled.count(name)) return fail("TYPE after its samples");
        if (!out->types.emplace(name, rest).second) return fail("second TYPE");
      }
      continue;
    }
    Sample sample;
    std::string why;
    if (!parse_sample(line, &sample, &why)) return fail(why);
    sampled.insert(sample.name);
    out->samples.push_back(std::move(sample));
  }
  return true;
}

}  // namespace test_support
