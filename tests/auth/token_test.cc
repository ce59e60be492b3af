#include "auth/token.h"

#include <gtest/gtest.h>

#include <set>

namespace infergate::auth {
namespace {

TokenEntry Entry(std::string name, std::string token, uint8_t scopes,
                 std::vector<std::string> models = {}) {
  TokenEntry e;
  e.name = std::move(name);
  e.sha256 = Sha256(token);
  e.scopes = scopes;
  e.models = std::move(models);
  return e;
}

TEST(TokenTest, Sha256MatchesTheStandardVector) {
  EXPECT_EQ(HexDigest(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(TokenTest, HexDigestRoundTripsAndRefusesWhatIsNotOne) {
  const Digest d = Sha256("x");
  auto parsed = ParseHexDigest(HexDigest(d));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, d);
  std::string upper = HexDigest(d);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(ParseHexDigest(upper).ok());
  EXPECT_FALSE(ParseHexDigest("").ok());
  EXPECT_FALSE(ParseHexDigest(HexDigest(d).substr(1)).ok());
  EXPECT_FALSE(ParseHexDigest(HexDigest(d) + "0").ok());
  std::string bad = HexDigest(d);
  bad[10] = 'g';
  EXPECT_FALSE(ParseHexDigest(bad).ok());
}

TEST(TokenTest, GlobMatch) {
  struct Case {
    const char* glob;
    const char* name;
    bool match;
  } cases[] = {
      {"*", "anything", true},
      {"vibration_*", "vibration_a", true},
      {"vibration_*", "vibration_", true},
      {"vibration_*", "pump_a", false},
      {"vib*", "vi", false},
      {"pump_?", "pump_1", true},
      {"pump_?", "pump_12", false},
      {"*_v2", "model_v2", true},
      {"*_v2", "model_v3", false},
      {"a*b*c", "axxbyyc", true},
      {"a*b*c", "axxbyy", false},
      {"exact", "exact", true},
      {"exact", "exactly", false},
      {"**", "", true},
      {"a*", "A", false},
  };
  for (const auto& c : cases)
    EXPECT_EQ(GlobMatch(c.glob, c.name), c.match) << c.glob << " vs " << c.name;
}

TEST(TokenTest, ModelGlobsAreWellFormed) {
  EXPECT_TRUE(ValidateModelGlob("vib*").ok());
  EXPECT_TRUE(ValidateModelGlob("pump_?").ok());
  for (std::string bad : {std::string(), std::string("a/b"), std::string("[ab]"),
                          std::string("a\\*"), std::string("a\nb"), std::string(256, 'a')}) {
    EXPECT_FALSE(ValidateModelGlob(bad).ok()) << bad;
  }
}

TEST(TokenTest, AnEntryWithoutGlobsAllowsEveryModel) {
  EXPECT_TRUE(Entry("a", "t", 1).AllowsModel("whatever"));
  const TokenEntry restricted = Entry("a", "t", 1, {"vib*", "pump_?"});
  EXPECT_TRUE(restricted.AllowsModel("vibration"));
  EXPECT_TRUE(restricted.AllowsModel("pump_1"));
  EXPECT_FALSE(restricted.AllowsModel("other"));
}

TEST(TokenTest, TokenSetRefusesDuplicateNamesAndHashesAndEmptyScopes) {
  EXPECT_TRUE(TokenSet::Create({Entry("a", "t1", 1), Entry("b", "t2", 2)}, "f").ok());
  auto dup_name = TokenSet::Create({Entry("a", "t1", 1), Entry("a", "t2", 2)}, "f");
  ASSERT_FALSE(dup_name.ok());
  EXPECT_NE(dup_name.status().message().find("token 'a': the name is used twice"),
            std::string::npos)
      << dup_name.status().message();
  auto dup_hash = TokenSet::Create({Entry("a", "t1", 1), Entry("b", "t1", 2)}, "f");
  ASSERT_FALSE(dup_hash.ok());
  EXPECT_NE(dup_hash.status().message().find("token 'b'"), std::string::npos);
  EXPECT_FALSE(TokenSet::Create({Entry("a", "t1", 0)}, "f").ok());
  EXPECT_FALSE(TokenSet::Create({Entry("a b", "t1", 1)}, "f").ok());
  EXPECT_FALSE(TokenSet::Create({Entry("a", "t1", 1, {"x/y"})}, "f").ok());
}

// Find compares against every entry (CRYPTO_memcmp, no early exit): a match
// anywhere in the set is found, and a digest that differs in one byte only
// (first or last) matches nothing.
TEST(TokenTest, FindMatchesAnyPositionAndNoNearMiss) {
  std::vector<TokenEntry> entries;
  for (int i = 0; i < 50; ++i)
    entries.push_back(Entry("t" + std::to_string(i), "token-" + std::to_string(i), 1));
  auto set = TokenSet::Create(entries, "f");
  ASSERT_TRUE(set.ok());
  for (int i : {0, 25, 49}) {
    const TokenEntry* e = (*set)->Find(Sha256("token-" + std::to_string(i)));
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->name, "t" + std::to_string(i));
  }
  for (size_t byte : {size_t{0}, size_t{31}}) {
    Digest near = Sha256("token-49");
    near[byte] ^= 1;
    EXPECT_EQ((*set)->Find(near), nullptr);
  }
  EXPECT_EQ((*set)->Find(Sha256("")), nullptr);
}

TEST(TokenTest, NewTokensAreLongUrlSafeAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto t = NewToken();
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(t->size(), 43u);  // 32 bytes, base64url without padding
    for (char c : *t)
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << *t;
    seen.insert(*t);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(TokenTest, EntryYamlNamesEverything) {
  const std::string y = TokenEntryYaml(Entry("plant-3", "t", 1 | 4, {"vib*"}));
  EXPECT_EQ(y, "- name: plant-3\n  sha256: " + HexDigest(Sha256("t")) +
                   "\n  scopes: [infer, admin]\n  models: [\"vib*\"]\n");
}

}  // namespace
}  // namespace infergate::auth
