// Value types of the Raft core: log entries, persistent state, messages and
// the Ready batch handed to the driver. Plain structs; no I/O anywhere in
// raft/ (see DESIGN.md "Raft").
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace cairn::raft {

using NodeId = uint64_t;  // 0 means "none"
inline constexpr NodeId kNone = 0;

enum class EntryType : uint8_t { kNormal, kConfChange };

struct Entry {
  uint64_t term = 0;
  uint64_t index = 0;
  EntryType type = EntryType::kNormal;
  std::string data;
  bool operator==(const Entry&) const = default;
};

// What must be on disk before any message that depends on it is sent
// (thesis 3.8: currentTerm, votedFor; commit is kept for faster restarts).
struct HardState {
  uint64_t term = 0;
  NodeId vote = kNone;
  uint64_t commit = 0;
  bool operator==(const HardState&) const = default;
  bool empty() const { return term == 0 && vote == kNone && commit == 0; }
};

struct ConfState {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;
  bool operator==(const ConfState&) const = default;
};

// A single-server membership change (thesis 4.1). Adding a node that is a
// learner as a voter promotes it.
enum class ConfChangeType : uint8_t { kAddVoter, kAddLearner, kRemoveNode };

struct ConfChange {
  ConfChangeType type = ConfChangeType::kAddVoter;
  NodeId node = kNone;
  std::string encode() const;
  static std::optional<ConfChange> decode(const std::string& data);
};

struct SnapshotMeta {
  uint64_t index = 0;
  uint64_t term = 0;
  ConfState conf;
  bool operator==(const SnapshotMeta&) const = default;
};

// A snapshot's bytes, read in chunks, so that neither the sender nor the
// receiver needs the whole snapshot in memory: the application decides where
// they live (a string in tests and the simulator, a file on a server).
class SnapshotData {
 public:
  virtual ~SnapshotData() = default;
  virtual uint64_t size() const = 0;
  // Bytes [offset, offset+n) (fewer at the end). Errors are I/O failures.
  virtual Result<std::string> read(uint64_t offset, uint64_t n) const = 0;
};

// Where a follower puts the chunks of a snapshot it is receiving.
class SnapshotSink {
 public:
  virtual ~SnapshotSink() = default;
  virtual Status append(std::string_view chunk) = 0;
  virtual uint64_t size() const = 0;
  // Every chunk has arrived: the data, readable.
  virtual Result<std::shared_ptr<const SnapshotData>> finish() = 0;
};

std::shared_ptr<const SnapshotData> snapshotFromString(std::string bytes);
std::unique_ptr<SnapshotSink> memorySnapshotSink();

struct Snapshot {
  SnapshotMeta meta;
  std::shared_ptr<const SnapshotData> data;  // null: no bytes
  bool empty() const { return meta.index == 0; }
  uint64_t size() const { return data ? data->size() : 0; }
  // All the bytes at once (tests and the simulator; servers read in chunks).
  std::string readAll() const;
};

enum class MsgType : uint8_t {
  kHup,          // local: start an election
  kBeat,         // local: leader sends heartbeats
  kCheckQuorum,  // local: leader checks it still hears from a quorum
  kProp,         // propose entries (local or forwarded to the leader)
  kApp,          // AppendEntries
  kAppResp,
  kVote,  // RequestVote
  kVoteResp,
  kPreVote,  // thesis 9.6
  kPreVoteResp,
  kSnap,      // one chunk of InstallSnapshot
  kSnapResp,  // chunk acknowledgement
  kHeartbeat,
  kHeartbeatResp,
  kTransferLeader,  // thesis 3.10 (local, or forwarded to the leader)
  kTimeoutNow,
  kReadIndex,  // thesis 6.4
  kReadIndexResp,
};

const char* toString(MsgType t);

struct Message {
  MsgType type = MsgType::kHup;
  NodeId from = kNone;
  NodeId to = kNone;
  uint64_t term = 0;
  uint64_t logTerm = 0;  // term of `index` (App: previous entry; Vote: last entry)
  uint64_t index = 0;
  std::vector<Entry> entries;
  uint64_t commit = 0;
  bool reject = false;
  uint64_t rejectHint = 0;
  // kSnap: the chunk [snapOffset, snapOffset + snapChunk.size()) of a
  // snapshot of snapSize bytes described by snapMeta. kSnapResp: snapOffset
  // is the next offset wanted.
  SnapshotMeta snapMeta;
  uint64_t snapOffset = 0;
  uint64_t snapSize = 0;
  std::string snapChunk;
  // kVote/kPreVote: true when the election was started by a leadership
  // transfer, so voters ignore their leader lease.
  bool transfer = false;
  // kHeartbeat(Resp)/kReadIndex(Resp): the read request's context.
  std::string context;
};

// A local message (kHup, kBeat, ...) of the given type.
inline Message localMessage(MsgType t) {
  Message m;
  m.type = t;
  return m;
}

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
const char* toString(Role r);

struct SoftState {
  NodeId lead = kNone;
  Role role = Role::kFollower;
  bool operator==(const SoftState&) const = default;
};

// A ReadIndex result: once the state machine has applied `index`, a read
// for `context` may be served linearizably.
struct ReadState {
  uint64_t index = 0;
  std::string context;
};

// Everything the driver must do, in this order (the contract of advance()):
//   1. Persist hardState (if set), entries and snapshot, durably.
//   2. Only then send messages (a vote or an append acknowledged before it
//      is on disk can elect two leaders or lose a committed entry).
//   3. Install snapshot in the state machine (if set), then apply
//      committedEntries in order (they are already persisted).
//   4. Call advance(ready).
struct Ready {
  std::optional<SoftState> softState;  // set when it changed; not persisted
  std::optional<HardState> hardState;  // set when it changed
  std::vector<Entry> entries;
  Snapshot snapshot;  // empty() when none
  std::vector<Entry> committedEntries;
  std::vector<Message> messages;
  std::vector<ReadState> readStates;

  bool mustSync() const { return hardState.has_value() || !entries.empty(); }
};

}  // namespace cairn::raft
