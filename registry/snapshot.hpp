// A catalog snapshot as bytes: every row of the store, as the Raft
// snapshot that a lagging server installs. Built from an immutable View, so
// it is consistent at that view's index while writes go on.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "registry/store.hpp"
#include "registry/view.hpp"

namespace cairn::registry {

std::string serializeView(const View& v);
Result<std::vector<RowWrite>> parseSnapshot(std::string_view data);

// The same bytes as serializeView, handed to `write` in pieces of about
// `pieceBytes`, so a large catalog never sits in memory as one string.
Status serializeViewTo(const View& v, const std::function<Status(std::string_view)>& write,
                       size_t pieceBytes = 1 << 20);

// Reads the rows of serializeView's bytes piece by piece (a snapshot being
// installed from a file): memory stays bounded by the batch asked for.
class SnapshotRowReader {
 public:
  using ReadFn = std::function<Result<std::string>(uint64_t offset, uint64_t n)>;
  SnapshotRowReader(ReadFn read, uint64_t size) : read_(std::move(read)), size_(size) {}
  // Rows holding about maxBytes; empty once every row has been read.
  Result<std::vector<RowWrite>> next(size_t maxBytes);

 private:
  Status fill(size_t need);
  ReadFn read_;
  uint64_t size_;
  uint64_t offset_ = 0;  // of the next byte to fetch
  std::string buf_;      // fetched, not yet parsed
  size_t pos_ = 0;       // parse position in buf_
  bool headerDone_ = false;
};

// Calls fn for every store row that holds the view (the rows serializeView
// writes, in the same order).
using RowFn = std::function<void(Table, std::string_view key, std::string_view value)>;
void forEachRow(const View& v, const RowFn& fn);
// The same keys without encoding the values (to erase a whole catalog).
void forEachRowKey(const View& v, const std::function<void(Table, std::string_view key)>& fn);

}  // namespace cairn::registry
