#include "cli/output.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace cairn::cli {
namespace {

std::string render(const Table& t) {
  std::ostringstream out;
  t.print(out);
  return out.str();
}

TEST(TableTest, AlignsColumnsWithTwoSpacesAndNoTrailingBlanks) {
  Table t({"Node", "Address", "Tags"});
  t.addRow({"a-long-node-name", "10.0.0.1", "x,y"});
  t.addRow({"n", "", ""});
  EXPECT_EQ(render(t),
            "Node              Address   Tags\n"
            "a-long-node-name  10.0.0.1  x,y\n"
            "n\n");
}

TEST(TableTest, CountsUtf8CharactersAndMasksControlCharacters) {
  Table t({"Name", "X"});
  t.addRow({"caf\xC3\xA9", "1"});
  t.addRow({"a\nb\tc", "2"});
  EXPECT_EQ(render(t),
            "Name   X\n"
            "caf\xC3\xA9   1\n"
            "a?b?c  2\n");
}

TEST(TableTest, HeaderOnly) {
  Table t({"A", "B"});
  EXPECT_EQ(render(t), "A  B\n");
}

TEST(JoinTagsTest, Joins) {
  EXPECT_EQ(joinTags({}), "");
  EXPECT_EQ(joinTags({"a", "b"}), "a,b");
}

TEST(PrettyJsonTest, IndentsAndKeepsScalarsVerbatim) {
  auto p = prettyJson(R"({"a":[1,2.50,{}],"b":{"c":"x, {y}: \"z\"","d":[]},"e":1e3})");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(*p,
            "{\n"
            "  \"a\": [\n"
            "    1,\n"
            "    2.50,\n"
            "    {}\n"
            "  ],\n"
            "  \"b\": {\n"
            "    \"c\": \"x, {y}: \\\"z\\\"\",\n"
            "    \"d\": []\n"
            "  },\n"
            "  \"e\": 1e3\n"
            "}\n");
}

TEST(PrettyJsonTest, ReindentsAlreadyIndentedInput) {
  auto p = prettyJson("[ \n {\n\t\"a\" : [ ] } ]\n");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(*p, "[\n  {\n    \"a\": []\n  }\n]\n");
  EXPECT_EQ(*prettyJson("\"s\\\\\""), "\"s\\\\\"\n");
  EXPECT_EQ(*prettyJson("null"), "null\n");
}

TEST(PrettyJsonTest, RefusesInvalidJson) {
  EXPECT_FALSE(prettyJson("{\"a\":").ok());
  EXPECT_FALSE(prettyJson("").ok());
  EXPECT_FALSE(prettyJson("[1]]").ok());
}

}  // namespace
}  // namespace cairn::cli
