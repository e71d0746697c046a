#!/usr/bin/env bash
# Builds the kit that carries kura to a server with no network:
#
#   scripts/dist.sh --target windows|linux --out DIR --sign-key FILE
#
# makes DIR/kura-<version>-x86_64-windows.zip (or -x86_64-linux.tar.gz)
# holding kura.exe (kura), README.md, the ja/en manuals, the example policies,
# the licences, and SHA256SUMS with SHA256SUMS.minisig over all of them; and
# beside it DIR/SHA256SUMS and DIR/SHA256SUMS.minisig over the archive, to
# check it before unpacking. Check on Windows with `certutil -hashfile FILE
# SHA256` and `minisign -Vm SHA256SUMS -p KEY.pub`; on Linux with
# `sha256sum -c SHA256SUMS` and the same minisign line.
#
# --sign-key is the release's minisign secret key (keep it offline; minisign
# asks for its passphrase). For a trial build, keys-example/demo-sign.key
# works, and the kit then says DEMO-SIGNED in its name list: never ship one.
#
# Needs cargo, the target (`rustup target add x86_64-pc-windows-gnu` and
# Debian's gcc-mingw-w64-x86-64 for windows), python3 (zip, tar.gz) and
# minisign.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

usage() {
    echo "usage: scripts/dist.sh --target windows|linux --out DIR --sign-key FILE" >&2
    exit 2
}

target= out= key=
while (($# > 0)); do
    case $1 in
    --target) target=${2:-}; shift 2 ;;
    --out) out=${2:-}; shift 2 ;;
    --sign-key) key=${2:-}; shift 2 ;;
    *) usage ;;
    esac
done
[[ -n $target && -n $out && -n $key ]] || usage
[[ -f $key ]] || { echo "error: no signing key at $key" >&2; exit 2; }
command -v minisign >/dev/null 2>&1 || { echo "error: minisign is needed to sign the kit" >&2; exit 3; }

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
case $target in
windows) triple=x86_64-pc-windows-gnu; exe=kura.exe; format=zip ;;
linux) triple=x86_64-unknown-linux-gnu; exe=kura; format=tar.gz ;;
*) usage ;;
esac
name=kura-$version-x86_64-$target

echo "==> cargo build --release --target $triple"
cargo build --release --target "$triple"

mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
kit=$stage/$name
mkdir -p "$kit/docs/ja" "$kit/docs/en" "$kit/policies"
cp "target/$triple/release/$exe" "$kit/"
cp README.md LICENSE-MIT LICENSE-APACHE "$kit/"
cp docs/ja/運用手順書.md "$kit/docs/ja/"
cp docs/en/operations.md "$kit/docs/en/"
cp policies/*.toml "$kit/policies/"

demo=0
if cmp -s "$key" keys-example/demo-sign.key; then
    demo=1
    printf '%s\n' "DEMO-SIGNED: this kit is signed with the published demo key of" \
        "keys-example/. It is for trials only; never carry it to a server." >"$kit/DEMO-SIGNED.txt"
fi

# SHA256SUMS over every file of the kit, paths with `/` (sha256sum and
# certutil both read them), then its signature.
(cd "$kit" && find . -type f ! -name 'SHA256SUMS*' -printf '%P\n' | LC_ALL=C sort \
    | while IFS= read -r f; do sha256sum -- "$f"; done) >"$stage/SHA256SUMS"
mv "$stage/SHA256SUMS" "$kit/SHA256SUMS"
sign() {
    local file=$1 comment=$2
    rm -f "$file.minisig"
    minisign -S -s "$key" -m "$file" -t "$comment" >/dev/null
}
sign "$kit/SHA256SUMS" "$name kit contents"

archive=$out/$name.$format
rm -f "$archive"
if [[ $format == zip ]]; then
    (cd "$stage" && python3 - "$archive" "$name" <<'EOF'
import os, sys, zipfile
archive, top = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        for f in sorted(filenames):
            z.write(os.path.join(dirpath, f))
EOF
    )
else
    tar -C "$stage" --owner=0 --group=0 --numeric-owner --sort=name -czf "$archive" "$name"
fi

# One SHA256SUMS for every kit in DIR: this one's line replaced, then signed.
(
    cd "$out"
    touch SHA256SUMS
    grep -v -F "  $name.$format" SHA256SUMS >SHA256SUMS.new || true
    sha256sum -- "$name.$format" >>SHA256SUMS.new
    mv SHA256SUMS.new SHA256SUMS
)
sign "$out/SHA256SUMS" "kura $version kits"
((demo)) && echo "note: DEMO-SIGNED with keys-example/demo-sign.key; not a release" >&2
echo "$archive"
