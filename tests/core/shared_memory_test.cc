#include "core/shared_memory.h"

#include <gtest/gtest.h>

#include "testing/shm_object.h"

namespace infergate::core {
namespace {

using testing::ShmObject;

TEST(SharedMemoryRegistryTest, RegisterViewListUnregister) {
  ShmObject object(8192);
  const float values[] = {1.5f, -2.0f, 3.25f};
  object.Write(4100, values, 3);
  MetricsRegistry metrics;
  SharedMemoryRegistry registry(8, &metrics);
  // A window that starts inside the second page: the mapping is page-aligned, the view is not.
  ASSERT_TRUE(registry.Register("in", object.key(), 4096, 1024).ok());
  EXPECT_EQ(registry.size(), 1u);

  auto view = registry.View("in", 4, 12, "input 'x'");
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(view->size, 12u);
  EXPECT_TRUE(view->writable);
  float read[3];
  std::memcpy(read, view->data, sizeof(read));
  EXPECT_EQ(read[0], 1.5f);
  EXPECT_EQ(read[2], 3.25f);

  // Writes through the view are what the client sees.
  view->data[0] = 0x7f;
  EXPECT_EQ(object.data()[4100], 0x7f);

  auto all = registry.List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].name, "in");
  EXPECT_EQ((*all)[0].key, object.key());
  EXPECT_EQ((*all)[0].offset, 4096u);
  EXPECT_EQ((*all)[0].byte_size, 1024u);
  EXPECT_EQ(metrics.RenderPrometheus().find("infergate_shared_memory_regions 1") != std::string::npos, true);
  EXPECT_EQ(metrics.RenderPrometheus().find("infergate_shared_memory_bytes 1024") != std::string::npos, true);

  ASSERT_TRUE(registry.Unregister("in").ok());
  EXPECT_EQ(registry.size(), 0u);
  EXPECT_EQ(registry.List("in").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(registry.Unregister("in").code(), StatusCode::kNotFound);
  EXPECT_NE(metrics.RenderPrometheus().find("infergate_shared_memory_regions 0"), std::string::npos);
}

TEST(SharedMemoryRegistryTest, KeysMustStartWithThePrefix) {
  ShmObject object(4096);
  SharedMemoryRegistry registry(8, nullptr, "/infergate_");
  EXPECT_TRUE(registry.Register("ok", object.key(), 0, 4096).ok()) << "the test objects follow the default prefix";
  SharedMemoryRegistry other(8, nullptr, "/plant_");
  const Status st = other.Register("r", object.key(), 0, 4096);
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(st.message().find("does not start with '/plant_'"), std::string::npos) << st.message();
}

TEST(SharedMemoryRegistryTest, AnObjectOfAnotherUserIsRefused) {
  ShmObject object(4096);
  if (!object.Chown(65534)) GTEST_SKIP() << "cannot give a shared memory object away (not root)";
  SharedMemoryRegistry registry;
  const Status st = registry.Register("r", object.key(), 0, 4096);
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(st.message().find("belongs to uid 65534"), std::string::npos) << st.message();
  EXPECT_EQ(registry.size(), 0u);
}

TEST(SharedMemoryRegistryTest, AViewOutlivesItsRegion) {
  ShmObject object(4096);
  object.data()[10] = 42;
  SharedMemoryRegistry registry;
  ASSERT_TRUE(registry.Register("r", object.key(), 0, 4096).ok());
  auto view = registry.View("r", 8, 8, "input 'x'");
  ASSERT_TRUE(view.ok());
  registry.UnregisterAll();
  EXPECT_EQ(registry.size(), 0u);
  // Still mapped: a request in flight keeps reading what it was given.
  EXPECT_EQ(view->data[2], 42);
}

TEST(SharedMemoryRegistryTest, RefusesBadRegistrations) {
  ShmObject object(4096);
  SharedMemoryRegistry registry(2);
  EXPECT_EQ(registry.Register("", object.key(), 0, 16).code(), StatusCode::kInvalidArgument);
  for (const char* key : {"", "/", "no-slash", "/a/b"}) {
    Status st = registry.Register("r", key, 0, 16);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << key;
    EXPECT_NE(st.message().find("POSIX shared memory name"), std::string::npos) << st.message();
  }
  Status missing = registry.Register("r", "/infergate-test-no-such-object", 0, 16);
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_NE(missing.message().find("no shared memory object"), std::string::npos);
  EXPECT_EQ(registry.Register("r", object.key(), 0, 0).code(), StatusCode::kInvalidArgument);
  Status past = registry.Register("r", object.key(), 4000, 200);
  EXPECT_EQ(past.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(past.message().find("past the end"), std::string::npos) << past.message();
  EXPECT_EQ(registry.Register("r", object.key(), uint64_t{1} << 62, 1).code(), StatusCode::kInvalidArgument);

  ASSERT_TRUE(registry.Register("a", object.key(), 0, 16).ok());
  EXPECT_EQ(registry.Register("a", object.key(), 0, 16).code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(registry.Register("b", object.key(), 16, 16).ok());
  Status full = registry.Register("c", object.key(), 32, 16);
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(full.message().find("max_regions"), std::string::npos);
  EXPECT_EQ(registry.size(), 2u);
}

TEST(SharedMemoryRegistryTest, RefusesViewsOutsideTheRegionOrOfAShrunkObject) {
  ShmObject object(8192);
  SharedMemoryRegistry registry;
  ASSERT_TRUE(registry.Register("r", object.key(), 0, 8192).ok());
  EXPECT_EQ(registry.View("nope", 0, 4, "input 'x'").status().code(), StatusCode::kNotFound);
  auto past = registry.View("r", 8190, 4, "input 'x'");
  EXPECT_EQ(past.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(past.status().message().find("input 'x'"), std::string::npos);
  EXPECT_EQ(registry.View("r", ~uint64_t{0}, 2, "input 'x'").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(registry.View("r", 8188, 4, "input 'x'").ok());

  // The client truncates the object: reading the region would fault, so it is refused.
  object.Resize(4096);
  auto shrunk = registry.View("r", 4096, 16, "input 'x'");
  EXPECT_EQ(shrunk.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(shrunk.status().message().find("truncated"), std::string::npos);
  EXPECT_TRUE(registry.View("r", 0, 16, "input 'x'").ok());  // what remains is still fine
}

// The object shrinks after the size check at View and before the copy: the
// copy itself must fail, not raise SIGBUS.
TEST(SharedMemoryCopyTest, CopiesOfAShrunkMappingFailInsteadOfFaulting) {
  ShmObject object(3 * 4096);
  object.data()[100] = 42;
  SharedMemoryRegistry registry;
  ASSERT_TRUE(registry.Register("r", object.key(), 0, 3 * 4096).ok());
  auto view = registry.View("r", 0, 3 * 4096, "input 'x'");
  ASSERT_TRUE(view.ok());
  object.Resize(4096);

  std::vector<uint8_t> buffer(3 * 4096, 7);
  Status st = CopyFromMapping(view->data, view->size, buffer.data(), "input 'x'");
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("input 'x': the shared memory object was truncated"), std::string::npos)
      << st.message();
  ASSERT_TRUE(CopyFromMapping(view->data, 4096, buffer.data(), "input 'x'").ok());  // what remains
  EXPECT_EQ(buffer[100], 42);

  EXPECT_EQ(CopyToMapping(view->data + 4096, buffer.data(), 16, "output 'y'").code(),
            StatusCode::kFailedPrecondition);
  OutputDestination destination{"r", view->owner, view->data, view->size};
  st = WriteOutput(destination, "y", buffer.data(), buffer.size());
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("output 'y' in shared memory region 'r'"), std::string::npos) << st.message();
  EXPECT_TRUE(WriteOutput(destination, "y", buffer.data(), 4096).ok());
  EXPECT_EQ(WriteOutput(destination, "y", buffer.data(), 4 * 4096).code(), StatusCode::kInvalidArgument);
}

// An input decoded from a region whose object shrank after the View check is
// a request error naming the input and the region.
TEST(SharedMemoryCopyTest, InputOfAShrunkObjectIsRefused) {
  ShmObject object(2 * 4096);
  SharedMemoryRegistry registry;
  ASSERT_TRUE(registry.Register("r", object.key(), 0, 2 * 4096).ok());
  SharedMemoryRef ref{"r", 0, 2 * 4096};
  auto ok = SharedMemoryInput(&registry, ref, DataType::kUint8, {2 * 4096}, "input 'x'");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  object.Resize(4096);
  auto shrunk = SharedMemoryInput(&registry, ref, DataType::kUint8, {2 * 4096}, "input 'x'");
  EXPECT_EQ(shrunk.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(shrunk.status().message().find("input 'x'"), std::string::npos);
}

}  // namespace
}  // namespace infergate::core
