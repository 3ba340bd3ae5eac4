# SPDX-License-Identifier: LGPL-2.1-or-later
# Sourced by the pipeline scripts: installs what is missing, builds the plugin,
# points GStreamer at it, finds a camera and announces the URLs. Not run alone.

MJPEGHTTP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MJPEGHTTP_BUILD_DIR="${BUILD_DIR:-$MJPEGHTTP_ROOT/build}"

# Debian 12 package names. gstreamer1.0-x carries the pango plugin
# (clockoverlay), which the test picture needs for its clock.
MJPEGHTTP_PACKAGES=(
  meson ninja-build g++ pkg-config
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libsoup-3.0-dev libjson-glib-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-x
  glib-networking openssl
)
# Only for the scripts that run nginx in front of relays (front.sh,
# relay-tree.sh): the smallest Debian nginx with the proxy and TLS modules.
MJPEGHTTP_FRONT_PACKAGES=(nginx-light)

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }
# In an option loop: `--opt) need_value "$@"; value=$2; shift 2 ;;`
need_value() { [ $# -ge 2 ] || die "$1 needs a value (see --help)"; }

package_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# With arguments: only those packages (a script that needs nginx but no build).
ensure_packages() {
  local missing=() package wanted=("$@")
  [ $# -gt 0 ] || wanted=("${MJPEGHTTP_PACKAGES[@]}")
  for package in "${wanted[@]}"; do
    package_installed "$package" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing packages (${missing[*]}) and no apt-get to install them"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "missing packages (${missing[*]}): run as root or install sudo"
    sudo=(sudo)
  fi
  say "Installing: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q || die "apt-get update failed"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" ||
    die "apt-get install failed"
}

# The plugin, by its meson target name: a script builds what it runs, not
# the whole tree (the tests alone are some 150 targets; tests/run.sh builds
# those). Scripts that run another program built here name it too.
MJPEGHTTP_PLUGIN_TARGET=gstmjpeghttp

# Builds the plugin and the meson targets given ("mjpeg-relay", ...).
ensure_built() {
  if [ ! -f "$MJPEGHTTP_BUILD_DIR/build.ninja" ]; then
    meson setup "$MJPEGHTTP_BUILD_DIR" "$MJPEGHTTP_ROOT" >&2 || die "meson setup failed"
  fi
  meson compile -C "$MJPEGHTTP_BUILD_DIR" "$MJPEGHTTP_PLUGIN_TARGET" "$@" >&2 || die "build failed"
  export GST_PLUGIN_PATH="$MJPEGHTTP_BUILD_DIR/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
  gst-inspect-1.0 mjpeghttpsink >/dev/null 2>&1 ||
    die "mjpeghttpsink not found in $MJPEGHTTP_BUILD_DIR/gst after the build"
}

# Arguments: more meson targets to build beside the plugin.
prepare() {
  ensure_packages
  ensure_built "$@"
}

element_available() { gst-inspect-1.0 "$1" >/dev/null 2>&1; }

# Opening the device is the only reliable test: a UVC camera also creates
# metadata nodes (/dev/video1, ...) that are not capture devices.
is_capture_device() {
  [ -c "$1" ] || return 1
  timeout 10 gst-launch-1.0 -q v4l2src device="$1" num-buffers=1 ! fakesink >/dev/null 2>&1
}

camera_offers_jpeg() {
  timeout 10 gst-launch-1.0 -q v4l2src device="$1" num-buffers=1 ! image/jpeg ! fakesink \
    >/dev/null 2>&1
}

check_port() {
  case "$1" in
    '' | *[!0-9]*) die "port must be a number from 1 to 65535, got '$1'" ;;
  esac
  [ "$1" -ge 1 ] && [ "$1" -le 65535 ] || die "port must be from 1 to 65535, got '$1'"
}

# The address a browser on this machine uses to reach a server bound to $1.
local_url_host() {
  case "$1" in
    0.0.0.0) echo 127.0.0.1 ;;
    ::) echo '[::1]' ;;
    *:*) echo "[$1]" ;;
    *) echo "$1" ;;
  esac
}

print_urls() {
  local address=$1 port=$2 host
  host="$(local_url_host "$address")"
  say ""
  say "mjpeghttpsink on $address port $port:"
  say "  page      http://$host:$port/"
  say "  stream    http://$host:$port/stream"
  say "  snapshot  http://$host:$port/snapshot"
  case "$address" in
    0.0.0.0 | ::) say "  (listening on every interface: use this machine's address from elsewhere)" ;;
  esac
  say "Press Ctrl-C to stop."
  say ""
}

# Bare host of a URL host: [::1] -> ::1, for bash's /dev/tcp.
connect_host() {
  local host
  host="$(local_url_host "$1")"
  host="${host#[}"
  echo "${host%]}"
}

# True when something already accepts connections there. Checked before
# starting, so the "Serving" line below can only mean our own server.
port_taken() {
  timeout 1 bash -c "exec 3<>/dev/tcp/$(connect_host "$1")/$2" 2>/dev/null
}

# In the background: says "serving" once the page answers, so the URLs above
# are known to work. Gives up with the server (parent gone) or after about 20 s.
announce_when_serving() {
  local address=$1 port=$2 watched=$3 host
  host="$(local_url_host "$address")"
  (
    for _ in $(seq 1 100); do
      kill -0 "$watched" 2>/dev/null || exit 0
      if timeout 1 bash -c "exec 3<>/dev/tcp/$(connect_host "$address")/$port &&
           printf 'HEAD / HTTP/1.0\r\n\r\n' >&3 && grep -qi '^Server: gst-mjpeg-http' <&3" \
        2>/dev/null; then
        say "Serving: open http://$host:$port/ in a browser."
        exit 0
      fi
      sleep 0.2
    done
  ) &
}

# Replaces the calling script with gst-launch-1.0 running the pipeline, so
# the script's PID is the server's and Ctrl-C (or kill -INT PID) goes
# straight to gst-launch: with -e it sends EOS, viewers get the closing
# boundary and muxers finalize their files.
serve_pipeline() {
  local address=$1 port=$2
  shift 2
  if port_taken "$address" "$port"; then
    die "port $port is already in use on $address: pick another port"
  fi
  print_urls "$address" "$port"
  announce_when_serving "$address" "$port" "$$"
  exec gst-launch-1.0 -e "$@"
}
