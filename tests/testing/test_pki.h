// Test certificates made with the `openssl` command line into a folder: a
// CA, server certificates (SAN IP:127.0.0.1 and DNS:localhost) and client
// certificates signed by it. EC P-256 keys, so making them is quick.
//
// Files: <dir>/<name>.crt and <dir>/<name>.key.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace infergate::testing {

class TestPki {
 public:
  explicit TestPki(std::filesystem::path dir) : dir_(std::move(dir)) {}

  std::string Crt(const std::string& name) const { return (dir_ / (name + ".crt")).string(); }
  std::string Key(const std::string& name) const { return (dir_ / (name + ".key")).string(); }

  // A self-signed CA certificate.
  bool MakeCa(const std::string& name) const {
    return Run(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "
        "/CN=" +
        name + " -keyout " + Key(name) + " -out " + Crt(name));
  }
  // A server certificate for 127.0.0.1 and localhost, subject CN=`name`,
  // signed by `ca` with serial `serial`.
  bool MakeServer(const std::string& name, const std::string& ca, int serial) const {
    return MakeLeaf(name, ca, serial,
                    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  }
  bool MakeClient(const std::string& name, const std::string& ca, int serial) const {
    return MakeLeaf(name, ca, serial, "extendedKeyUsage=clientAuth\n");
  }
  // A private key that belongs to no certificate.
  bool MakeKey(const std::string& name) const {
    return Run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out " +
               Key(name));
  }

  static std::string Read(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

 private:
  bool MakeLeaf(const std::string& name, const std::string& ca, int serial,
                const std::string& extensions) const {
    const std::string ext = (dir_ / (name + ".ext")).string();
    const std::string csr = (dir_ / (name + ".csr")).string();
    std::ofstream(ext) << extensions;
    return Run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "
               "/CN=" +
               name + " -keyout " + Key(name) + " -out " + csr) &&
           Run("openssl x509 -req -in " + csr + " -CA " + Crt(ca) + " -CAkey " + Key(ca) +
               " -set_serial " + std::to_string(serial) + " -days 2 -extfile " + ext + " -out " +
               Crt(name));
  }
  static bool Run(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
  }

  std::filesystem::path dir_;
};

}  // namespace infergate::testing
