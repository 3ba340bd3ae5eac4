#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Serves a V4L2 camera as a live MJPEG stream. When the camera sends JPEG
# itself (most USB cameras do), its frames are passed through untouched;
# otherwise raw frames are encoded with jpegenc.
#
#   ./pipelines/webcam.sh [options]
#     --device PATH     camera device (default /dev/video0)
#     --width N         frame width  } both or neither; default: what the
#     --height N        frame height } camera picks
#     --fps N           frames per second (default: what the camera picks)
#     --encode          always take raw frames and encode them (jpegenc)
#     --quality N       jpegenc quality 1..100 (default 85; raw frames only)
#     --port N          HTTP port (default $PORT or 8080)
#     --address ADDR    address to listen on (default $ADDRESS or 127.0.0.1;
#                       0.0.0.0 serves the network)
#
# Runs in the foreground until Ctrl-C.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

device=/dev/video0
width=""
height=""
fps=""
encode=no
quality=85
port="${PORT:-8080}"
address="${ADDRESS:-127.0.0.1}"

while [ $# -gt 0 ]; do
  case "$1" in
    --device) need_value "$@"; device=$2; shift 2 ;;
    --width) need_value "$@"; width=$2; shift 2 ;;
    --height) need_value "$@"; height=$2; shift 2 ;;
    --fps) need_value "$@"; fps=$2; shift 2 ;;
    --encode) encode=yes; shift ;;
    --quality) need_value "$@"; quality=$2; shift 2 ;;
    --port) need_value "$@"; port=$2; shift 2 ;;
    --address) need_value "$@"; address=$2; shift 2 ;;
    -h | --help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
check_port "$port"
if [ -n "$width$height" ] && { [ -z "$width" ] || [ -z "$height" ]; }; then
  die "--width and --height go together"
fi
for number in "$width" "$height" "$fps" "$quality"; do
  case "$number" in *[!0-9]*) die "not a whole number: '$number'" ;; esac
done

prepare

[ -e "$device" ] || die "no camera at $device (try --device /dev/videoN; see ls /dev/video*)"
is_capture_device "$device" ||
  die "$device cannot capture (busy, no permission, or not a camera: a metadata node?)"

# Caps fields the user asked for; the camera picks the rest.
fields=""
[ -n "$width" ] && fields+=",width=$width,height=$height"
[ -n "$fps" ] && fields+=",framerate=$fps/1"

if [ "$encode" = no ] && camera_offers_jpeg "$device"; then
  say "Source: $device, the camera's own MJPEG (no re-encoding)"
  source_chain=(v4l2src device="$device" ! "image/jpeg$fields")
else
  say "Source: $device, raw frames encoded with jpegenc (quality $quality)"
  source_chain=(v4l2src device="$device" ! "video/x-raw$fields"
    ! videoconvert ! jpegenc quality="$quality")
fi

serve_pipeline "$address" "$port" \
  "${source_chain[@]}" ! mjpeghttpsink address="$address" port="$port"
