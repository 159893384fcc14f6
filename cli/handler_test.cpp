#include "cli/handler.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cairn::cli {
namespace {

TEST(HandlerTest, GetsInputOnStdinAndTheExtraEnvironment) {
  std::string out = (std::filesystem::temp_directory_path() / "cairn-handler-test.txt").string();
  auto code = runHandler({"sh", "-c", "cat > " + out + "; echo \"$CAIRN_INDEX\" >> " + out},
                         "{\"a\":1}\n", {{"CAIRN_INDEX", "42"}});
  ASSERT_TRUE(code.ok()) << code.error().message;
  EXPECT_EQ(*code, 0);
  std::stringstream text;
  text << std::ifstream(out).rdbuf();
  EXPECT_EQ(text.str(), "{\"a\":1}\n42\n");
  std::filesystem::remove(out);
}

TEST(HandlerTest, ExitStatusSignalsAndMissingCommands) {
  EXPECT_EQ(*runHandler({"sh", "-c", "exit 3"}, "", {}), 3);
  EXPECT_EQ(*runHandler({"sh", "-c", "kill -TERM $$"}, "", {}), 128 + 15);
  // A handler that never reads a large input is not an error.
  EXPECT_EQ(*runHandler({"true"}, std::string(1 << 20, 'x'), {}), 0);
  auto missing = runHandler({"/nonexistent/handler"}, "", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/handler"), std::string::npos);
}

}  // namespace
}  // namespace cairn::cli
