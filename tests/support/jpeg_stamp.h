// SPDX-License-Identifier: LGPL-2.1-or-later
// The one way the tests tell frames apart: a JPEG comment segment carrying a
// number, put right after SOI. The JPEG stays valid (decoders skip comments)
// and differs for every number, even when the encoder produced identical
// pictures, so a test can follow each frame through the server.
#pragma once

#include <cstdint>
#include <string>

namespace test_support {

// `jpeg` with a COM segment "element-test frame <stamp>" right after SOI.
std::string stamp_jpeg(const std::string &jpeg, uint64_t stamp);

// The number stamp_jpeg() put into `jpeg`; false when it carries none.
bool read_stamp(const std::string &jpeg, uint64_t *stamp);

}  // namespace test_support
