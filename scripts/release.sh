#!/usr/bin/env bash
# Makes a release of idzip that runs without the Swift toolchain:
#
#   scripts/release.sh [OUTDIR]     ->  OUTDIR/idzip-VERSION-linux-ARCH.tar.gz (default OUTDIR: dist)
#
# The binary is built with Swift's static standard library (`--static-swift-stdlib`: the Swift
# runtime and Foundation are linked in), so the only shared libraries it needs are the C
# libraries listed in the tarball's INSTALL.md (found with ldd, with their Debian packages):
# glibc and the GCC runtime, zlib, OpenBLAS and libpng. The tarball holds
#   bin/idzip                         the binary
#   share/man/man1/idzip.1            a man page made from the --help of every command
#   share/doc/idzip/help/*.txt        the same help as plain text
#   share/doc/idzip/                  README.md, CHANGELOG.md, INSTALL.md, Formats/ (the .idz spec,
#                                     test vectors and sample models), LICENSE-mnist.md
#   share/idzip/mnist/                the MNIST files `--data mnist` finds (CC BY-SA 3.0, see its README.md)
#   share/idzip/digits/               the sample inputs of `idzip predict`
#   Makefile                          `make install PREFIX=/usr/local` (DESTDIR honoured), `make uninstall`
# IDZIP_RELEASE_SKIP_BUILD=1 packs the binary already built (scripts/test-release.sh reuses it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
outdir=${1:-dist}
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

version=$(sed -n 's/.*static let current = "\(.*\)"$/\1/p' Sources/IdzipCore/IdzipVersion.swift)
[ -n "$version" ] || { echo "release: no version in Sources/IdzipCore/IdzipVersion.swift" >&2; exit 1; }
name="idzip-$version-linux-$(uname -m)"

build=(swift build -c release --product idzip --static-swift-stdlib)
if [ "${IDZIP_RELEASE_SKIP_BUILD:-0}" != 1 ]; then
    "${build[@]}" 2>&1 | tail -3
fi
binary="$(swift build -c release --static-swift-stdlib --show-bin-path)/idzip"
[ -x "$binary" ] || { echo "release: $binary was not built" >&2; exit 1; }
if ldd "$binary" | grep -Eq 'libswift|libFoundation|libdispatch|libBlocksRuntime|lib_FoundationICU'; then
    echo "release: $binary links Swift libraries dynamically; build it with --static-swift-stdlib" >&2
    ldd "$binary" | grep -E 'libswift|libFoundation|libdispatch|libBlocksRuntime|lib_FoundationICU' >&2
    exit 1
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
top="$stage/$name"
mkdir -p "$top/bin" "$top/share/man/man1" "$top/share/doc/idzip/help" "$top/share/idzip"
install -m 0755 "$binary" "$top/bin/idzip"
strip "$top/bin/idzip" 2>/dev/null || true

# Help text of every command and subcommand, found from the SUBCOMMANDS lists of --help.
commands=()
discover() {
    local prefix=$1
    commands+=("$prefix")
    local sub
    for sub in $("$top/bin/idzip" $prefix --help | awk '/^SUBCOMMANDS:/{on=1; next} on && /^[^ ]/{on=0} on && /^  [a-z]/{print $1}'); do
        discover "${prefix:+$prefix }$sub"
    done
}
discover ""
for command in "${commands[@]}"; do
    file=${command// /-}
    "$top/bin/idzip" $command --help > "$top/share/doc/idzip/help/idzip${file:+-$file}.txt"
done

# The man page: NAME and SYNOPSIS, then each command's help as preformatted text.
{
    echo ".TH IDZIP 1 \"$(date -u +%Y-%m-%d)\" \"idzip $version\" \"User Commands\""
    echo ".SH NAME"
    echo "idzip \\- train networks in small random subspaces and ship them as .idz files"
    echo ".SH SYNOPSIS"
    echo ".B idzip"
    echo "\\fISUBCOMMAND\\fR [\\fIOPTIONS\\fR]"
    for command in "${commands[@]}"; do
        section="IDZIP${command:+ ${command^^}}"
        echo ".SH \"$section\""
        echo ".nf"
        "$top/bin/idzip" $command --help | sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"
        echo ".fi"
    done
    echo ".SH FILES"
    echo ".nf"
    echo "PREFIX/share/idzip/mnist    the MNIST files found by --data mnist (or set IDZIP_DATA)"
    echo "PREFIX/share/doc/idzip      README.md, INSTALL.md, CHANGELOG.md, Formats/ (the .idz format)"
    echo ".fi"
} > "$top/share/man/man1/idzip.1"

# Documentation, the format spec and the shipped data with their licences.
doc="$top/share/doc/idzip"
cp README.md CHANGELOG.md "$doc/"
cp -R Formats "$doc/Formats"
cp samples/mnist/README.md "$doc/LICENSE-mnist.md"
mkdir -p "$top/share/idzip/mnist" "$top/share/idzip/digits"
cp samples/mnist/*.gz samples/mnist/SHA256SUMS samples/mnist/README.md "$top/share/idzip/mnist/"
cp samples/digits/* "$top/share/idzip/digits/"

# What the binary needs at run time: every shared library ldd names, with its Debian package.
runtime_libraries=$(ldd "$top/bin/idzip" | awk '/=>/ {print $1 "\t" $3} !/=>/ && /\// {print $1 "\t" $1}')
runtime_table=$(while IFS=$'\t' read -r soname path; do
    [ -n "$soname" ] || continue
    package=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1 || true)
    [ -n "$package" ] || package=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1 || true)
    echo "| \`$soname\` | ${package:-?} |"
done <<< "$runtime_libraries")
packages=$(echo "$runtime_table" | awk -F'|' '{gsub(/ /, "", $3); if ($3 != "?") print $3}' | sort -u | tr '\n' ' ')

cat > "$doc/INSTALL.md" <<EOF
# Installing idzip $version

This is a build for Linux on $(uname -m) that needs no Swift toolchain: the Swift runtime and
Foundation are linked into \`bin/idzip\`. It needs only these shared libraries (\`ldd bin/idzip\`):

| library | Debian package |
|---|---|
$runtime_table

On Debian or Ubuntu: \`sudo apt-get install $packages\` (most are already there;
zlib, OpenBLAS and libpng are the ones a minimal image may lack).

\`\`\`sh
tar xzf $name.tar.gz && cd $name
sudo make install                      # to /usr/local: bin/idzip, share/man/man1/idzip.1, share/idzip, share/doc/idzip
make install PREFIX=\$HOME/.local       # or anywhere else; DESTDIR=... for packaging
idzip --version
idzip train --model fc:784-200-200-10 --data mnist --dim 1000 -o mnist.idz
\`\`\`

\`--data mnist\` is found in \`PREFIX/share/idzip/mnist\` (installed with the binary), in the
directory named by \`IDZIP_DATA\` (or its \`mnist\` folder), or in \`./samples/mnist\`.
\`make uninstall PREFIX=...\` removes what \`make install\` copied. The binary can also be run
from the unpacked directory as it is (\`./bin/idzip\`).
EOF

cat > "$top/Makefile" <<'EOF'
# make install [PREFIX=/usr/local] [DESTDIR=]; make uninstall [PREFIX=...]
PREFIX ?= /usr/local
DESTDIR ?=
FILES := $(shell find bin share -type f | sort)

.PHONY: install uninstall
install:
	@for f in $(FILES); do \
		mode=0644; [ "$${f%%/*}" = bin ] && mode=0755; \
		install -D -m $$mode "$$f" "$(DESTDIR)$(PREFIX)/$$f" || exit 1; \
	done
	@echo "installed idzip in $(DESTDIR)$(PREFIX) (bin/idzip, share/man/man1/idzip.1, share/idzip, share/doc/idzip)"

uninstall:
	@for f in $(FILES); do rm -f "$(DESTDIR)$(PREFIX)/$$f"; done
	@rm -rf "$(DESTDIR)$(PREFIX)/share/idzip" "$(DESTDIR)$(PREFIX)/share/doc/idzip"
	@echo "removed idzip from $(DESTDIR)$(PREFIX)"
EOF
cp "$doc/INSTALL.md" "$top/INSTALL.md"

tar -C "$stage" --owner=0 --group=0 --sort=name -czf "$outdir/$name.tar.gz" "$name"
echo "wrote $outdir/$name.tar.gz ($(du -h "$outdir/$name.tar.gz" | cut -f1)): idzip $version, ${#commands[@]} help pages; runtime packages: $packages"
