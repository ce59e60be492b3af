#include "edge/manifest_publisher.h"

#include <gtest/gtest.h>

#include "edge/sha256.h"
#include "testing/temp_dir.h"

namespace infergate::edge {
namespace {

class ManifestPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_.Write("m/config.yaml", "max_batch_size: 0\n");
    repo_.Write("m/1/model.onnx", "one");
    repo_.Write("m/2/model.onnx", "two");
    repo_.Write("m/2/data/w.bin", "weights");
    repo_.Write("m/2/.partial", "hidden");
    repo_.Write("m/3/model.onnx", "three, not published");
    repo_.Write(".staging/x/1/model.onnx", "staged");
    repo_.Write("secret.txt", "outside any model");
  }
  testing::TempDir repo_;
  ManifestPublisher publisher_{repo_.path(), [](const std::string&, int64_t v) { return v != 3; }};
};

TEST_F(ManifestPublisherTest, ListsPublishedVersionsWithDigests) {
  auto m = publisher_.Build("files/");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->files_url, "files/");
  ASSERT_EQ(m->models.size(), 1u);
  const ManifestModel& model = m->models[0];
  EXPECT_EQ(model.name, "m");
  ASSERT_EQ(model.files.size(), 1u);
  EXPECT_EQ(model.files[0], (ManifestFile{"config.yaml", 18, Sha256Hex("max_batch_size: 0\n")}));
  ASSERT_EQ(model.versions.size(), 2u);
  EXPECT_EQ(model.versions[0].version, 1);
  EXPECT_EQ(model.versions[0].files, (std::vector<ManifestFile>{{"model.onnx", 3, Sha256Hex("one")}}));
  EXPECT_EQ(model.versions[1].files, (std::vector<ManifestFile>{{"data/w.bin", 7, Sha256Hex("weights")},
                                                                {"model.onnx", 3, Sha256Hex("two")}}));
  // What it writes, an edge parses.
  auto parsed = ParseManifest(ManifestJson(*m));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, *m);
}

TEST_F(ManifestPublisherTest, ServesListedFilesOnly) {
  auto ok = publisher_.File("m", "2/data/w.bin");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(*ok, repo_.path() / "m/2/data/w.bin");
  EXPECT_TRUE(publisher_.File("m", "config.yaml").ok());
  for (auto [model, path] : std::vector<std::pair<std::string, std::string>>{
           {"m", "../secret.txt"}, {"m", "1/../../secret.txt"}, {"m", "1/../config.yaml"}, {"..", "secret.txt"},
           {".staging", "x/1/model.onnx"}, {"m", "2/.partial"}, {"m", "3/model.onnx"}, {"m", "/etc/passwd"},
           {"m", "1"}, {"m", "9/model.onnx"}, {"m", "extra/file"}, {"nope", "config.yaml"}}) {
    auto refused = publisher_.File(model, path);
    ASSERT_FALSE(refused.ok()) << model << " " << path;
    EXPECT_EQ(refused.status().code(), core::StatusCode::kNotFound) << model << " " << path;
  }
}

// File names need not be UTF-8; the manifest must still be written (such
// bytes become U+FFFD; an edge then cannot fetch that file and says so).
TEST_F(ManifestPublisherTest, NamesThatAreNotUtf8StillMakeAManifest) {
  repo_.Write("m/1/w\xff.bin", "x");
  auto m = publisher_.Build("files/");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const std::string json = ManifestJson(*m);
  EXPECT_NE(json.find("w\xef\xbf\xbd.bin"), std::string::npos) << json;
  EXPECT_TRUE(ParseManifest(json).ok());
}

}  // namespace
}  // namespace infergate::edge
