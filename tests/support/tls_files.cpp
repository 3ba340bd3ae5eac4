// SPDX-License-Identifier: LGPL-2.1-or-later
#include "tls_files.h"

#include <glib.h>
#include <glib/gstdio.h>

#include "process.h"

namespace test_support {

namespace {

// P-256 keys: generated in milliseconds, unlike RSA.
std::string make_key(const std::string &path) {
  ProcessResult made = run_process({"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                                    "ec_paramgen_curve:P-256", "-out", path});
  if (!made.ran) return "cannot run openssl (install the openssl package): " + made.err;
  if (made.exit_status != 0) return "openssl genpkey failed: " + made.err;
  return "";
}

}  // namespace

TlsFiles::TlsFiles() {
  GError *err = nullptr;
  gchar *directory = g_dir_make_tmp("mjpeghttp-tls-XXXXXX", &err);
  if (!directory) {
    error_ = err->message;
    g_clear_error(&err);
    return;
  }
  directory_ = directory;
  g_free(directory);
  certificate_ = directory_ + "/cert.pem";
  key_ = directory_ + "/key.pem";
  other_key_ = directory_ + "/other-key.pem";
  not_pem_ = directory_ + "/not-pem.pem";
  missing_ = directory_ + "/missing.pem";

  error_ = make_key(key_);
  if (error_.empty()) error_ = make_key(other_key_);
  if (!error_.empty()) return;
  ProcessResult made = run_process({"openssl", "req", "-x509", "-new", "-key", key_, "-out",
                                    certificate_, "-days", "2", "-subj", "/CN=localhost", "-addext",
                                    "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost"});
  if (!made.ran || made.exit_status != 0) {
    error_ = "openssl req failed: " + made.err;
    return;
  }
  if (!g_file_set_contents(not_pem_.c_str(), "this is not a certificate\n", -1, &err)) {
    error_ = err->message;
    g_clear_error(&err);
  }
}

std::string TlsFiles::scratch(const std::string &name) {
  scratch_.push_back(directory_ + "/" + name);
  return scratch_.back();
}

TlsFiles::~TlsFiles() {
  if (directory_.empty()) return;
  for (const std::string &path : scratch_) g_unlink(path.c_str());
  for (const std::string *path : {&certificate_, &key_, &other_key_, &not_pem_})
    g_unlink(path->c_str());
  g_rmdir(directory_.c_str());
}

}  // namespace test_support
