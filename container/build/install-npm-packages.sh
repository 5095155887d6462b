#!/bin/sh
# Installs Node, npm and the Claude Code CLI from npm tarballs packed on the host (`npm pack`) and
# bind-mounted at $1 for this one RUN step, so the tarballs never land in a layer. No registry is
# contacted: each tarball is unpacked where `npm install -g` would have put it. The image is built
# natively, so the platform packages are this machine's: linux-x64 or linux-arm64 (setup packs the
# same ones, see src/setup/image-platform.ts).
set -eu
PKGS="$1"
PREFIX=/usr/local/lib/nodejs

case "$(uname -m)" in
  x86_64 | amd64) PLATFORM=linux-x64 ;;
  aarch64 | arm64) PLATFORM=linux-arm64 ;;
  *) echo "unsupported architecture $(uname -m): claude-pod images are linux-x64 or linux-arm64" >&2; exit 1 ;;
esac

one() { # the single tarball in $PKGS whose name starts with $1
  set -- "$PKGS"/"$1"*.tgz
  [ "$#" -eq 1 ] && [ -f "$1" ] || { echo "expected exactly one $1*.tgz in $PKGS" >&2; exit 1; }
  echo "$1"
}

mkdir -p "$PREFIX"
tar -xzf "$(one "node-$PLATFORM-")" -C "$PREFIX" --strip-components=1 --no-same-owner
# The package carries headers and docs we do not need at run time.
rm -rf "$PREFIX/include" "$PREFIX/share"

mkdir -p "$PREFIX/lib/node_modules/npm"
tar -xzf "$(one npm-)" -C "$PREFIX/lib/node_modules/npm" --strip-components=1 --no-same-owner

CC="$PREFIX/lib/node_modules/@anthropic-ai/claude-code"
NATIVE="$CC/node_modules/@anthropic-ai/claude-code-$PLATFORM"
mkdir -p "$NATIVE"
tar -xzf "$(one anthropic-ai-claude-code-2)" -C "$CC" --strip-components=1 --no-same-owner
tar -xzf "$(one "anthropic-ai-claude-code-$PLATFORM-")" -C "$NATIVE" --strip-components=1 --no-same-owner
# The package's own postinstall: copies the native binary over the bin/claude.exe placeholder.
(cd "$CC" && "$PREFIX/bin/node" install.cjs)
# The platform package is a copy of the same binary; keep one.
rm -rf "$CC/node_modules"

ln -sf "$PREFIX/bin/node" /usr/local/bin/node
ln -sf "$PREFIX/lib/node_modules/npm/bin/npm-cli.js" /usr/local/bin/npm
ln -sf "$PREFIX/lib/node_modules/npm/bin/npx-cli.js" /usr/local/bin/npx
ln -sf "$CC/bin/claude.exe" /usr/local/bin/claude
