// A remote model whose server is not infergate: tests/e2e/fake_v2_server.py,
// a plain KServe v2 REST server (JSON only, no extensions).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "testing/http_client.h"
#include "testing/process.h"
#include "testing/serve_instance.h"
#include "testing/temp_dir.h"

namespace infergate {
namespace {

using testing::ServeInstance;

TEST(RemoteModelAnyServerTest, ServesAModelOfAPlainV2Server) {
  testing::Process fake({"/usr/bin/python3", INFERGATE_FAKE_V2_SERVER});
  auto port = fake.WaitForLine("listening on ([0-9]+)");
  ASSERT_TRUE(port) << fake.Output();
  testing::TempDir edge_repo;
  edge_repo.Write("twice/config.yaml", "max_batch_size: 4\nremote: {url: 'http://127.0.0.1:" + (*port)[1] +
                                           "', model: double, version: '1'}\n");
  ServeInstance edge = ServeInstance::Start(edge_repo.path());
  ASSERT_TRUE(edge.ready) << edge.process->Output();
  testing::CurlClient http(edge.http());
  auto meta = nlohmann::json::parse(http.Get("/v2/models/twice").body);
  EXPECT_EQ(meta["inputs"][0]["shape"], nlohmann::json::parse("[-1, 4]"));
  EXPECT_EQ(meta["versions"][0], "1");
  auto r = http.Post("/v2/models/twice/infer",
                     R"({"inputs":[{"name":"x","datatype":"FP32","shape":[2,4],"data":[1,2,3,4,5,6,7,8.5]}]})");
  ASSERT_EQ(r.status, 200) << r.body << edge.process->Output();
  EXPECT_EQ(nlohmann::json::parse(r.body)["outputs"][0]["data"], nlohmann::json::parse("[2,4,6,8,10,12,14,17]"));
  // Plain JSON: the server did not list the binary tensor extension.
  EXPECT_TRUE(fake.WaitForLine("infer content-type=application/json header-length=None")) << fake.Output();
}

}  // namespace
}  // namespace infergate
