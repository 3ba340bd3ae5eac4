#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Serves a live MJPEG stream and records the same JPEG frames to a file at
# the same time: one encoder, a tee, and a muxer that stores the JPEGs as
# they are (no re-encoding). The container follows the file name: .mkv
# (Matroska, the default) or .avi.
#
#   ./pipelines/record-and-serve.sh [options]
#     --output FILE     recording (default recording-YYYYmmdd-HHMMSS.mkv)
#     --camera PATH     record a V4L2 camera instead of the test picture
#     --seconds N       stop by itself after N seconds (test picture only)
#     --port N          HTTP port (default $PORT or 8080)
#     --address ADDR    address to listen on (default $ADDRESS or 127.0.0.1)
#
# Stop with Ctrl-C (SIGINT): gst-launch then sends EOS, so the muxer writes
# its index and the file is complete. A SIGKILL would leave it unfinished.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

output="recording-$(date +%Y%m%d-%H%M%S).mkv"
camera=""
seconds=""
port="${PORT:-8080}"
address="${ADDRESS:-127.0.0.1}"
fps=30

while [ $# -gt 0 ]; do
  case "$1" in
    --output) need_value "$@"; output=$2; shift 2 ;;
    --camera) need_value "$@"; camera=$2; shift 2 ;;
    --seconds) need_value "$@"; seconds=$2; shift 2 ;;
    --port) need_value "$@"; port=$2; shift 2 ;;
    --address) need_value "$@"; address=$2; shift 2 ;;
    -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done
check_port "$port"
case "$seconds" in *[!0-9]*) die "--seconds takes a whole number, got '$seconds'" ;; esac
[ -n "$camera" ] && [ -n "$seconds" ] && die "--seconds works with the test picture only"

case "$output" in
  *.mkv) muxer=matroskamux ;;
  *.avi) muxer=avimux ;;
  *) die "--output must end in .mkv or .avi, got '$output'" ;;
esac

prepare

if [ -n "$camera" ]; then
  is_capture_device "$camera" || die "$camera cannot capture"
  if camera_offers_jpeg "$camera"; then
    source_chain=(v4l2src device="$camera" ! image/jpeg)
  else
    source_chain=(v4l2src device="$camera" ! videoconvert ! jpegenc)
  fi
else
  # num-buffers ends the test picture with EOS, as Ctrl-C would.
  limit=()
  [ -n "$seconds" ] && limit=(num-buffers=$((seconds * fps)))
  source_chain=(videotestsrc is-live=true pattern=ball "${limit[@]}"
    ! "video/x-raw,width=1280,height=720,framerate=$fps/1")
  if element_available clockoverlay; then
    source_chain+=(! clockoverlay "time-format=%Y-%m-%d %H:%M:%S" font-desc="Sans 36")
  fi
  source_chain+=(! jpegenc)
fi

say "Recording to $output ($muxer)"
# Each branch has its own queue, so a slow disk cannot stall the viewers
# and viewers never stall the recording (the sink never waits for a viewer).
serve_pipeline "$address" "$port" \
  "${source_chain[@]}" ! tee name=split \
  split. ! queue ! mjpeghttpsink address="$address" port="$port" \
  split. ! queue ! "$muxer" ! filesink location="$output"
