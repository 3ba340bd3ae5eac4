// SPDX-License-Identifier: LGPL-2.1-or-later
// Wire format of the multipart stream: the exact bytes every viewer parses,
// so each string is compared whole rather than searched for pieces.
#include <glib.h>

#include <cstdint>
#include <string>

#include "stream/multipart.h"
#include "test_support.h"

using mjpeghttp::looks_like_jpeg;
using mjpeghttp::MultipartFormat;

namespace {

void test_framing_strings() {
  MultipartFormat format("b0und4ry");
  assert_text_eq(format.boundary(), "b0und4ry");
  assert_text_eq(format.content_type(), "multipart/x-mixed-replace;boundary=b0und4ry");
  assert_text_eq(format.opening(), "--b0und4ry\r\n");
  assert_text_eq(format.trailer(), "\r\n--b0und4ry\r\n");
  assert_text_eq(format.closing_trailer(), "\r\n--b0und4ry--\r\n");
  assert_text_eq(format.bare_closing(), "--b0und4ry--\r\n");
}

// A whole stream assembled from the pieces must be what RFC 2046 calls a
// multipart body: opening delimiter, parts separated by delimiters, and a
// close delimiter; each part's body exactly its Content-Length.
void test_pieces_compose_a_stream() {
  MultipartFormat format("xyz");
  std::string stream = format.opening() + MultipartFormat::part_header(3, 1000000) + "AAA" +
                       format.trailer() + MultipartFormat::part_header(2, 2000000) + "BB" +
                       format.closing_trailer();
  assert_text_eq(stream,
                 "--xyz\r\n"
                 "Content-Type: image/jpeg\r\nContent-Length: 3\r\nX-Timestamp: 1.000000\r\n\r\n"
                 "AAA\r\n--xyz\r\n"
                 "Content-Type: image/jpeg\r\nContent-Length: 2\r\nX-Timestamp: 2.000000\r\n\r\n"
                 "BB\r\n--xyz--\r\n");
}

void test_part_header_present_day() {
  // 2023-11-14T22:13:20.123456Z: a double has too few digits to keep the
  // microseconds of such a value through "%.6f" arithmetic.
  assert_text_eq(MultipartFormat::part_header(1234, INT64_C(1700000000123456)),
                 "Content-Type: image/jpeg\r\n"
                 "Content-Length: 1234\r\n"
                 "X-Timestamp: 1700000000.123456\r\n"
                 "\r\n");
}

void test_part_header_pads_microseconds() {
  assert_text_eq(MultipartFormat::part_header(1, INT64_C(1700000000000001)),
                 "Content-Type: image/jpeg\r\nContent-Length: 1\r\n"
                 "X-Timestamp: 1700000000.000001\r\n\r\n");
  assert_text_eq(MultipartFormat::part_header(1, INT64_C(1700000000100000)),
                 "Content-Type: image/jpeg\r\nContent-Length: 1\r\n"
                 "X-Timestamp: 1700000000.100000\r\n\r\n");
}

void test_part_header_zero() {
  assert_text_eq(MultipartFormat::part_header(0, 0),
                 "Content-Type: image/jpeg\r\nContent-Length: 0\r\nX-Timestamp: 0.000000\r\n\r\n");
  assert_text_eq(MultipartFormat::part_header(7, 1),
                 "Content-Type: image/jpeg\r\nContent-Length: 7\r\nX-Timestamp: 0.000001\r\n\r\n");
  assert_text_eq(MultipartFormat::part_header(7, 999999),
                 "Content-Type: image/jpeg\r\nContent-Length: 7\r\nX-Timestamp: 0.999999\r\n\r\n");
}

// The header is decimal text: whoever parses it as a number must get the
// timestamp back, so a time before the epoch reads as its signed value
// (-1 µs is "-0.000001", not the floor-split "-1.999999").
void test_part_header_negative() {
  assert_text_eq(MultipartFormat::part_header(5, -1),
                 "Content-Type: image/jpeg\r\nContent-Length: 5\r\nX-Timestamp: -0.000001\r\n\r\n");
  assert_text_eq(MultipartFormat::part_header(5, -1500000),
                 "Content-Type: image/jpeg\r\nContent-Length: 5\r\nX-Timestamp: -1.500000\r\n\r\n");
  assert_text_eq(MultipartFormat::part_header(5, -2000000),
                 "Content-Type: image/jpeg\r\nContent-Length: 5\r\nX-Timestamp: -2.000000\r\n\r\n");
  // Negating INT64_MIN overflows: the sign has to be handled without it.
  assert_text_eq(MultipartFormat::part_header(1, INT64_MIN),
                 "Content-Type: image/jpeg\r\nContent-Length: 1\r\n"
                 "X-Timestamp: -9223372036854.775808\r\n\r\n");
}

void test_part_header_extremes() {
  assert_text_eq(MultipartFormat::part_header(SIZE_MAX, INT64_MAX),
                 ("Content-Type: image/jpeg\r\nContent-Length: " + std::to_string(SIZE_MAX) +
                  "\r\nX-Timestamp: 9223372036854.775807\r\n\r\n"));
}

void test_looks_like_jpeg() {
  const uint8_t soi[] = {0xFF, 0xD8, 0xFF, 0xE0};
  const uint8_t png[] = {0x89, 'P', 'N', 'G'};
  const uint8_t swapped[] = {0xD8, 0xFF};
  g_assert_true(looks_like_jpeg(soi, sizeof soi));
  g_assert_true(looks_like_jpeg(soi, 2));
  g_assert_false(looks_like_jpeg(soi, 1));
  g_assert_false(looks_like_jpeg(soi, 0));
  g_assert_false(looks_like_jpeg(png, sizeof png));
  g_assert_false(looks_like_jpeg(swapped, sizeof swapped));
}

}  // namespace

int main(int argc, char **argv) {
  g_test_init(&argc, &argv, nullptr);
  // Pure string checks: a wrong string in one case should not hide the
  // verdict on the others.
  g_test_set_nonfatal_assertions();
  g_test_add_func("/multipart/framing-strings", test_framing_strings);
  g_test_add_func("/multipart/pieces-compose-a-stream", test_pieces_compose_a_stream);
  g_test_add_func("/multipart/part-header/present-day", test_part_header_present_day);
  g_test_add_func("/multipart/part-header/pads-microseconds", test_part_header_pads_microseconds);
  g_test_add_func("/multipart/part-header/zero", test_part_header_zero);
  g_test_add_func("/multipart/part-header/negative", test_part_header_negative);
  g_test_add_func("/multipart/part-header/extremes", test_part_header_extremes);
  g_test_add_func("/multipart/looks-like-jpeg", test_looks_like_jpeg);
  return g_test_run();
}
