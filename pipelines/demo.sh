#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Serves a live MJPEG stream from this checkout's mjpeghttpsink: from the
# camera at /dev/video0 when there is one, else from a moving test picture
# with the time on it. Installs what is missing (Debian 12) and builds first.
#
#   ./pipelines/demo.sh [PORT]            PORT defaults to 8080
#   PORT=9000 ADDRESS=0.0.0.0 ./pipelines/demo.sh
#
# Runs in the foreground until Ctrl-C.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

case "${1:-}" in
  -h | --help)
    sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
esac
port="${1:-${PORT:-8080}}"
address="${ADDRESS:-127.0.0.1}"
check_port "$port"

prepare

camera=/dev/video0
if is_capture_device "$camera"; then
  if camera_offers_jpeg "$camera"; then
    say "Source: camera $camera, its own MJPEG (no re-encoding)"
    source_chain=(v4l2src device="$camera" ! image/jpeg)
  else
    say "Source: camera $camera, encoded with jpegenc"
    source_chain=(v4l2src device="$camera" ! videoconvert ! jpegenc)
  fi
else
  say "Source: test picture (no camera at $camera)"
  source_chain=(videotestsrc is-live=true pattern=ball
    ! video/x-raw,width=1280,height=720,framerate=30/1)
  if element_available clockoverlay; then
    source_chain+=(! clockoverlay "time-format=%Y-%m-%d %H:%M:%S" font-desc="Sans 36")
  else
    say "(clockoverlay missing: install gstreamer1.0-x for the clock)"
  fi
  source_chain+=(! jpegenc)
fi

serve_pipeline "$address" "$port" \
  "${source_chain[@]}" ! mjpeghttpsink address="$address" port="$port"
