// Scripted scenarios (etcd-io/raft's testdata style): each file under
// raft/testdata/ is a transcript of commands and expectations run against a
// synchronous in-process cluster. One command per line; '#' starts a comment.
//
//   cluster 1 2 3            new cluster with these voters
//   campaign N | propose N DATA | propose-fails N DATA | transfer N TO
//   tick N COUNT | tick-all COUNT | settle | isolate N | heal | drop TYPE | undrop
//   add-learner N ID | promote N ID | remove N ID | read N CTX | compact N DATA
//   expect-leader N | expect-role N ROLE | expect-term N T | expect-commit N I
//   expect-applied N D1,D2,... | expect-read N CTX | expect-no-read N
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "raft/test_network.hpp"

namespace cairn::raft {
namespace {

using testing::TestNetwork;

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::optional<MsgType> msgType(const std::string& name) {
  for (int t = 0; t <= static_cast<int>(MsgType::kReadIndexResp); ++t)
    if (name == toString(static_cast<MsgType>(t))) return static_cast<MsgType>(t);
  return std::nullopt;
}

void runScript(const std::filesystem::path& path) {
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::unique_ptr<TestNetwork> net;
  std::string line;
  int lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream ss(line);
    std::string cmd;
    if (!(ss >> cmd)) continue;
    SCOPED_TRACE(path.filename().string() + ":" + std::to_string(lineNo) + ": " + line);
    std::vector<std::string> a;
    for (std::string w; ss >> w;) a.push_back(w);
    auto id = [&](size_t i) { return static_cast<NodeId>(std::stoull(a.at(i))); };
    if (cmd == "cluster") {
      std::vector<NodeId> ids;
      for (size_t i = 0; i < a.size(); ++i) ids.push_back(id(i));
      net = std::make_unique<TestNetwork>(ids);
      continue;
    }
    ASSERT_TRUE(net) << "the first command must be `cluster`";
    if (cmd == "campaign") {
      (*net)[id(0)].campaign();
      net->settle();
    } else if (cmd == "propose") {
      ASSERT_TRUE((*net)[id(0)].propose(a.at(1)).ok());
      net->settle();
    } else if (cmd == "propose-fails") {
      ASSERT_FALSE((*net)[id(0)].propose(a.at(1)).ok());
    } else if (cmd == "transfer") {
      (*net)[id(0)].transferLeadership(id(1));
      net->settle();
    } else if (cmd == "tick") {
      for (int i = 0; i < std::stoi(a.at(1)); ++i) {
        (*net)[id(0)].tick();
        net->settle();
      }
    } else if (cmd == "tick-all") {
      net->tickAll(std::stoi(a.at(0)));
    } else if (cmd == "settle") {
      net->settle();
    } else if (cmd == "isolate") {
      net->isolate(id(0));
    } else if (cmd == "heal") {
      net->heal();
    } else if (cmd == "drop") {
      net->dropType = msgType(a.at(0));
      ASSERT_TRUE(net->dropType.has_value()) << "unknown message type " << a.at(0);
    } else if (cmd == "undrop") {
      net->dropType.reset();
    } else if (cmd == "add-learner" || cmd == "promote" || cmd == "remove") {
      if (cmd == "add-learner" && !net->nodes.count(id(1))) net->add(id(1), {});
      auto type = cmd == "add-learner" ? ConfChangeType::kAddLearner
                  : cmd == "promote"   ? ConfChangeType::kAddVoter
                                       : ConfChangeType::kRemoveNode;
      ASSERT_TRUE((*net)[id(0)].proposeConfChange({type, id(1)}).ok());
      net->settle();
    } else if (cmd == "read") {
      (*net)[id(0)].readIndex(a.at(1));
      net->settle();
    } else if (cmd == "compact") {
      auto& n = net->nodes.at(id(0));
      uint64_t applied = n.node->raft().log().applied();
      ASSERT_TRUE(n.storage->createSnapshot(applied, n.node->raft().conf(), a.at(1)).ok());
      ASSERT_TRUE(n.storage->compact(applied).ok());
    } else if (cmd == "expect-leader") {
      EXPECT_EQ(net->leader(), id(0));
    } else if (cmd == "expect-role") {
      EXPECT_EQ(toString((*net)[id(0)].softState().role), a.at(1));
    } else if (cmd == "expect-term") {
      EXPECT_EQ((*net)[id(0)].hardState().term, std::stoull(a.at(1)));
    } else if (cmd == "expect-commit") {
      EXPECT_EQ((*net)[id(0)].raft().log().committed(), std::stoull(a.at(1)));
    } else if (cmd == "expect-applied") {
      std::vector<std::string> got;
      for (const auto& e : net->nodes.at(id(0)).applied)
        if (e.type == EntryType::kNormal && !e.data.empty()) got.push_back(e.data);
      EXPECT_EQ(join(got), a.size() > 1 ? a.at(1) : "");
    } else if (cmd == "expect-read") {
      bool found = false;
      for (const auto& r : net->nodes.at(id(0)).reads) found |= r.context == a.at(1);
      EXPECT_TRUE(found);
    } else if (cmd == "expect-no-read") {
      EXPECT_TRUE(net->nodes.at(id(0)).reads.empty());
    } else {
      FAIL() << "unknown command " << cmd;
    }
  }
}

TEST(Scenarios, AllTranscriptsPass) {
  size_t n = 0;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(RAFT_TESTDATA_DIR))
    if (e.path().extension() == ".txt") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    runScript(f);
    ++n;
  }
  EXPECT_GE(n, 4u);
}

}  // namespace
}  // namespace cairn::raft
