#include "registry/watch.hpp"

#include <gtest/gtest.h>

#include "registry/catalog.hpp"
#include "registry/memory_store_test_util.hpp"

namespace cairn::registry {
namespace {

RegisterCommand reg(std::string svc, std::string id) {
  RegisterCommand r;
  r.node.name = "n1";
  r.node.address = "10.0.0.1";
  Service s;
  s.name = std::move(svc);
  s.id = std::move(id);
  r.service = s;
  return r;
}

TEST(WatchHub, OneWriteWakesOnlyItsOwnWatchers) {
  testing::MemoryStore store;
  auto cat = std::move(Catalog::open(store).value());
  uint64_t idx = 0;
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(cat->apply(++idx, reg("s" + std::to_string(i), "i")).ok());
  ASSERT_TRUE(cat->flush().ok());

  std::vector<int> fired(100, 0);
  for (int i = 0; i < 100; ++i) {
    std::string name = "s" + std::to_string(i);
    uint64_t seen = cat->view()->serviceIndex(name);
    for (int w = 0; w < 3; ++w) {
      uint64_t id = cat->watches().watch(
          {serviceWatchKey(name)}, [&](const View& v) { return v.serviceIndex(name) != seen; },
          [&fired, i] { ++fired[i]; });
      ASSERT_NE(id, 0u);
    }
  }
  EXPECT_EQ(cat->watches().waiting(), 300u);
  uint64_t wokenBefore = cat->watches().wokenTotal();
  ASSERT_TRUE(cat->apply(++idx, reg("s7", "other")).ok());
  ASSERT_TRUE(cat->flush().ok());
  EXPECT_EQ(cat->watches().wokenTotal() - wokenBefore, 3u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(fired[i], i == 7 ? 3 : 0) << i;
  EXPECT_EQ(cat->watches().waiting(), 297u);
}

TEST(WatchHub, ReadyAtRegistrationDoesNotRegister) {
  WatchHub hub(std::make_shared<const View>());
  bool fired = false;
  EXPECT_EQ(hub.watch(
                {"k"}, [](const View&) { return true; }, [&] { fired = true; }),
            0u);
  EXPECT_FALSE(fired);
  EXPECT_EQ(hub.waiting(), 0u);
}

TEST(WatchHub, CancelRemovesWatcher) {
  WatchHub hub(std::make_shared<const View>());
  bool fired = false;
  uint64_t id = hub.watch(
      {"a", "b"}, [](const View&) { return false; }, [&] { fired = true; });
  hub.cancel(id);
  hub.publish(std::make_shared<const View>(), {"a", "b"});
  EXPECT_FALSE(fired);
  EXPECT_EQ(hub.waiting(), 0u);
}

TEST(WatchHub, WatcherOnTwoKeysFiresOnce) {
  WatchHub hub(std::make_shared<const View>());
  int fired = 0;
  hub.watch(
      {"a", "b"}, [](const View&) { return false; }, [&] { ++fired; });
  hub.publish(std::make_shared<const View>(), {"a", "b"});
  EXPECT_EQ(fired, 1);
  EXPECT_EQ(hub.waiting(), 0u);
}

}  // namespace
}  // namespace cairn::registry
