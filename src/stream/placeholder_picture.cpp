// SPDX-License-Identifier: LGPL-2.1-or-later
#include "stream/placeholder_picture.h"

#include <glib.h>

#include <algorithm>
#include <array>
#include <map>

namespace mjpeghttp {

namespace {

constexpr unsigned kGlyphWidth = 5;
constexpr unsigned kGlyphHeight = 7;
constexpr unsigned kAdvance = kGlyphWidth + 1;  // one column between glyphs
constexpr uint8_t kBackground = 40;
constexpr unsigned kMaxPlaceholderSide = 4096;
constexpr uint8_t kInk = 235;

// 5x7 glyphs, one string per row, '#' = ink: only the characters the picture
// uses. An unknown character is drawn blank.
using Glyph = std::array<const char *, kGlyphHeight>;
const std::map<char, Glyph> &glyphs() {
  static const std::map<char, Glyph> table = {
      {'A', Glyph{" ### ", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"}},
      {'C', Glyph{" ### ", "#   #", "#    ", "#    ", "#    ", "#   #", " ### "}},
      {'E', Glyph{"#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#####"}},
      {'G', Glyph{" ### ", "#   #", "#    ", "# ###", "#   #", "#   #", " ####"}},
      {'I', Glyph{" ### ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "}},
      {'L', Glyph{"#    ", "#    ", "#    ", "#    ", "#    ", "#    ", "#####"}},
      {'N', Glyph{"#   #", "##  #", "# # #", "#  ##", "#   #", "#   #", "#   #"}},
      {'O', Glyph{" ### ", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "}},
      {'S', Glyph{" ####", "#    ", "#    ", " ### ", "    #", "    #", "#### "}},
      {'T', Glyph{"#####", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  "}},
      {'U', Glyph{"#   #", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "}},
      {'0', Glyph{" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "}},
      {'1', Glyph{"  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "}},
      {'2', Glyph{" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"}},
      {'3', Glyph{"#####", "   # ", "  #  ", "   # ", "    #", "#   #", " ### "}},
      {'4', Glyph{"   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "}},
      {'5', Glyph{"#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "}},
      {'6', Glyph{"  ## ", " #   ", "#    ", "#### ", "#   #", "#   #", " ### "}},
      {'7', Glyph{"#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   "}},
      {'8', Glyph{" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "}},
      {'9', Glyph{" ### ", "#   #", "#   #", " ####", "    #", "   # ", " ##  "}},
      {':', Glyph{"     ", "  #  ", "  #  ", "     ", "  #  ", "  #  ", "     "}},
      {'-', Glyph{"     ", "     ", "     ", "#####", "     ", "     ", "     "}},
  };
  return table;
}

// Draws `text` centred on row `top`, each font pixel a `scale` square.
void draw_text(GreyPicture &picture, const std::string &text, unsigned top, unsigned scale) {
  const unsigned text_width = static_cast<unsigned>(text.size()) * kAdvance * scale;
  const unsigned left = text_width < picture.width ? (picture.width - text_width) / 2 : 0;
  for (size_t i = 0; i < text.size(); i++) {
    auto glyph = glyphs().find(text[i]);
    if (glyph == glyphs().end()) continue;
    for (unsigned row = 0; row < kGlyphHeight; row++) {
      for (unsigned column = 0; column < kGlyphWidth; column++) {
        if (glyph->second[row][column] != '#') continue;
        const unsigned x0 = left + (static_cast<unsigned>(i) * kAdvance + column) * scale;
        const unsigned y0 = top + row * scale;
        for (unsigned y = y0; y < std::min(y0 + scale, picture.height); y++)
          for (unsigned x = x0; x < std::min(x0 + scale, picture.width); x++)
            picture.pixels[size_t{y} * picture.width + x] = kInk;
      }
    }
  }
}

// The largest scale at which `text` fits `share` of the width (at least 1).
unsigned scale_for(const std::string &text, unsigned width, double share) {
  const double fit = width * share / (static_cast<double>(text.size()) * kAdvance);
  return std::max(1u, static_cast<unsigned>(fit));
}

}  // namespace

std::string no_signal_time_line(int64_t lost_at_us) {
  GDateTime *when = g_date_time_new_from_unix_utc(lost_at_us / G_USEC_PER_SEC);
  if (!when) return "";
  gchar *text = g_date_time_format(when, "SINCE %Y-%m-%d %H:%M:%S UTC");
  g_date_time_unref(when);
  std::string line = text ? text : "";
  g_free(text);
  return line;
}

GreyPicture draw_no_signal(unsigned width, unsigned height, int64_t lost_at_us) {
  GreyPicture picture;
  // The size comes from the last frame's header, which a hostile or broken
  // source may fill with anything up to 65535x65535 (4 GiB of pixels here);
  // a placeholder needs no more than a large camera's picture.
  picture.width = std::clamp(width, 16u, kMaxPlaceholderSide);
  picture.height = std::clamp(height, 16u, kMaxPlaceholderSide);
  picture.pixels.assign(size_t{picture.width} * picture.height, kBackground);
  const std::string title = "NO SIGNAL";
  const std::string when = lost_at_us > 0 ? no_signal_time_line(lost_at_us) : "";
  unsigned title_scale = scale_for(title, picture.width, 0.6);
  title_scale = std::min(title_scale, std::max(1u, picture.height / (kGlyphHeight * 3)));
  const unsigned when_scale = std::min(scale_for(when.empty() ? title : when, picture.width, 0.8),
                                       std::max(1u, title_scale / 2));
  const unsigned title_height = kGlyphHeight * title_scale;
  const unsigned gap = when.empty() ? 0 : title_height / 2;
  const unsigned block = title_height + (when.empty() ? 0 : gap + kGlyphHeight * when_scale);
  const unsigned top = block < picture.height ? (picture.height - block) / 2 : 0;
  draw_text(picture, title, top, title_scale);
  if (!when.empty()) draw_text(picture, when, top + title_height + gap, when_scale);
  return picture;
}

}  // namespace mjpeghttp
