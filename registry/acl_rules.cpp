// The Rules text of a policy: Consul's JSON form, or the HCL subset people
// write by hand. Both become the same list of Rule.
#include <boost/json.hpp>
#include <cctype>

#include "registry/acl.hpp"

namespace cairn::registry::acl {
namespace {

namespace json = boost::json;

struct Kind {
  Resource resource;
  bool prefix;
  bool named;
};

// A top-level key: ours (found), Consul's but not ours (ignored), or neither.
enum class KeyClass { kOurs, kIgnored, kUnknown };

KeyClass classify(std::string_view key, Kind& kind) {
  static const struct {
    std::string_view key;
    Kind kind;
  } ours[] = {
      {"service", {Resource::kService, false, true}},
      {"service_prefix", {Resource::kService, true, true}},
      {"node", {Resource::kNode, false, true}},
      {"node_prefix", {Resource::kNode, true, true}},
      {"agent", {Resource::kAgent, false, true}},
      {"agent_prefix", {Resource::kAgent, true, true}},
      {"operator", {Resource::kOperator, false, false}},
      {"acl", {Resource::kAcl, false, false}},
  };
  for (const auto& o : ours)
    if (o.key == key) {
      kind = o.kind;
      return KeyClass::kOurs;
    }
  static const std::string_view ignored[] = {"key",
                                             "key_prefix",
                                             "session",
                                             "session_prefix",
                                             "event",
                                             "event_prefix",
                                             "query",
                                             "query_prefix",
                                             "keyring",
                                             "mesh",
                                             "peering",
                                             "partition",
                                             "namespace",
                                             "identity",
                                             "identity_prefix",
                                             "partition_prefix",
                                             "namespace_prefix"};
  for (auto i : ignored)
    if (i == key) return KeyClass::kIgnored;
  return KeyClass::kUnknown;
}

Error bad(const std::string& what) {
  return invalidArgument("invalid ACL rules: " + what);
}

Result<Access> accessOf(std::string_view s, std::string_view where) {
  Access a = parseAccess(s);
  if (a == Access::kUnset)
    return bad("policy \"" + std::string(s) + "\" for " + std::string(where) +
               " is not \"read\", \"write\" or \"deny\"");
  return a;
}

// ---- JSON ----

Result<std::vector<Rule>> parseJson(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return bad("not a JSON object");
  std::vector<Rule> out;
  for (const auto& [k, val] : v.as_object()) {
    Kind kind{};
    std::string key(k);
    auto cls = classify(key, kind);
    if (cls == KeyClass::kUnknown) return bad("unknown rule \"" + key + "\"");
    if (cls == KeyClass::kIgnored) continue;
    if (!kind.named) {
      if (!val.is_string()) return bad("\"" + key + "\" must be a string");
      auto a = accessOf(val.as_string(), key);
      if (!a.ok()) return a.error();
      out.push_back({kind.resource, "", false, *a});
      continue;
    }
    if (!val.is_object()) return bad("\"" + key + "\" must be an object of names");
    for (const auto& [name, body] : val.as_object()) {
      if (!body.is_object()) return bad(key + " \"" + std::string(name) + "\" must be an object");
      const auto* p = body.as_object().if_contains("policy");
      if (!p || !p->is_string())
        return bad(key + " \"" + std::string(name) + "\" has no string \"policy\"");
      auto a = accessOf(p->as_string(), key + " \"" + std::string(name) + "\"");
      if (!a.ok()) return a.error();
      out.push_back({kind.resource, std::string(name), kind.prefix, *a});
    }
  }
  return out;
}

// ---- HCL subset ----

struct Tok {
  enum Type { kEnd, kIdent, kString, kLBrace, kRBrace, kEquals, kSep } type = kEnd;
  std::string text;
};

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  Result<Tok> next() {
    skipSpace();
    if (!err_.empty()) return bad(err_);
    if (i_ >= s_.size()) return Tok{};
    char c = s_[i_];
    if (c == '{' || c == '}' || c == '=' || c == ',' || c == ';') {
      ++i_;
      return Tok{c == '{'   ? Tok::kLBrace
                 : c == '}' ? Tok::kRBrace
                 : c == '=' ? Tok::kEquals
                            : Tok::kSep,
                 std::string(1, c)};
    }
    if (c == '"') return string();
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t b = i_;
      while (i_ < s_.size() &&
             (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_' || s_[i_] == '-'))
        ++i_;
      return Tok{Tok::kIdent, std::string(s_.substr(b, i_ - b))};
    }
    return bad("unexpected character at offset " + std::to_string(i_));
  }

 private:
  void skipSpace() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i_;
      } else if (c == '#' || (c == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '/')) {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
      } else if (c == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '*') {
        size_t end = s_.find("*/", i_ + 2);
        if (end == std::string_view::npos) {
          err_ = "unterminated comment";
          i_ = s_.size();
          return;
        }
        i_ = end + 2;
      } else {
        return;
      }
    }
  }

  Result<Tok> string() {
    size_t start = i_++;
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (c == '\n') break;
      if (c == '\\') {
        if (i_ >= s_.size()) break;
        char e = s_[i_++];
        out.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e);
      } else {
        out.push_back(c);
      }
    }
    if (i_ >= s_.size() || s_[i_] != '"')
      return bad("unterminated string at offset " + std::to_string(start));
    ++i_;
    return Tok{Tok::kString, std::move(out)};
  }

  std::string_view s_;
  size_t i_ = 0;
  std::string err_;
};

// Reads `{ key = "value" ... }` after its '{'; returns the policy value ("" if none).
Result<std::string> parseBlock(Lexer& lx, const std::string& where) {
  std::string policy;
  for (;;) {
    auto t = lx.next();
    if (!t.ok()) return t.error();
    if (t->type == Tok::kRBrace) return policy;
    if (t->type == Tok::kSep) continue;
    if (t->type != Tok::kIdent) return bad("expected a field or '}' in " + where);
    auto eq = lx.next();
    if (!eq.ok()) return eq.error();
    if (eq->type != Tok::kEquals) return bad("expected '=' after " + t->text + " in " + where);
    auto v = lx.next();
    if (!v.ok()) return v.error();
    if (v->type != Tok::kString) return bad("expected a string for " + t->text + " in " + where);
    if (t->text == "policy") policy = v->text;  // others (intentions, ...) are not ours
  }
}

Result<std::vector<Rule>> parseHcl(std::string_view text) {
  Lexer lx(text);
  std::vector<Rule> out;
  for (;;) {
    auto t = lx.next();
    if (!t.ok()) return t.error();
    if (t->type == Tok::kEnd) return out;
    if (t->type == Tok::kSep) continue;
    if (t->type != Tok::kIdent) return bad("expected a rule name, got '" + t->text + "'");
    Kind kind{};
    auto cls = classify(t->text, kind);
    if (cls == KeyClass::kUnknown) return bad("unknown rule \"" + t->text + "\"");
    auto n = lx.next();
    if (!n.ok()) return n.error();
    if (n->type == Tok::kEquals) {
      // `operator = "read"`
      auto v = lx.next();
      if (!v.ok()) return v.error();
      if (v->type != Tok::kString) return bad("expected a string after " + t->text + " =");
      if (cls == KeyClass::kIgnored) continue;
      if (kind.named) return bad(t->text + " needs a name and a block");
      auto a = accessOf(v->text, t->text);
      if (!a.ok()) return a.error();
      out.push_back({kind.resource, "", false, *a});
      continue;
    }
    if (n->type != Tok::kString) return bad("expected a name or '=' after " + t->text);
    std::string where = t->text + " \"" + n->text + "\"";
    auto lb = lx.next();
    if (!lb.ok()) return lb.error();
    if (lb->type == Tok::kEquals) {
      // `service "web" = { policy = "read" }`, HCL's other spelling
      lb = lx.next();
      if (!lb.ok()) return lb.error();
    }
    if (lb->type != Tok::kLBrace) return bad("expected '{' after " + where);
    auto policy = parseBlock(lx, where);
    if (!policy.ok()) return policy.error();
    if (cls == KeyClass::kIgnored) continue;
    if (!kind.named) return bad(t->text + " takes no name");
    auto a = accessOf(*policy, where);
    if (!a.ok()) return a.error();
    out.push_back({kind.resource, n->text, kind.prefix, *a});
  }
}

}  // namespace

Result<std::vector<Rule>> parseRules(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (i < text.size() && text[i] == '{') return parseJson(text);
  return parseHcl(text);
}

}  // namespace cairn::registry::acl
