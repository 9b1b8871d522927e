#!/bin/sh
# Packs the room's binaries, stripped, with a README for students and the
# docs, into target/dist/unsecured-chat-VERSION-TARGET.tar.gz (make dist;
# PROTOCOL.md section 11). It packs what `cargo build --release --bins`
# left in RELEASE_DIR and builds nothing itself.
#
# usage: dist/make-dist.sh RELEASE_DIR OUT_DIR
set -eu

# The binaries a room needs: the servers (the teacher's, or a student's own
# to try a script against), every client, the attack tools the lesson plays,
# the demo for the projector and the benchmark that sizes the room. Left
# out: chat_flood, a measurement behind docs/PERFORMANCE.md that no step of
# the lab uses.
BINARIES="simple_server ae_server rogue_server
simple_client ae_client aead_client signed_client
simple_bigbrother simple_dos simple_exploit insider_forge
chat_demo chat_bench"

# Left out of the docs: the answers to the lab's questions, which the room
# is asked (the teacher has them in the project).
DOCS_LEFT_OUT="ANSWERS.md"

# The archive must fit where a school hands files out: 40 MiB.
MAX_BYTES=41943040

HERE=$(dirname "$0")
RELEASE=${1:?usage: $0 RELEASE_DIR OUT_DIR}
OUT=${2:?usage: $0 RELEASE_DIR OUT_DIR}

fail() { echo "dist: $*" >&2; exit 1; }

for tool in strip objdump tar gzip rustc; do
	command -v "$tool" >/dev/null 2>&1 || fail "$tool not found (strip and objdump: apt-get install binutils)"
done
for bin in $BINARIES; do
	[ -x "$RELEASE/$bin" ] || fail "$RELEASE/$bin missing: run cargo build --release --bins first"
done

# The version the binaries were built with (Cargo.toml's, compiled in), and
# the platform cargo built them for.
VERSION=$("$RELEASE/simple_server" --version | awk '{ print $2 }')
TARGET=$(rustc -vV | sed -n 's/^host: //p')
[ -n "$VERSION" ] && [ -n "$TARGET" ] || fail "cannot tell the version or the target"
ARCH=${TARGET%%-*}
NAME=unsecured-chat-$VERSION-$TARGET

STAGE=$OUT/$NAME
rm -rf "$STAGE"
mkdir -p "$STAGE/bin" "$STAGE/docs"

for bin in $BINARIES; do
	strip -o "$STAGE/bin/$bin" "$RELEASE/$bin"
done

# The newest glibc symbol version any binary references: the oldest glibc
# that runs them all (objdump -T lists each dynamic symbol's version).
GLIBC=$(for bin in $BINARIES; do objdump -T "$STAGE/bin/$bin"; done \
	| grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/^GLIBC_//' | sort -uV | tail -n 1)
[ -n "$GLIBC" ] || fail "no GLIBC symbol version found in the binaries"

for doc in "$HERE"/../docs/*.md; do
	case " $DOCS_LEFT_OUT " in *" $(basename "$doc") "*) continue ;; esac
	cp "$doc" "$STAGE/docs/"
done
cp -R "$HERE/../docs/screenshots" "$STAGE/docs/"
# The room, measured on the teacher's own machine (docs/CLASSROOM.md).
cp "$HERE/room.sh" "$STAGE/"

sed -e "s/@VERSION@/$VERSION/g" -e "s/@ARCH@/$ARCH/g" -e "s/@GLIBC@/$GLIBC/g" \
	-e "s/@NAME@/$NAME/g" "$HERE/STUDENT-README.md.in" >"$STAGE/README.md"

ARCHIVE=$OUT/$NAME.tar.gz
# Sorted, owned by root: the archive carries no name of the account that
# made it. gzip at its default level: -9 took 11 s here against 3 s, for
# an archive 0.5% smaller.
tar -C "$OUT" --sort=name --owner=0 --group=0 --numeric-owner -cf - "$NAME" | gzip -n >"$ARCHIVE"
rm -rf "$STAGE"

BYTES=$(wc -c <"$ARCHIVE")
[ "$BYTES" -le "$MAX_BYTES" ] || fail "$ARCHIVE is $BYTES bytes, over the $MAX_BYTES allowed"
echo "dist: $ARCHIVE ($BYTES bytes; Linux $ARCH, glibc $GLIBC or later)" >&2
echo "$ARCHIVE"
