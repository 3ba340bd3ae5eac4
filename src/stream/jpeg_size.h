// SPDX-License-Identifier: LGPL-2.1-or-later
// The picture size a JPEG declares in its frame header (SOF), for /state and
// for a placeholder of the same size. Pure; safe from any thread.
#pragma once

#include <sys/uio.h>

#include <vector>

namespace mjpeghttp {

// False when no SOF segment is found before the scan starts.
bool read_jpeg_size(const std::vector<iovec> &chunks, unsigned *width, unsigned *height);

}  // namespace mjpeghttp
