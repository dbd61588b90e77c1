#!/bin/sh
# Installs Amber on this host, with no network:
#   sudo ./install.sh [--binary dist/amber] [--unit systemd/amber.service] [--host ADDR] [--port N]
#   sudo ./install.sh --uninstall
#   ./install.sh --prefix /tmp/root ...   (or DESTDIR=/tmp/root): install under a test root
# It copies the binary to /usr/local/bin/amber, creates the system user `amber` and the data dir
# /var/lib/amber (0700), installs the unit and /etc/amber/amber.env (0600) holding a freshly
# generated vault key, admin token and root credential (printed once), then enables and starts
# the service. Re-running upgrades the binary and unit and never touches an existing env file.
# Under a test root (--prefix other than /) no user is created, nothing is chowned and systemctl
# is not called; each skipped step is printed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=${DESTDIR:-/}
binary=""
unit=""
host=""
port=""
uninstall=no

die() {
  echo "install.sh: $*" >&2
  exit 1
}

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix | --binary | --unit | --host | --port)
      [ $# -ge 2 ] || die "option $1 needs a value"
      case "$1" in
        --prefix) root=$2 ;;
        --binary) binary=$2 ;;
        --unit) unit=$2 ;;
        --host) host=$2 ;;
        --port) port=$2 ;;
      esac
      shift 2
      ;;
    --uninstall) uninstall=yes; shift ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option \"$1\" (see ./install.sh --help)" ;;
  esac
done

while [ "${root%/}" != "$root" ]; do root=${root%/}; done # "/", "//" and "" all mean the real root
test_root=no
[ -n "$root" ] && test_root=yes
if [ "$test_root" = no ] && [ "$(id -u)" != 0 ]; then
  die "run as root (sudo ./install.sh), or pass --prefix DIR to install under a test root"
fi

bin_path=$root/usr/local/bin/amber
unit_path=$root/etc/systemd/system/amber.service
env_dir=$root/etc/amber
env_path=$env_dir/amber.env
data_dir=$root/var/lib/amber

# systemd is running when /run/systemd/system exists (what sd_booted(3) checks).
have_systemctl() {
  [ "$test_root" = no ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]
}

skip_systemctl() {
  if [ "$test_root" = yes ]; then
    echo "skipped: systemctl $* (installing under test root $root)"
  elif command -v systemctl >/dev/null 2>&1; then
    echo "skipped: systemctl $* (systemd is not running on this host; start amber by hand)"
  else
    echo "skipped: systemctl $* (systemctl not found; start amber by hand)"
  fi
}

if [ "$uninstall" = yes ]; then
  if have_systemctl; then
    systemctl disable --now amber.service 2>/dev/null || true
  else
    skip_systemctl disable --now amber.service
  fi
  rm -f "$bin_path" "$unit_path"
  echo "removed $bin_path and $unit_path"
  if have_systemctl; then systemctl daemon-reload; fi
  echo "kept the data dir $data_dir and the env file $env_path (it holds the vault key:"
  echo "without it the data cannot be read by anyone), and the user amber."
  echo "Remove them by hand only to destroy the vault for good."
  exit 0
fi

# Prints the first of the given files that exists beside install.sh.
beside() {
  for name in "$@"; do
    if [ -f "$here/$name" ]; then
      echo "$here/$name"
      return
    fi
  done
}

[ -n "$binary" ] || binary=$(beside dist/amber amber)
[ -n "$binary" ] || die "no binary found beside install.sh (dist/amber or amber); pass --binary PATH"
[ -f "$binary" ] || die "--binary \"$binary\" is not a file"
[ -n "$unit" ] || unit=$(beside systemd/amber.service amber.service)
[ -n "$unit" ] || die "no amber.service found beside install.sh; pass --unit PATH"
[ -f "$unit" ] || die "--unit \"$unit\" is not a file"
chmod 0755 "$binary" 2>/dev/null || true
version=$("$binary" version 2>/dev/null) ||
  die "\"$binary version\" does not run on this host (built for another --target?)"

umask 022

# The binary: copied beside the old one and renamed over it, so a running vault keeps its file.
mkdir -p "$root/usr/local/bin"
cp "$binary" "$bin_path.new"
chmod 0755 "$bin_path.new"
mv -f "$bin_path.new" "$bin_path"
echo "installed $bin_path ($version)"

if [ "$test_root" = yes ]; then
  echo "skipped: creating system user amber (installing under test root $root)"
elif id amber >/dev/null 2>&1; then
  echo "system user amber exists"
elif command -v useradd >/dev/null 2>&1; then
  useradd --system --user-group --home-dir /var/lib/amber --no-create-home \
    --shell /usr/sbin/nologin --comment "Amber backup vault" amber
  echo "created system user amber"
else
  die "useradd not found: create a system user named amber, then run install.sh again"
fi

mkdir -p "$data_dir"
chmod 0700 "$data_dir"
if [ "$test_root" = yes ]; then
  echo "skipped: chown amber:amber $data_dir (installing under test root $root)"
else
  chown amber:amber "$data_dir"
fi
echo "data dir $data_dir (mode 0700)"

mkdir -p "$root/etc/systemd/system"
cp "$unit" "$unit_path.new"
chmod 0644 "$unit_path.new"
mv -f "$unit_path.new" "$unit_path"
echo "installed $unit_path"

# Random hex from the kernel; od and tr are POSIX, /dev/urandom is on every Linux.
random_hex() {
  od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

mkdir -p "$env_dir"
chmod 0700 "$env_dir"
if [ -e "$env_path" ]; then
  echo "kept the existing $env_path (keys are never regenerated; they were shown at first install)"
  new_env=no
else
  vault_key=$(random_hex 32)
  admin_token=$(random_hex 32)
  access_key=AMBER$(random_hex 8 | tr 'a-f' 'A-F')
  secret_key=$(random_hex 24)
  # Created 0600 from the start (umask in a subshell), then renamed into place whole.
  (
    umask 077
    {
      echo "# Amber's secrets, read by systemd (EnvironmentFile=). Back up AMBER_VAULT_KEY apart from"
      echo "# the data: without it the data cannot be read by anyone."
      echo "AMBER_VAULT_KEY=$vault_key"
      echo "AMBER_ADMIN_TOKEN=$admin_token"
      echo "AMBER_ACCESS_KEY=$access_key"
      echo "AMBER_SECRET_KEY=$secret_key"
      [ -z "$host" ] || echo "AMBER_HOST=$host"
      [ -z "$port" ] || echo "AMBER_PORT=$port"
    } >"$env_path.new"
  )
  chmod 0600 "$env_path.new"
  mv "$env_path.new" "$env_path"
  new_env=yes
  echo "wrote $env_path (mode 0600)"
fi
if [ "$new_env" = no ] && { [ -n "$host" ] || [ -n "$port" ]; }; then
  echo "note: --host/--port only apply to a new env file; edit $env_path to change them"
fi

if have_systemctl; then
  systemctl daemon-reload
  systemctl enable amber.service
  if [ "$new_env" = yes ]; then
    systemctl start amber.service
  else
    systemctl restart amber.service
  fi
  echo "amber.service is enabled and running (journalctl -u amber for its log)"
else
  skip_systemctl enable --now amber.service
fi

if [ "$new_env" = yes ]; then
  cat <<EOF

Shown once; also kept in $env_path (mode 0600). Copy the vault key somewhere safe now,
away from this host: without it the data cannot be read by anyone.
  AMBER_VAULT_KEY=$vault_key
  AMBER_ADMIN_TOKEN=$admin_token
  AWS_ACCESS_KEY_ID=$access_key
  AWS_SECRET_ACCESS_KEY=$secret_key
EOF
fi
