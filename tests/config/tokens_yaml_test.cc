#include "config/tokens_yaml.h"

#include <gtest/gtest.h>

namespace infergate::config {
namespace {

const std::string kHashA = auth::HexDigest(auth::Sha256("a"));
const std::string kHashB = auth::HexDigest(auth::Sha256("b"));

TEST(TokensYamlTest, ParsesEntries) {
  auto entries = ParseTokens("- name: plant-3-devices\n  sha256: " + kHashA +
                                 "\n  scopes: [infer]\n  models: [\"vibration_*\"]\n"
                                 "- name: ops\n  sha256: " +
                                 kHashB + "\n  scopes: [read, admin]\n",
                             "tokens.yaml");
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].name, "plant-3-devices");
  EXPECT_EQ((*entries)[0].sha256, auth::Sha256("a"));
  EXPECT_TRUE((*entries)[0].Has(auth::Scope::kInfer));
  EXPECT_FALSE((*entries)[0].Has(auth::Scope::kRead));
  EXPECT_EQ((*entries)[0].models, std::vector<std::string>{"vibration_*"});
  EXPECT_EQ((*entries)[0].line, 1);
  EXPECT_TRUE((*entries)[1].Has(auth::Scope::kAdmin));
  EXPECT_TRUE((*entries)[1].models.empty());
  EXPECT_EQ((*entries)[1].line, 5);
}

TEST(TokensYamlTest, AnEmptyFileHasNoTokens) {
  auto entries = ParseTokens("", "tokens.yaml");
  ASSERT_TRUE(entries.ok());
  EXPECT_TRUE(entries->empty());
}

// Each error names the file, the line, and the entry or key.
TEST(TokensYamlTest, ErrorsNameTheEntryAndLine) {
  const std::string ok = "- name: a\n  sha256: " + kHashA + "\n  scopes: [infer]\n";
  struct Case {
    std::string yaml;
    std::string expected;
  } cases[] = {
      {"- name: a\n  sha256: abc\n  scopes: [infer]\n",
       "tokens.yaml: line 2: key 'sha256': token 'a': sha256 must be 64"},
      {"- name: a\n  sha256: " + std::string(63, 'a') + "g\n  scopes: [infer]\n",
       "line 2: key 'sha256'"},
      {"- name: a\n  sha256: " + kHashA + "\n  scopes: [infer, root]\n",
       "line 3: key 'scopes': token 'a': unknown scope 'root'"},
      {"- name: a\n  sha256: " + kHashA + "\n  scopes: []\n",
       "line 3: key 'scopes': token 'a': needs at least one scope"},
      {"- name: a\n  sha256: " + kHashA + "\n  scopes: infer\n",
       "line 3: key 'scopes': expected a list"},
      {"- name: a\n  sha256: " + kHashA + "\n  scopes: [infer]\n  models: [\"a/b\"]\n",
       "line 4: key 'models': token 'a'"},
      {"- name: a\n  sha256: " + kHashA + "\n  scopes: [infer]\n  models: []\n",
       "line 4: key 'models'"},
      {"- name: a\n  scopes: [infer]\n", "line 1: key 'sha256': missing"},
      {"- name: a\n  sha256: " + kHashA + "\n  scopes: [infer]\n  scope: [admin]\n", "unknown"},
      {"- name: a\n  name: b\n  sha256: " + kHashA + "\n  scopes: [infer]\n",
       "line 2: key 'name': appears twice"},
      {ok + "- name: a\n  sha256: " + kHashB + "\n  scopes: [read]\n",
       "tokens.yaml: line 4: token 'a': the name is used twice"},
      {ok + "- name: b\n  sha256: " + kHashA + "\n  scopes: [read]\n",
       "tokens.yaml: line 4: token 'b': the same sha256"},
      {"- name: a b\n  sha256: " + kHashA + "\n  scopes: [infer]\n", "line 1: key 'name'"},
      {"name: a\n", "expected a list of tokens"},
      {"- name: [\n", "tokens.yaml: line"},
  };
  for (const auto& c : cases) {
    auto entries = ParseTokens(c.yaml, "tokens.yaml");
    ASSERT_FALSE(entries.ok()) << c.yaml;
    EXPECT_NE(entries.status().message().find(c.expected), std::string::npos)
        << "got: " << entries.status().message() << "\nwanted: " << c.expected;
  }
}

}  // namespace
}  // namespace infergate::config
