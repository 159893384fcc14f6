#include "cli/output.hpp"

#include <algorithm>
#include <boost/json.hpp>

namespace cairn::cli {
namespace {

constexpr std::string_view kColumnGap = "  ";

std::string sanitize(std::string cell) {
  for (char& c : cell) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) c = '?';
  }
  return cell;
}

// Characters, not bytes: UTF-8 continuation bytes do not count.
std::size_t displayWidth(std::string_view s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

void newline(std::string& out, int depth) {
  out.push_back('\n');
  out.append(static_cast<std::size_t>(depth) * 2, ' ');
}

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace

Table::Table(std::vector<std::string> header) {
  for (std::string& cell : header) cell = sanitize(std::move(cell));
  rows_.push_back(std::move(header));
}

void Table::addRow(std::vector<std::string> cells) {
  CAIRN_CHECK(cells.size() == rows_[0].size(), "table row has the wrong number of cells");
  for (std::string& cell : cells) cell = sanitize(std::move(cell));
  rows_.push_back(std::move(cells));
}

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> widths(rows_[0].size(), 0);
  for (const auto& row : rows_) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], displayWidth(row[i]));
    }
  }
  for (const auto& row : rows_) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line += kColumnGap;
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - displayWidth(row[i]), ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  }
}

std::string joinTags(const std::vector<std::string>& tags) {
  std::string out;
  for (const std::string& tag : tags) {
    if (!out.empty()) out += ',';
    out += tag;
  }
  return out;
}

Result<std::string> prettyJson(std::string_view json) {
  boost::system::error_code ec;
  boost::json::parse(json, ec);
  if (ec) return corruption("server sent invalid JSON: " + ec.message());

  // The text is valid JSON, so a scan that tracks only strings and nesting
  // is enough to re-indent it.
  std::string out;
  out.reserve(json.size() * 2);
  int depth = 0;
  bool inString = false;
  bool escaped = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (inString) {
      out.push_back(c);
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        inString = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        inString = true;
        out.push_back(c);
        break;
      case '{':
      case '[': {
        out.push_back(c);
        std::size_t next = i + 1;
        while (next < json.size() && isSpace(json[next])) ++next;
        if (next < json.size() && (json[next] == '}' || json[next] == ']')) {
          out.push_back(json[next]);  // empty: "{}" or "[]" on one line
          i = next;
        } else {
          newline(out, ++depth);
        }
        break;
      }
      case '}':
      case ']':
        newline(out, --depth);
        out.push_back(c);
        break;
      case ',':
        out.push_back(c);
        newline(out, depth);
        break;
      case ':':
        out += ": ";
        break;
      default:
        if (!isSpace(c)) out.push_back(c);
    }
  }
  out.push_back('\n');
  return out;
}

}  // namespace cairn::cli
