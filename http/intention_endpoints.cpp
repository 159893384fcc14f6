// /v1/connect/intentions: Consul's legacy API (by ID), the newer exact API
// (by source and destination) and check. Writes go through Raft; reads and
// checks come from this server's view.
#include <algorithm>
#include <boost/json.hpp>

#include "http/api.hpp"
#include "http/connect_json.hpp"
#include "http/encode.hpp"
#include "http/json_fields.hpp"
#include "registry/intentions.hpp"

namespace cairn::http {
namespace json = boost::json;
using registry::Intention;

namespace {

int64_t nowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Reads the fields a client sets; SourceNS / DestinationNS may only name
// the one namespace there is.
Status decodeIntention(std::string_view body, Intention& in, bool namesFromBody) {
  auto obj = parseJsonObject(body);
  if (!obj.ok()) return obj.error();
  Fields f(*obj);
  if (namesFromBody) {
    if (Status st = f.str("SourceName", in.sourceName); !st.ok()) return st;
    if (Status st = f.str("DestinationName", in.destinationName); !st.ok()) return st;
  }
  for (const char* ns : {"SourceNS", "DestinationNS"}) {
    std::string v;
    if (Status st = f.str(ns, v); !st.ok()) return st;
    if (!v.empty() && v != "default")
      return invalidArgument(std::string(ns) + ": only the \"default\" namespace exists");
  }
  if (Status st = f.str("SourceType", in.sourceType); !st.ok()) return st;
  if (in.sourceType.empty()) in.sourceType = "consul";
  if (Status st = f.str("Description", in.description); !st.ok()) return st;
  if (Status st = f.strMap("Meta", in.meta); !st.ok()) return st;
  std::string action;
  if (Status st = f.str("Action", action); !st.ok()) return st;
  auto a = registry::parseIntentionAction(action);
  if (!a) return invalidArgument("Action must be \"allow\" or \"deny\", not \"" + action + "\"");
  in.action = *a;
  return registry::validateIntention(in);
}

const Intention* byNames(const registry::View& v, const std::string& src, const std::string& dst) {
  const Intention* found = nullptr;
  v.intentions.forEach([&](const std::string&, const registry::IntentionPtr& i) {
    if (i->sourceName == src && i->destinationName == dst) found = i.get();
    return found == nullptr;
  });
  return found;
}

// ?source= and ?destination=, both required.
Result<std::pair<std::string, std::string>> namesOf(const Request& req) {
  const auto* s = req.param("source");
  const auto* d = req.param("destination");
  if (!s || s->empty()) return invalidArgument("required query parameter 'source' not set");
  if (!d || d->empty()) return invalidArgument("required query parameter 'destination' not set");
  return std::make_pair(*s, *d);
}

}  // namespace

Outcome Api::intentions(const Request& req, const std::string&) {
  if (req.method == "POST") {
    Intention in;
    if (Status st = decodeIntention(req.body, in, true); !st.ok()) return errorResponse(st.error());
    in.id = registry::randomUuid();
    in.createdAt = in.updatedAt = nowNanos();
    std::string id = in.id;
    return write(registry::IntentionPutCommand{std::move(in)}, [id](uint64_t) {
      return Response::json(serialize(json::object{{"ID", id}}));
    });
  }
  return query(
      req, {std::string(registry::kIntentionsTableKey)},
      [](const View& v) { return std::max<uint64_t>(v.intentionsIndex, 1); },
      [](const View& v) {
        std::vector<const Intention*> all;
        v.intentions.forEach([&](const std::string&, const registry::IntentionPtr& i) {
          all.push_back(i.get());
          return true;
        });
        std::sort(all.begin(), all.end(), [](const Intention* a, const Intention* b) {
          return registry::intentionBefore(*a, *b);
        });
        json::array out;
        for (const auto* i : all) out.push_back(intentionJson(*i));
        return Response::json(serialize(out));
      });
}

Outcome Api::intentionById(const Request& req, const std::string& id) {
  auto v = hub_.view();
  const auto* found = v->intentions.find(id);
  if (req.method == "GET") {
    return query(
        req, {std::string(registry::kIntentionsTableKey)},
        [](const View& v) { return std::max<uint64_t>(v.intentionsIndex, 1); },
        [id](const View& v) {
          const auto* i = v.intentions.find(id);
          if (!i) return Response::text(404, "Intention not found");
          return Response::json(serialize(intentionJson(**i)));
        });
  }
  if (!found) return Response::text(404, "Intention not found");
  if (req.method == "DELETE")
    return write(registry::IntentionDeleteCommand{id, "", ""},
                 [](uint64_t) { return Response::json("true"); });
  Intention in = **found;
  in.sourceName.clear();
  in.destinationName.clear();
  in.description.clear();
  in.meta.clear();
  if (Status st = decodeIntention(req.body, in, true); !st.ok()) return errorResponse(st.error());
  in.id = id;
  in.updatedAt = nowNanos();
  return write(registry::IntentionPutCommand{std::move(in), false, true},
               [](uint64_t) { return Response::json("true"); });
}

Outcome Api::intentionExact(const Request& req, const std::string&) {
  auto names = namesOf(req);
  if (!names.ok()) return errorResponse(names.error());
  auto [src, dst] = *names;
  if (req.method == "GET") {
    return query(
        req, {std::string(registry::kIntentionsTableKey)},
        [](const View& v) { return std::max<uint64_t>(v.intentionsIndex, 1); },
        [src, dst](const View& v) {
          const Intention* i = byNames(v, src, dst);
          if (!i) return Response::text(404, "Intention not found");
          return Response::json(serialize(intentionJson(*i)));
        });
  }
  if (req.method == "DELETE")
    return write(registry::IntentionDeleteCommand{"", src, dst},
                 [](uint64_t) { return Response::json("true"); });
  Intention in;
  in.sourceName = src;
  in.destinationName = dst;
  if (Status st = decodeIntention(req.body, in, false); !st.ok()) return errorResponse(st.error());
  in.id = registry::randomUuid();  // kept only if the pair is new
  in.createdAt = in.updatedAt = nowNanos();
  return write(registry::IntentionPutCommand{std::move(in), true, false},
               [](uint64_t) { return Response::json("true"); });
}

Outcome Api::intentionCheck(const Request& req, const std::string&) {
  auto names = namesOf(req);
  if (!names.ok()) return errorResponse(names.error());
  auto v = hub_.view();
  std::vector<const Intention*> all;
  v->intentions.forEach([&](const std::string&, const registry::IntentionPtr& i) {
    all.push_back(i.get());
    return true;
  });
  auto d = registry::decideIntention(all, names->first, names->second, opts_.connect.defaultAllow);
  return Response::json(serialize(json::object{{"Allowed", d.allowed}}));
}

}  // namespace cairn::http
