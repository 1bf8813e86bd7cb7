#!/usr/bin/env bash
# Checks the release tarball (scripts/release.sh) as a user without the Swift toolchain gets it:
# - the binary links no Swift library (ldd shows no libswift*, libFoundation*, libdispatch, ICU of
#   the toolchain) and nothing from the toolchain's directory;
# - it runs in a clean environment with the toolchain's library directory hidden: in a mount
#   namespace with an empty directory mounted over it where `unshare` is allowed (root), and
#   always from a copy outside the checkout with PATH and LD_LIBRARY_PATH free of the toolchain;
# - `make install PREFIX=...` installs it, `--data mnist` is found in PREFIX/share/idzip/mnist
#   from any directory, the man page and help files are there, `make uninstall` removes them all.
# Called by scripts/test.sh (IDZIP_RELEASE_TEST=0 skips it); about a minute after the build.
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "release test FAILED: $*" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scripts/release.sh "$work/dist" | tail -1
tarball=$(ls "$work"/dist/idzip-*-linux-*.tar.gz)
tar -C "$work" -xzf "$tarball"
top=$(ls -d "$work"/idzip-*-linux-*/)
top=${top%/}
version=$(sed -n 's/.*static let current = "\(.*\)"$/\1/p' Sources/IdzipCore/IdzipVersion.swift)

# The toolchain's libraries: where libswiftCore.so lives.
toolchain_lib=$(dirname "$(readlink -f "$(command -v swift)")")/../lib
toolchain_lib=$(cd "$toolchain_lib" && pwd)

# 1. ldd: no Swift library, nothing from the toolchain, nothing missing.
links=$(ldd "$top/bin/idzip")
echo "$links" | grep -Eq 'libswift|libFoundation|libdispatch|libBlocksRuntime|FoundationICU' \
    && fail "bin/idzip links Swift libraries: $(echo "$links" | grep -E 'swift|Foundation|dispatch')"
echo "$links" | grep -q "$toolchain_lib" && fail "bin/idzip loads a library from $toolchain_lib"
echo "$links" | grep -q "not found" && fail "bin/idzip needs a library this machine lacks: $links"
for library in $(echo "$links" | awk '/=>/ {print $1}'); do
    grep -q "\`$library\`" "$top/INSTALL.md" || fail "INSTALL.md does not declare $library"
done

# 2. Runs from a copy outside the checkout, in a clean environment (no toolchain on PATH or
#    LD_LIBRARY_PATH), and where allowed with the toolchain's lib directory hidden.
mkdir -p "$work/elsewhere"
cp "$top/bin/idzip" "$work/elsewhere/idzip"
clean=(env -i PATH=/usr/bin:/bin HOME="$work" LANG=C.UTF-8)
run_hidden() {
    # An empty directory mounted over the toolchain's lib directory, in a private mount namespace.
    if [ "$(id -u)" -eq 0 ] && unshare --mount true 2>/dev/null; then
        unshare --mount sh -c 'mount --make-rprivate / && mount -t tmpfs none "$0" && [ -z "$(ls -A "$0")" ] && exec "$@"' \
            "$toolchain_lib" "$@"
    else
        "$@"
    fi
}
if [ "$(id -u)" -eq 0 ] && unshare --mount true 2>/dev/null; then
    hidden="toolchain libraries hidden by a mount namespace"
else
    hidden="clean environment (unshare not allowed here: the toolchain directory stays visible, ldd checked above)"
fi
out=$(cd "$work/elsewhere" && run_hidden "${clean[@]}" ./idzip --version) || fail "idzip --version failed ($hidden)"
[ "$out" = "$version" ] || fail "idzip --version printed '$out', expected '$version'"
(cd "$work/elsewhere" && run_hidden "${clean[@]}" ./idzip train --model toy --dim 10 --epochs 2000 -o toy.idz > train.txt) \
    || fail "idzip train --model toy failed ($hidden)"
(cd "$work/elsewhere" && run_hidden "${clean[@]}" ./idzip info toy.idz) | grep -q "producer = idzip $version" \
    || fail "idzip info does not show the producer"

# 3. make install / uninstall with a PREFIX, data found from PREFIX/share/idzip/mnist.
prefix="$work/prefix with space"
make -s -C "$top" install PREFIX="$prefix" > /dev/null
for file in bin/idzip share/man/man1/idzip.1 share/idzip/mnist/t10k-labels-idx1-ubyte.gz share/doc/idzip/INSTALL.md \
    share/doc/idzip/LICENSE-mnist.md share/doc/idzip/Formats/idz-v1.md share/doc/idzip/help/idzip-train.txt \
    share/doc/idzip/help/idzip-sweep-merge.txt; do
    [ -f "$prefix/$file" ] || fail "make install did not install $file"
done
grep -q '^\.SH "IDZIP TRAIN"' "$prefix/share/man/man1/idzip.1" || fail "the man page has no section for idzip train"
grep -q -- '--labels' "$prefix/share/man/man1/idzip.1" || fail "the man page lacks train's options"
if command -v man > /dev/null; then
    man -l "$prefix/share/man/man1/idzip.1" 2>/dev/null | grep -q "IDZIP TRAIN" || fail "man cannot render idzip.1"
fi
(cd "$work/elsewhere" && run_hidden "${clean[@]}" "$prefix/bin/idzip" train --model fc:784-10 --data mnist --dim 10 \
    --epochs 1 --train-fraction 0.02 -o mnist.idz > mnist.txt) || fail "the installed idzip does not find --data mnist"
grep -q "on mnist" "$work/elsewhere/mnist.txt" || fail "unexpected train output: $(cat "$work/elsewhere/mnist.txt")"
make -s -C "$top" uninstall PREFIX="$prefix" > /dev/null
left=$(find "$prefix" -type f | wc -l)
[ "$left" -eq 0 ] || fail "make uninstall left $left files in $prefix"

echo "release test: $(basename "$tarball") OK ($hidden; ldd: $(echo "$links" | awk '/=>/ {print $1}' | tr '\n' ' '))"
