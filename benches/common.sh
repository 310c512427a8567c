# Shared by the benchmark scripts: logging and installing the tools they measure with.
# Source it; it defines `log`, `apt_install` and `need TOOL PACKAGE`.

log() { printf '\n== %s\n' "$*" >&2; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
APT_UPDATED=0

# apt-get install, updating the package lists once per script.
apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    $SUDO apt-get update -qq
    APT_UPDATED=1
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}

# Installs PACKAGE unless COMMAND (a name on PATH, or an absolute path) is there.
need() {
  if [ "${1#/}" != "$1" ]; then [ -x "$1" ] && return 0; else command -v "$1" > /dev/null 2>&1 && return 0; fi
  log "installing $2"
  apt_install "$2"
}
