// SPDX-License-Identifier: LGPL-2.1-or-later
// A throwaway TLS identity made at test time with openssl: a self-signed
// certificate for 127.0.0.1, ::1 and localhost with its key, a second key
// that does not match it, and a file that is not PEM at all. Everything
// lives in a private temporary directory removed by the destructor.
#pragma once

#include <string>
#include <vector>

namespace test_support {

class TlsFiles {
 public:
  TlsFiles();
  ~TlsFiles();
  TlsFiles(const TlsFiles &) = delete;
  TlsFiles &operator=(const TlsFiles &) = delete;

  // Why the files could not be made; "" when they were.
  const std::string &error() const { return error_; }
  const std::string &certificate() const { return certificate_; }
  const std::string &key() const { return key_; }
  const std::string &other_key() const { return other_key_; }
  const std::string &not_pem() const { return not_pem_; }
  // A path in the directory where no file is.
  const std::string &missing() const { return missing_; }
  // A path in the directory for a test's own output; removed with it.
  std::string scratch(const std::string &name);

 private:
  std::string directory_;
  std::string certificate_, key_, other_key_, not_pem_, missing_;
  std::string error_;
  std::vector<std::string> scratch_;
};

}  // namespace test_support
