#!/usr/bin/env bash
# The Windows stage: cross-build kura.exe and the test binaries for
# x86_64-pc-windows-gnu (Debian's mingw-w64 links them, .cargo/config.toml)
# and run the unit tests and the whole integration suite under Wine.
#
# The test binaries run directly under `wine`, not through a cargo runner:
# with CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine, assert_cmd would start
# the child kura.exe with `wine` in front too.
#
# Wine 8 lacks ProcessPrng (bcryptprimitives.dll), which the Rust standard
# library needs; tests/wine/bcryptprimitives.c provides it on top of
# RtlGenRandom and goes into the Wine prefix this script makes. It is a test
# shim only, never shipped: Windows 10 / Server 2016 and later have it.
#
# Missing target, mingw-w64 or wine: skipped with a message, or a failure
# under KURA_REQUIRE_INTEROP=1 (CI).
#
# Usage: tests/scripts/windows.sh [--build-only] [TEST-FILTER...]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root=$PWD
target=x86_64-pc-windows-gnu

build_only=0
if [[ ${1:-} == --build-only ]]; then
    build_only=1
    shift
fi

missing=()
rustup target list --installed 2>/dev/null | grep -qx "$target" || missing+=("rustup target $target")
command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1 || missing+=("gcc-mingw-w64-x86-64")
((build_only)) || command -v wine >/dev/null 2>&1 || missing+=("wine")
if ((${#missing[@]} > 0)); then
    if [[ ${KURA_REQUIRE_INTEROP:-} == 1 ]]; then
        echo "error: the Windows stage needs: ${missing[*]}" >&2
        exit 1
    fi
    echo "skipped: the Windows stage needs ${missing[*]} (set KURA_REQUIRE_INTEROP=1 to require it)"
    exit 0
fi

echo "==> cargo build --release --target $target"
cargo build --release --target "$target"
echo "==> cargo test --release --target $target --no-run"
# The test executables, as cargo names them: the library's unit tests and the
# integration suite.
mapfile -t tests < <(cargo test --release --target "$target" --no-run --message-format=json \
    | python3 -c '
import json, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        print(m["executable"])
')
((build_only)) && exit 0

# A Wine prefix of our own, with the shim, made once per target directory.
export WINEPREFIX=${KURA_WINEPREFIX:-$root/target/wine-prefix}
export WINEDEBUG=-all
# No Mono or Gecko installer dialogs on a headless machine.
export WINEDLLOVERRIDES="mscoree,mshtml="
shim=$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll
if [[ ! -f $shim ]]; then
    echo "==> making the Wine prefix $WINEPREFIX"
    wineboot --init >/dev/null 2>&1 || true
    wineserver --wait || true
    x86_64-w64-mingw32-gcc -O2 -shared -o "$shim" tests/wine/bcryptprimitives.c -ladvapi32 -Wl,--kill-at
fi

# Wine takes the program's locale from the Unix one, which must exist (Debian
# `locales`): without a UTF-8 locale every Japanese file name fails with os
# error 2. The suite expects English output, as on Linux (LANG=C there); the
# tests of Windows' own UI language start kura.exe with a Japanese one.
export LANG=en_US.UTF-8 LC_ALL=en_US.UTF-8
for l in en_US ja_JP; do
    if ! locale -a 2>/dev/null | grep -qi "^$l.utf-\?8$"; then
        echo "error: the $l.UTF-8 locale is missing (Debian: locales, then locale-gen)" >&2
        exit 1
    fi
done
export KURA_WINE=1

status=0
for exe in "${tests[@]}"; do
    echo "==> wine $(basename "$exe") $*"
    wine "$exe" "$@" || status=1
done
(($# > 0)) && { wineserver --wait || true; exit $status; }

echo "==> across the boundary: kura.exe and the stock Linux tools (tests/integration/wine.rs)"
KURA_WINDOWS_EXE=$root/target/$target/release/kura.exe \
    cargo test --release --test integration -- --ignored wine:: || status=1

echo "==> the Windows kit: build, check with stock tools, run its demo"
dist=$root/target/dist
rm -rf "$dist"
scripts/dist.sh --target windows --out "$dist" --sign-key keys-example/demo-sign.key || status=1
kit=$(cd "$dist" && ls kura-*-x86_64-windows.zip | head -n1)
if [[ -n $kit ]]; then
    unpacked=$dist/unpacked
    python3 -m zipfile -e "$dist/$kit" "$unpacked"
    top=$unpacked/${kit%.zip}
    (cd "$dist" && sha256sum -c SHA256SUMS && minisign -V -p "$root/keys-example/demo-sign.pub" -m SHA256SUMS) || status=1
    (cd "$top" && sha256sum -c --quiet SHA256SUMS && minisign -V -p "$root/keys-example/demo-sign.pub" -m SHA256SUMS) || status=1
    (cd "$dist" && wine "$top/kura.exe" demo --size-mib 2 --dir kit-demo) || status=1
fi
wineserver --wait || true
exit $status
