#!/usr/bin/env bash
# Builds the Domus workloads image: real programs cross-built statically for riscv64 from
# Debian source packages (sqlite3 + speedtest1, lua5.4, stress-ng, fio, iperf3, dropbear),
# our helper domus-wl, Lua scripts and the in-guest runner, on a read-only ext4 disk image.
# Only Debian's own source is built: a package whose source files the archive does not serve
# is skipped, and the suite reports its workloads as not built.
#
#   guests/workloads/build.sh                    build the programs, then the image
#   guests/workloads/build.sh --update-prebuilt  ... and refresh guests/workloads/prebuilt/
#   guests/workloads/build.sh --prebuilt         no compiling: the image from the committed
#                                                programs in prebuilt/ (needs only mke2fs)
#   guests/workloads/build.sh --out DIR          build somewhere else (default guests/workloads/out)
#   guests/workloads/build.sh --upstream DIR     Debian's exact source files that the archive does
#                                                not serve, from another mirror (each must have the
#                                                SHA-256 its .dsc gives; none by default)
#   guests/workloads/build.sh --no-deps          do not touch apt (the packages must be there)
#   guests/workloads/build.sh --clean            rebuild every program (after changing this recipe)
#                                                and ask the archive again for skipped sources
#
# Runs on Debian 12 as root (for apt). Source packages come through a private deb-src apt
# configuration under OUT/apt (the system's apt sources are not changed). A program is built
# only when it is missing (--clean rebuilds them all); the image is always reassembled
# (a second). The result is OUT/workloads.img; see docs/workloads.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out="$here/out"
upstream=
update_prebuilt=0
from_prebuilt=0
install_deps=1
clean=0
while [ $# -gt 0 ]; do
	case $1 in
	--update-prebuilt) update_prebuilt=1 ;;
	--prebuilt) from_prebuilt=1 ;;
	--no-deps) install_deps=0 ;;
	--clean) clean=1 ;;
	--out | --upstream)
		[ $# -ge 2 ] || { echo "build.sh: $1 needs a directory" >&2; exit 2; }
		if [ "$1" = --out ]; then out=$2; else upstream=$2; fi
		shift
		;;
	-h | --help)
		sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "build.sh: unknown option $1 (see guests/workloads/build.sh --help)" >&2
		exit 2
		;;
	esac
	shift
done
[ $from_prebuilt = 0 ] || [ $update_prebuilt = 0 ] ||
	{ echo "build.sh: --prebuilt and --update-prebuilt exclude each other" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ -n "$upstream" ]; then
	[ -d "$upstream" ] || { echo "build.sh: --upstream $upstream is not a directory" >&2; exit 2; }
	upstream=$(cd "$upstream" && pwd)
fi
jobs=$(nproc)
cross=riscv64-linux-gnu-
CC=${cross}gcc
prebuilt="$here/prebuilt"

# Reproducible builds: fixed time stamps, no build paths in the binaries.
export SOURCE_DATE_EPOCH=1700000000
export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH
export LC_ALL=C TZ=UTC
prefix_map="-ffile-prefix-map=$out=/domus-wl"

began=$(date +%s)
step() { printf '\n==> [%4ss] %s\n' "$(($(date +%s) - began))" "$*"; }
note() { printf '    %s\n' "$*"; }
die() { echo "build.sh: $*" >&2; exit 1; }
# shellcheck source=guests/lib.sh
. "$here/../lib.sh"

# run_logged NAME CMD...: runs CMD with its output in OUT/logs/NAME.log; on failure shows the tail.
run_logged() {
	local log="$out/logs/$1.log"
	shift
	mkdir -p "$out/logs"
	if ! "$@" >>"$log" 2>&1; then
		tail -n 30 "$log" >&2
		die "step failed: $* (full log: $log)"
	fi
}

# up_to_date OUT: OUT was built before (--clean removes them all).
up_to_date() { [ -e "$1" ]; }

# --- 1. Debian packages ---------------------------------------------------------------------
if [ $from_prebuilt = 1 ]; then
	packages=(e2fsprogs xz-utils)
else
	packages=(gcc-riscv64-linux-gnu libc6-dev-riscv64-cross build-essential dpkg-dev tcl
		xz-utils bzip2 e2fsprogs)
fi
ensure_packages "$install_deps" "${packages[@]}"

bin="$out/bin"
if [ $clean = 1 ]; then
	step "--clean: removing $bin and $out/build"
	rm -rf "$bin" "$out/build"
	rm -f "$out"/src/.unserved-*
fi
mkdir -p "$bin" "$out/src" "$out/build" "$out/logs"

if [ $from_prebuilt = 0 ]; then
	# --- 2. source packages -------------------------------------------------------------------
	apt_dir="$out/apt"
	aptopts=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts="$apt_dir/parts"
		-o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" -o APT::Sandbox::User=root)
	apt_ready=0
	apt_setup() {
		[ $apt_ready = 0 ] || return 0
		mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts"
		# Same archive as the system's `deb` entries; bookworm main.
		local uri
		uri=$(grep -hsE '^\s*URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n 1 || true)
		[ -n "$uri" ] || uri=$(grep -hsE '^\s*deb\s' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n 1 || true)
		[ -n "$uri" ] || uri=http://deb.debian.org/debian
		echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri bookworm main" >"$apt_dir/sources.list"
		step "updating the private deb-src index ($apt_dir)"
		apt-get "${aptopts[@]}" update -q >/dev/null
		apt_ready=1
	}

	# The files a .dsc names, one "sha256 name" per line.
	dsc_files() { awk '/^Checksums-Sha256:/ { on = 1; next } /^[^ ]/ { on = 0 } on { print $1, $3 }' "$1"; }

	# unserved PKG WHY: PKG cannot be built here; says so once, and remembers why (in
	# OUT/src/.unserved-PKG, for VERSIONS and for later runs, which do not ask the archive again
	# until --clean or --upstream).
	unserved() {
		mkdir -p "$out/src"
		echo "$2" >"$out/src/.unserved-$1"
		note "$1: $2; skipped (pass --upstream DIR holding Debian's exact source files to build it)"
	}

	# fetch_source PKG: unpacks PKG's Debian source under OUT/src and sets src to its directory.
	# Only Debian's own bytes are built. A file the .dsc names that the archive does not serve
	# is taken from the --upstream directory when its SHA-256 is the one the .dsc gives (the
	# same file from another mirror), and from nowhere else; failing that, src is empty and
	# the caller skips PKG.
	fetch_source() {
		local pkg=$1 dsc dir
		src=
		if [ -f "$out/src/.unserved-$pkg" ] && [ -z "$upstream" ]; then
			note "$pkg: $(cat "$out/src/.unserved-$pkg") (found earlier; --clean asks again); skipped"
			return 0
		fi
		rm -f "$out/src/.unserved-$pkg"
		dsc=$(ls "$out/src/${pkg}"_*.dsc 2>/dev/null | head -n 1 || true)
		dir=$(cat "$out/src/.dir-$pkg" 2>/dev/null || true)
		if [ -n "$dsc" ] && [ -n "$dir" ] && [ -d "$out/src/$dir" ] &&
			grep -q "^$pkg (source) " "$out/src/.version-$pkg" 2>/dev/null; then
			src="$out/src/$dir"
			return 0
		fi
		apt_setup
		(cd "$out/src" && apt-get "${aptopts[@]}" source --download-only -q "$pkg" >>"$out/logs/apt-source.log" 2>&1) || true
		dsc=$(ls "$out/src/${pkg}"_*.dsc 2>/dev/null | head -n 1 || true)
		if [ -z "$dsc" ]; then
			unserved "$pkg" "Debian's archive here has no source package $pkg"
			return 0
		fi
		local sum name missing=()
		while read -r sum name; do
			[ -f "$out/src/$name" ] && continue
			if [ -n "$upstream" ] && [ -f "$upstream/$name" ]; then
				if [ "$(sha256sum <"$upstream/$name" | cut -d' ' -f1)" = "$sum" ]; then
					note "$name: the archive did not serve it; using $upstream/$name (the SHA-256 $(basename "$dsc") gives)"
					cp "$upstream/$name" "$out/src/$name"
					continue
				fi
				note "$upstream/$name is not Debian's file (its SHA-256 is not the one $(basename "$dsc") gives): not used"
			fi
			missing+=("$name")
		done < <(dsc_files "$dsc")
		if [ ${#missing[@]} -gt 0 ]; then
			local list
			list=$(printf '%s, ' "${missing[@]}")
			unserved "$pkg" "Debian's archive does not serve ${list%, }"
			return 0
		fi
		local ver=${dsc##*/}
		ver=${ver#"${pkg}"_}
		ver=${ver%.dsc}
		local upver=${ver%-*}
		upver=${upver#*:}
		rm -rf "$out/src/$pkg-$upver"
		(cd "$out/src" && dpkg-source -x "$(basename "$dsc")" "$pkg-$upver" >>"$out/logs/apt-source.log" 2>&1) ||
			die "dpkg-source -x $(basename "$dsc") failed (see $out/logs/apt-source.log)"
		echo "$pkg (source) $ver" >"$out/src/.version-$pkg"
		echo "$pkg-$upver" >"$out/src/.dir-$pkg"
		src="$out/src/$pkg-$upver"
	}

	skipped=()

	# --- 3. the programs ------------------------------------------------------------------------
	step "domus-wl (our helper)"
	if ! up_to_date "$bin/domus-wl" || [ "$here/domus-wl.c" -nt "$bin/domus-wl" ]; then
		$CC -static -O2 -Wall -Wextra -s -o "$bin/domus-wl" "$here/domus-wl.c"
	fi

	step "sqlite3 shell and speedtest1"
	if up_to_date "$bin/sqlite3" && up_to_date "$bin/speedtest1"; then
		note "up to date"
	else
		fetch_source sqlite3
		if [ -z "$src" ]; then
			skipped+=(sqlite3)
		else
			b="$out/build/sqlite3"
			rm -rf "$b"
			mkdir -p "$b"
			note "generating the amalgamation (host tools, tclsh)"
			(cd "$b" && run_logged sqlite3 "$src/configure" --disable-tcl --disable-readline --disable-editline)
			run_logged sqlite3 make -C "$b" sqlite3.c shell.c
			# One thread, no extension loading (dlopen does not work in a static binary).
			flags=(-O2 "$prefix_map" -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION -I"$b")
			note "compiling sqlite3.c for riscv64 (about 30 s)"
			run_logged sqlite3 "$CC" "${flags[@]}" -c "$b/sqlite3.c" -o "$b/sqlite3.o"
			run_logged sqlite3 "$CC" "${flags[@]}" -c "$b/shell.c" -o "$b/shell.o"
			run_logged sqlite3 "$CC" "${flags[@]}" -c "$src/test/speedtest1.c" -o "$b/speedtest1.o"
			run_logged sqlite3 "$CC" -static -s -o "$bin/sqlite3" "$b/shell.o" "$b/sqlite3.o" -lm
			run_logged sqlite3 "$CC" -static -s -o "$bin/speedtest1" "$b/speedtest1.o" "$b/sqlite3.o" -lm
		fi
	fi

	step "lua5.4"
	if up_to_date "$bin/lua"; then
		note "up to date"
	else
		fetch_source lua5.4
		if [ -z "$src" ]; then
			skipped+=(lua5.4)
		else
			b="$out/build/lua5.4"
			rm -rf "$b"
			mkdir -p "$b"
			# Debian's luaconf.h patch includes this header, which debian/rules generates.
			echo '#define DEB_HOST_MULTIARCH "riscv64-linux-gnu"' >"$b/lua5.4-deb-multiarch.h"
			mapfile -t files < <(ls "$src"/src/*.c | grep -v '/luac\.c$')
			run_logged lua5.4 "$CC" -static -s -O2 "$prefix_map" -std=gnu99 -DLUA_COMPAT_5_3 -DLUA_USE_POSIX \
				-I"$b" -o "$bin/lua" "${files[@]}" -lm
		fi
	fi

	step "stress-ng"
	if up_to_date "$bin/stress-ng"; then
		note "up to date"
	else
		fetch_source stress-ng
		if [ -z "$src" ]; then
			skipped+=(stress-ng)
		else
			# stress-ng configures and builds in its source tree: work on a copy.
			b="$out/build/stress-ng"
			rm -rf "$b"
			cp -a "$src" "$b"
			note "probing the cross toolchain and compiling ~340 files (about 1.5 min on 2 cores)"
			CFLAGS="-O2 $prefix_map" run_logged stress-ng make -C "$b" -j"$jobs" CC="$CC" STATIC=1
			"${cross}strip" -o "$bin/stress-ng" "$b/stress-ng"
		fi
	fi

	step "fio"
	if up_to_date "$bin/fio"; then
		note "up to date"
	else
		fetch_source fio
		if [ -z "$src" ]; then
			skipped+=(fio)
		else
			b="$out/build/fio"
			rm -rf "$b"
			cp -a "$src" "$b"
			# Everything that would need a library we do not build is off; psync is the engine.
			(cd "$b" && CFLAGS="$prefix_map" run_logged fio ./configure --cc="$CC" --build-static --disable-native \
				--disable-numa --disable-rdma --disable-rados --disable-rbd --disable-http --disable-gfapi \
				--disable-libnfs --disable-lex --disable-pmem --disable-xnvme --disable-libzbc \
				--disable-tcmalloc --disable-dfs --disable-shm)
			run_logged fio make -C "$b" -j"$jobs" fio
			"${cross}strip" -o "$bin/fio" "$b/fio"
		fi
	fi

	step "iperf3"
	if up_to_date "$bin/iperf3"; then
		note "up to date"
	else
		fetch_source iperf3
		if [ -z "$src" ]; then
			skipped+=(iperf3)
		else
			b="$out/build/iperf3"
			rm -rf "$b"
			mkdir -p "$b"
			(cd "$b" && CFLAGS="-O2 $prefix_map" run_logged iperf3 "$src/configure" --host=riscv64-linux-gnu \
				--enable-static-bin --disable-shared --without-openssl --without-sctp)
			run_logged iperf3 make -C "$b" -j"$jobs"
			"${cross}strip" -o "$bin/iperf3" "$b/src/iperf3"
		fi
	fi

	step "dropbear"
	if up_to_date "$bin/dropbearmulti"; then
		note "up to date"
	else
		fetch_source dropbear
		if [ -z "$src" ]; then
			skipped+=(dropbear)
		else
			b="$out/build/dropbear"
			rm -rf "$b"
			mkdir -p "$b"
			# Public-key logins only: password logins need crypt(), which the cross libc lacks.
			printf '#define DROPBEAR_SVR_PASSWORD_AUTH 0\n#define DROPBEAR_CLI_PASSWORD_AUTH 0\n' >"$b/localoptions.h"
			(cd "$b" && CFLAGS="-Os $prefix_map" run_logged dropbear "$src/configure" --host=riscv64-linux-gnu \
				--enable-static --disable-zlib --disable-pam --disable-syslog --disable-lastlog \
				--disable-utmp --disable-utmpx --disable-wtmp --disable-wtmpx --disable-loginfunc \
				--disable-pututline --disable-pututxline)
			run_logged dropbear make -C "$b" -j"$jobs" PROGRAMS="dropbear dbclient dropbearkey" MULTI=1 STATIC=1
			"${cross}strip" -o "$bin/dropbearmulti" "$b/dropbearmulti"
		fi
	fi

	# --- 4. what went in ------------------------------------------------------------------------
	{
		echo "# Debian packages and sources the workloads programs were built from"
		for p in gcc-riscv64-linux-gnu gcc-12-riscv64-linux-gnu binutils-riscv64-linux-gnu libc6-dev-riscv64-cross; do
			dpkg-query -W -f='${Package} ${Version}\n' "$p" 2>/dev/null || true
		done
		for p in sqlite3 lua5.4 stress-ng fio iperf3 dropbear; do
			if [ -f "$out/src/.unserved-$p" ]; then
				echo "$p: not built: $(cat "$out/src/.unserved-$p")"
			else
				cat "$out/src/.version-$p" 2>/dev/null || echo "$p: version not recorded (--clean rebuilds it)"
			fi
		done
	} >"$out/VERSIONS"
	programs="$bin"
	versions="$out/VERSIONS"
	if [ ${#skipped[@]} -gt 0 ]; then
		step "not built, for want of Debian's source (see above): ${skipped[*]}; the suite reports their workloads as not built"
	fi
else
	# --- 2'. the committed programs -------------------------------------------------------------
	step "unpacking the committed programs ($prebuilt/programs.tar.xz)"
	(cd "$prebuilt" && sha256sum --quiet -c SHA256SUMS) ||
		die "$prebuilt does not match its SHA256SUMS; restore it from git or rebuild with --update-prebuilt"
	programs="$out/prebuilt-bin"
	rm -rf "$programs"
	mkdir -p "$programs"
	tar -C "$programs" -xJf "$prebuilt/programs.tar.xz"
	versions="$prebuilt/VERSIONS"
fi

# --- 5. the image -------------------------------------------------------------------------------
step "assembling the ext4 image"
stage="$out/image"
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/lua"
for p in "$programs"/*; do install -m 755 "$p" "$stage/bin/"; done
if [ -e "$stage/bin/dropbearmulti" ]; then
	for l in dropbear dbclient dropbearkey; do ln -s dropbearmulti "$stage/bin/$l"; done
fi
install -m 755 "$here/run" "$stage/run"
install -m 644 "$here"/lua/*.lua "$stage/lua/"
install -m 644 "$versions" "$stage/VERSIONS"
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
# Room for the files plus a little; ext4 without a journal, as it is mounted read-only.
kib=$(du -sk --apparent-size "$stage" | cut -f1)
size_mib=$(((kib * 5 / 4) / 1024 + 8))
img="$out/workloads.img"
rm -f "$img"
mke2fs -q -F -t ext4 -O ^has_journal -b 4096 -m 0 -N 128 -L domus-wl \
	-U 6d6f6475-732d-776c-0000-000000000001 -E root_owner=0:0,hash_seed=6d6f6475-732d-776c-0000-000000000002 \
	-d "$stage" "$img" "${size_mib}M" >/dev/null
note "$img: ${size_mib} MiB, $(ls "$stage/bin" | wc -l) programs"

if [ $update_prebuilt = 1 ]; then
	step "updating $prebuilt"
	mkdir -p "$prebuilt"
	tar -C "$programs" --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
		-cf - . | xz -9e -T1 >"$prebuilt/programs.tar.xz"
	cp "$versions" "$prebuilt/VERSIONS"
	(cd "$prebuilt" && sha256sum programs.tar.xz VERSIONS >SHA256SUMS)
	ls -l "$prebuilt"
fi
step "done in $(($(date +%s) - began)) s"
