// Human and machine output of the CLI: aligned text tables and re-indented
// JSON. Pure functions, no I/O beyond the stream they are handed.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace cairn::cli {

// A table printed with a header row and columns separated by two spaces,
// each column as wide as its widest cell (counted in UTF-8 characters). The
// last column is not padded, so lines carry no trailing spaces. Control
// characters in cells print as '?', so a server cannot break the layout.
class Table {
 public:
  explicit Table(std::vector<std::string> header);

  // Aborts if `cells` does not have one cell per header column (a bug).
  void addRow(std::vector<std::string> cells);
  void print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;  // rows_[0] is the header
};

// Joins with ',' ("" for none), as tags are shown in tables.
std::string joinTags(const std::vector<std::string>& tags);

// `json` re-indented by two spaces per level, with a final newline. Strings
// and numbers are copied byte for byte, so the output is the server's JSON.
// Fails (kCorruption) if `json` is not valid JSON.
Result<std::string> prettyJson(std::string_view json);

}  // namespace cairn::cli
