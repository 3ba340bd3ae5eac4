// SPDX-License-Identifier: LGPL-2.1-or-later
// Motion-JPEG frames often leave out their Huffman tables (DHT), relying on
// the standard ones; browsers, Safari above all, and many decoders refuse
// such frames. These helpers find where the tables are missing and splice
// the standard ones in as one more iovec, without copying the frame.
// Pure functions; safe from any thread.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <vector>

namespace mjpeghttp {

// The standard tables as a complete DHT segment, in static storage.
iovec standard_dht_segment();

// True when the JPEG in `chunks` has no DHT segment before its first SOS;
// `insert_at` is then the SOS offset, where the tables belong. False for a
// frame that has tables or cannot be walked (left as it is).
bool find_missing_dht(const std::vector<iovec> &chunks, size_t *insert_at);

// `chunks` with `extra` inserted at byte `offset`, splitting a chunk if needed.
std::vector<iovec> insert_chunk(const std::vector<iovec> &chunks, size_t offset, iovec extra);

}  // namespace mjpeghttp
