#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs one third-party client against a real pipeline
#   videotestsrc is-live=true ! jpegenc ! mjpeghttpsink port=0
# and checks what the client got. Usage: run_client.sh CLIENT, CLIENT one of
# curl ffprobe ffmpeg souphttpsrc vlc, or one of the webcam world's (issue 12):
# curl-digest (auth-method=digest), motion (Motion reading /?action=stream as
# its network camera and re-serving it), octopi-nginx (OctoPrint's URLs
# /webcam/?action=... through pipelines/nginx/octopi-webcam.conf.in).
# Exit 0 = pass, 77 = the client is not installed (meson: skipped), else fail.
# The server listens on an ephemeral port, found from the sockets of the
# process we started, so parallel runs cannot pick up each other's server.
set -euo pipefail

readonly SKIP=77
readonly WIDTH=352 HEIGHT=288
readonly PARTS=3 FRAMES=10
# The first gst-launch of a run may have to build the plugin registry.
readonly START_LIMIT_S=30
readonly CLIENT_LIMIT_S=30
readonly STOP_LIMIT_S=5

client=${1:?usage: run_client.sh curl|ffprobe|ffmpeg|souphttpsrc|vlc|curl-digest|motion|octopi-nginx}
# Extra mjpeghttpsink properties for the client's server.
sink_props=()
# Processes of the client side to stop at the end (Motion, nginx).
helper_pids=()
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
workdir=$(mktemp -d)
server_pid=

say() { echo "[$client] $*"; }
skip() {
  say "SKIP: $*"
  exit "$SKIP"
}
# shellcheck source=../lib/server_process.sh
source "$here/../lib/server_process.sh"

stop_server() {
  stop_process "$server_pid"
  server_pid=
}

cleanup() {
  local pid
  for pid in "${helper_pids[@]}"; do stop_process "$pid"; done
  stop_server
  rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The TCP port on which process $1 listens, if it listens on one.
listening_port() {
  local pid=$1 fd link inodes=" "
  for fd in /proc/"$pid"/fd/*; do
    link=$(readlink "$fd" 2>/dev/null) || continue
    case $link in socket:\[*\]) inodes+="${link:8:${#link}-9} " ;; esac
  done
  local hex
  # /proc/net/tcp*: local address is field 2 (ADDR:PORT in hex), state
  # field 4 (0A = LISTEN), inode field 10.
  hex=$(awk -v inodes="$inodes" \
    'FNR > 1 && $4 == "0A" && index(inodes, " " $10 " ") { split($2, a, ":"); print a[2]; exit }' \
    /proc/net/tcp /proc/net/tcp6)
  [ -n "$hex" ] || return 1
  echo $((16#$hex))
}

require_client() {
  case $client in
    curl) command -v curl >/dev/null || skip "curl is not installed (apt-get install curl)" ;;
    ffprobe) command -v ffprobe >/dev/null || skip "ffprobe is not installed (apt-get install ffmpeg)" ;;
    ffmpeg) command -v ffmpeg >/dev/null || skip "ffmpeg is not installed (apt-get install ffmpeg)" ;;
    souphttpsrc)
      local element
      for element in souphttpsrc multipartdemux jpegdec; do
        gst-inspect-1.0 "$element" >/dev/null 2>&1 ||
          skip "GStreamer element $element is not installed (apt-get install gstreamer1.0-plugins-good)"
      done
      ;;
    vlc)
      command -v cvlc >/dev/null || skip "cvlc is not installed (apt-get install vlc-bin vlc-plugin-base)"
      if [ "$(id -u)" -eq 0 ]; then
        command -v setpriv >/dev/null || skip "VLC refuses to run as root and setpriv is missing"
      fi
      ;;
    curl-digest) command -v curl >/dev/null || skip "curl is not installed (apt-get install curl)" ;;
    motion)
      command -v motion >/dev/null || skip "motion is not installed (apt-get install motion)"
      command -v curl >/dev/null || skip "curl is not installed (apt-get install curl)"
      ;;
    octopi-nginx)
      command -v nginx >/dev/null || skip "nginx is not installed (apt-get install nginx-light)"
      command -v curl >/dev/null || skip "curl is not installed (apt-get install curl)"
      ;;
    *) fail "unknown client '$client'" ;;
  esac
  case $client in
    curl-digest) sink_props=(auth-user=alice auth-password=s3cret auth-method=digest) ;;
  esac
}

start_server() {
  command -v gst-launch-1.0 >/dev/null || fail "gst-launch-1.0 is needed to run the server"
  # Standalone runs (outside meson) find the plugin through the build root.
  if [ -z "${GST_PLUGIN_PATH_1_0:-}${GST_PLUGIN_PATH:-}" ] && [ -n "${MJPEGHTTP_BUILD_ROOT:-}" ]; then
    export GST_PLUGIN_PATH="$MJPEGHTTP_BUILD_ROOT/gst"
  fi
  # A sanitizer build's plugin can only load into a process whose sanitizer
  # runtime came first: the test environment names it for the server alone.
  local server_env=(env)
  [ -z "${MJPEGHTTP_SERVER_PRELOAD:-}" ] || server_env+=("LD_PRELOAD=$MJPEGHTTP_SERVER_PRELOAD")
  "${server_env[@]}" gst-inspect-1.0 mjpeghttpsink >/dev/null 2>&1 ||
    fail "mjpeghttpsink not found (GST_PLUGIN_PATH_1_0=${GST_PLUGIN_PATH_1_0:-} GST_PLUGIN_PATH=${GST_PLUGIN_PATH:-})"

  "${server_env[@]}" gst-launch-1.0 videotestsrc is-live=true \
    ! "video/x-raw,width=$WIDTH,height=$HEIGHT,framerate=30/1" \
    ! jpegenc ! mjpeghttpsink port=0 "${sink_props[@]}" >"$workdir/server.log" 2>&1 &
  server_pid=$!

  local i
  for ((i = 0; i < START_LIMIT_S * 10; i++)); do
    kill -0 "$server_pid" 2>/dev/null || fail "the server pipeline exited before listening"
    if port=$(listening_port "$server_pid"); then
      url="http://127.0.0.1:$port/stream"
      say "server pid $server_pid serving $url"
      return 0
    fi
    sleep 0.1
  done
  fail "the server did not listen within ${START_LIMIT_S}s"
}

# stream_is_valid_mjpeg URL SKIP_HEADS [CURL OPTIONS...]: curl reads URL
# into the multipart checker ($PARTS parts of $WIDTHx$HEIGHT, after
# SKIP_HEADS response heads such as a 401's); true when the checker passes it.
# The checker hangs up after $PARTS parts; curl then fails to write (23),
# which is expected: only the checker's verdict counts. Sets curl_status.
stream_is_valid_mjpeg() {
  local url=$1 skip_heads=$2 statuses
  shift 2
  set +e
  curl -sS -N -D - --max-time "$CLIENT_LIMIT_S" "$@" "$url" |
    python3 "$here/check_multipart.py" --parts "$PARTS" --width "$WIDTH" --height "$HEIGHT" \
      --skip-heads "$skip_heads"
  statuses=("${PIPESTATUS[@]}")
  set -e
  curl_status=${statuses[0]}
  [ "${statuses[1]}" -eq 0 ]
}

run_curl() {
  stream_is_valid_mjpeg "$url" 0 ||
    fail "curl output is not a valid MJPEG stream (curl exit $curl_status)"
}

run_ffprobe() {
  local out expected
  out=$(timeout "$CLIENT_LIMIT_S" ffprobe -v error -select_streams v:0 \
    -show_entries stream=codec_name,width,height -of default=noprint_wrappers=1 "$url") ||
    fail "ffprobe failed (exit $?)"
  expected=$(printf 'codec_name=mjpeg\nwidth=%d\nheight=%d' "$WIDTH" "$HEIGHT")
  [ "$out" = "$expected" ] || fail "ffprobe reported '${out//$'\n'/ }', expected '${expected//$'\n'/ }'"
  say "ffprobe: ${out//$'\n'/ }"
}

run_ffmpeg() {
  local progress frames
  progress=$(timeout "$CLIENT_LIMIT_S" ffmpeg -nostdin -hide_banner -v error -i "$url" \
    -frames:v "$FRAMES" -f null -progress pipe:1 -) || fail "ffmpeg failed (exit $?)"
  frames=$(printf '%s\n' "$progress" | sed -n 's/^frame=//p' | tail -n 1)
  printf '%s\n' "$progress" | grep -qx 'progress=end' || fail "ffmpeg did not finish decoding"
  [ "$frames" = "$FRAMES" ] || fail "ffmpeg decoded '${frames}' frames, expected $FRAMES"
  say "ffmpeg decoded $frames frames"
}

run_souphttpsrc() {
  local out decoded
  # multipartdemux adds its source pad once the first part arrives;
  # gst-launch links it then. fakesink ends the stream after $FRAMES decoded
  # frames (identity eos-after=N would pass only N-1), and the caps filter
  # fails negotiation on a wrong size.
  out=$(timeout "$CLIENT_LIMIT_S" gst-launch-1.0 -v souphttpsrc location="$url" \
    ! multipartdemux ! jpegdec ! "video/x-raw,width=$WIDTH,height=$HEIGHT" \
    ! fakesink name=decoded num-buffers="$FRAMES" silent=false 2>&1) ||
    fail "gst-launch souphttpsrc pipeline failed (exit $?): $(printf '%s\n' "$out" | tail -n 5)"
  decoded=$(printf '%s\n' "$out" | grep -c 'decoded: last-message = chain' || true)
  [ "$decoded" -eq "$FRAMES" ] || fail "souphttpsrc pipeline decoded $decoded frames, expected $FRAMES"
  say "souphttpsrc ! multipartdemux ! jpegdec decoded $decoded frames"
}

run_vlc() {
  # VLC has no "stop after N frames": its scene filter writes each decoded
  # frame as a PNG, and VLC is stopped once $FRAMES of them exist. VLC
  # refuses to run as root, so as root it runs as nobody (setpriv execs, so
  # the PID is VLC's own).
  local frames_dir=$workdir/vlc-frames as_user=() vlc_pid count=0 i
  mkdir -p "$frames_dir"
  if [ "$(id -u)" -eq 0 ]; then
    chmod 777 "$workdir" "$frames_dir"
    as_user=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
  fi
  "${as_user[@]}" env HOME="$frames_dir" cvlc --intf dummy --no-audio --vout dummy \
    --video-filter=scene --scene-path="$frames_dir" --scene-format=png --scene-ratio=1 \
    --scene-prefix=frame "$url" >"$workdir/vlc.log" 2>&1 &
  vlc_pid=$!
  for ((i = 0; i < CLIENT_LIMIT_S * 10; i++)); do
    count=$(find "$frames_dir" -name 'frame*.png' | wc -l)
    [ "$count" -lt "$FRAMES" ] || break
    kill -0 "$vlc_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill "$vlc_pid" 2>/dev/null || true
  wait "$vlc_pid" 2>/dev/null || true
  [ "$count" -ge "$FRAMES" ] ||
    fail "VLC decoded $count frames in ${CLIENT_LIMIT_S}s, expected $FRAMES: $(tail -n 5 "$workdir/vlc.log")"
  # A PNG's size is in its IHDR chunk: width and height, big-endian, at 16.
  local first size
  first=$(find "$frames_dir" -name 'frame*.png' | sort | head -n 1)
  size=$(python3 -c 'import struct, sys; d = open(sys.argv[1], "rb").read(24); print("%dx%d" % struct.unpack(">II", d[16:24]))' "$first")
  [ "$size" = "${WIDTH}x${HEIGHT}" ] || fail "VLC decoded frames of $size, expected ${WIDTH}x${HEIGHT}"
  say "VLC decoded $count frames of $size"
}

# A TCP port that was free a moment ago (see support/free_port.py), for a server
# (Motion, nginx) that cannot report the port it bound.
free_port() {
  python3 "$here/../support/free_port.py"
}

# await_url URL: polls until URL answers (any HTTP status; a stream is cut
# off after its head) or the start limit passes.
await_url() {
  local deadline=$((SECONDS + START_LIMIT_S)) code
  while [ $SECONDS -lt $deadline ]; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1" || true)
    [ "$code" = 000 ] || return 0
    sleep 0.1
  done
  return 1
}

# check_snapshot FILE: a JPEG of the stream's size.
check_jpeg_size() {
  python3 "$here/check_multipart.py" --jpeg-file "$1" --width "$WIDTH" --height "$HEIGHT" ||
    fail "$1 is not a ${WIDTH}x${HEIGHT} JPEG"
}

run_curl_digest() {
  local base="http://127.0.0.1:$port" status
  status=$(curl -s -o "$workdir/snapshot.jpg" -w '%{http_code}' --max-time "$CLIENT_LIMIT_S"     --digest -u alice:s3cret "$base/?action=snapshot")
  [ "$status" = 200 ] || fail "curl --digest got $status for /?action=snapshot"
  check_jpeg_size "$workdir/snapshot.jpg"
  # Basic credentials, even the right ones, are not what this server asks for.
  curl -s -D "$workdir/basic.head" -o /dev/null --max-time "$CLIENT_LIMIT_S" --basic     -u alice:s3cret "$base/snapshot" || true
  grep -q '^HTTP/1.1 401' "$workdir/basic.head" || fail "Basic credentials were not refused"
  grep -qi '^WWW-Authenticate: Digest ' "$workdir/basic.head" || fail "the 401 offers no Digest"
  status=$(curl -s -o /dev/null -w '%{http_code}' --max-time "$CLIENT_LIMIT_S" --digest     -u alice:wrong "$base/snapshot")
  [ "$status" = 401 ] || fail "a wrong password got $status"
  stream_is_valid_mjpeg "$base/?action=stream" 1 --digest -u alice:s3cret ||
    fail "the Digest-authenticated stream is not valid MJPEG"
  say "curl --digest: snapshot, stream; Basic and a wrong password refused"
}

run_motion() {
  local motion_port motion_dir=$workdir/motion
  motion_port=$(free_port)
  mkdir -p "$motion_dir"
  # Motion takes the camera's size from the stream; it re-serves what it
  # decoded as its own MJPEG stream on stream_port.
  cat >"$motion_dir/motion.conf" <<CONF
daemon off
setup_mode off
log_level 6
target_dir $motion_dir
netcam_url http://127.0.0.1:$port/?action=stream
width $WIDTH
height $HEIGHT
stream_port $motion_port
stream_localhost on
stream_maxrate 10
webcontrol_port 0
picture_output off
movie_output off
CONF
  motion -n -c "$motion_dir/motion.conf" >"$workdir/motion.log" 2>&1 &
  helper_pids+=($!)
  await_url "http://127.0.0.1:$motion_port/" ||
    fail "Motion did not serve within ${START_LIMIT_S}s: $(tail -n 5 "$workdir/motion.log")"
  stream_is_valid_mjpeg "http://127.0.0.1:$motion_port/" 0 ||
    fail "Motion's re-served stream is not valid MJPEG: $(tail -n 5 "$workdir/motion.log")"
  # Motion's pictures came from this server: Motion is its one viewer (the
  # check above read Motion's port, not this server's).
  local agent
  agent=$(curl -s "http://127.0.0.1:$port/stats" | python3 -c '
import json, sys
viewers = json.load(sys.stdin)["viewers"]
print(viewers[0]["user_agent"] if len(viewers) == 1 else "")') ||
    fail "cannot read the server's statistics"
  [ -n "$agent" ] || fail "the server does not have exactly one viewer (Motion)"
  say "Motion (user agent '$agent') read /?action=stream and re-served it"
}

run_octopi_nginx() {
  local prefix=$workdir/nginx front status
  front=$(free_port)
  mkdir -p "$prefix/conf" "$prefix/logs" "$prefix/tmp"
  local config
  config=$(<"$here/../../pipelines/nginx/octopi-webcam.conf.in")
  config=${config//@LISTEN@/127.0.0.1:$front}
  config=${config//@CAMERA@/127.0.0.1:$port}
  if [ "$(id -u)" -eq 0 ]; then
    # As root nginx's workers would run as nobody, who cannot enter the
    # private work directory.
    config="user root;"$'
'"$config"
  fi
  printf '%s
' "$config" >"$prefix/conf/nginx.conf"
  nginx -p "$prefix" -c "$prefix/conf/nginx.conf" -e "$prefix/logs/error.log"     >"$workdir/nginx.log" 2>&1 &
  helper_pids+=($!)
  await_url "http://127.0.0.1:$front/" || fail "nginx did not start: $(tail -n 5 "$workdir/nginx.log")"
  # OctoPrint's default webcam URLs, as its settings page has them.
  status=$(curl -s -o "$workdir/snapshot.jpg" -w '%{http_code}' --max-time "$CLIENT_LIMIT_S"     "http://127.0.0.1:$front/webcam/?action=snapshot")
  [ "$status" = 200 ] || fail "/webcam/?action=snapshot through nginx got $status"
  check_jpeg_size "$workdir/snapshot.jpg"
  stream_is_valid_mjpeg "http://127.0.0.1:$front/webcam/?action=stream" 0 ||
    fail "/webcam/?action=stream through nginx is not valid MJPEG"
  status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$front/webcam/?action=nonsense")
  [ "$status" = 400 ] || fail "an unknown action through nginx got $status, not 400"
  say "OctoPrint's /webcam/?action=stream and snapshot through nginx"
}

require_client
start_server
"run_${client//-/_}"
kill -0 "$server_pid" 2>/dev/null || fail "the server died while serving $client"
say "PASS"
