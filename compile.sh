#!/usr/bin/env bash
# Builds the vault as one executable with its sandbox baked in:
#   ./compile.sh [--data-dir /var/lib/amber] [--drives /srv/d1,/srv/d2] [--port 8080] [--host 127.0.0.1] [--out dist/amber] [--target TRIPLE]
# The permission flags come from src/permissions.ts (the same ones the tests run with).
# deno compile needs Deno's `denort` runtime stub: set DENORT_BIN to a local copy on air-gapped
# build hosts; otherwise Deno fetches it.
set -euo pipefail
cd "$(dirname "$0")"

data_dir=/var/lib/amber
port=8080
host=127.0.0.1
out=dist/amber
target=""
drives=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data-dir) data_dir="$2"; shift 2 ;;
    --drives) drives=(--drives "$2"); shift 2 ;;
    --port) port="$2"; shift 2 ;;
    --host) host="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --target) target="$2"; shift 2 ;;
    *) echo "compile.sh: unknown option \"$1\" (see the first lines of compile.sh)" >&2; exit 2 ;;
  esac
done

deno=(deno)
command -v deno >/dev/null 2>&1 || deno=(npx -y deno@2.9.6)

if [[ -n "${DENORT_BIN:-}" && ! -f "$DENORT_BIN" ]]; then
  echo "compile.sh: DENORT_BIN=\"$DENORT_BIN\" is not a file; point it at Deno 2.9.6's denort for this target" >&2
  exit 1
fi

# The sandbox comes from this script's options only: a clean environment, so no AMBER_* of the
# build shell slips in; and a refused setting stops the build instead of leaving no flags at all.
if ! flag_text=$(env -i PATH="$PATH" HOME="${HOME:-/root}" ${DENO_DIR:+DENO_DIR="$DENO_DIR"} \
  "${deno[@]}" run --allow-read --allow-env tools/compile_flags.ts \
  --data-dir "$data_dir" "${drives[@]}" --port "$port" --host "$host"); then
  exit 1
fi
mapfile -t flags <<<"$flag_text"
if ! printf '%s\n' "${flags[@]}" | grep -q '^--allow-read='; then
  echo "compile.sh: no sandbox flags came from tools/compile_flags.ts; refusing to build without them" >&2
  exit 1
fi
target_flag=()
[[ -n "$target" ]] && target_flag=(--target "$target")
mkdir -p "$(dirname "$out")"

log=$(mktemp)
if ! "${deno[@]}" compile "${flags[@]}" "${target_flag[@]}" \
  --include src/s3/worker.ts --include src/store/worker.ts --include src/meta/worker.ts \
  --include src/scrub/worker.ts \
  --include src/auth/mod.ts --include src/meta/mod.ts --include src/scrub/mod.ts \
  --include src/store/mod.ts \
  --output "$out" main.ts >"$log" 2>&1; then
  if grep -qi "denort\|download\|dns\|connect" "$log"; then
    echo "compile.sh: cannot get Deno's denort runtime stub (no network?); copy Deno 2.9.6's denort for this target here and set DENORT_BIN=/path/to/denort" >&2
  else
    echo "compile.sh: deno compile failed: $(grep -m1 -i error "$log" || tail -1 "$log")" >&2
  fi
  rm -f "$log"
  exit 1
fi
rm -f "$log"
sha256sum "$out"
