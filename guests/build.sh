#!/usr/bin/env bash
# Builds the Domus default guest from Debian sources: a Linux 6.1 riscv64 Image, a static
# busybox, a static mke2fs (e2fsprogs, for ext4), the domus-bench program and an initramfs with
# our /init.
#
#   guests/build.sh                    build into guests/out/ (installs Debian packages if root)
#   guests/build.sh --update-prebuilt  ... then copy the results into guests/prebuilt/
#                                      and rewrite guests/prebuilt/SHA256SUMS
#   guests/build.sh --out DIR          build somewhere else
#   guests/build.sh --no-deps          do not touch apt (the packages must be there already)
#   guests/build.sh --kernel 6.12      build the second kernel instead, Linux 6.12 (SBI STA steal
#                                      time), into OUT/linux-6.12/; with --update-prebuilt into
#                                      guests/prebuilt/linux-6.12/ (it uses the default initramfs)
#
# Runs on Debian 12. Everything it needs comes from Debian's archive: the cross compiler, the
# kernel source (linux-source-6.1), and busybox's and e2fsprogs' *source* packages, fetched
# through a private deb-src apt configuration under the build directory (the system's apt
# sources are not changed).
# Every step is skipped when its output is newer than its inputs, so a rerun is cheap.
# Linux 6.12 comes from bookworm-backports' linux-source-6.12 .deb, fetched the same private way
# and unpacked under the build directory (not installed).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out="$here/out"
update_prebuilt=0
install_deps=1
kernel=6.1
while [ $# -gt 0 ]; do
	case $1 in
	--update-prebuilt) update_prebuilt=1 ;;
	--no-deps) install_deps=0 ;;
	--kernel)
		[ $# -ge 2 ] || { echo "build.sh: --kernel needs a version, 6.1 or 6.12" >&2; exit 2; }
		case $2 in
		6.1 | 6.12) kernel=$2 ;;
		*) echo "build.sh: --kernel $2 is not a kernel this script builds; use 6.1 (the default) or 6.12" >&2; exit 2 ;;
		esac
		shift
		;;
	--out)
		[ $# -ge 2 ] || { echo "build.sh: --out needs a directory" >&2; exit 2; }
		out=$2
		shift
		;;
	-h | --help)
		sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "build.sh: unknown option $1 (see guests/build.sh --help)" >&2
		exit 2
		;;
	esac
	shift
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
jobs=$(nproc)
cross=riscv64-linux-gnu-

# Reproducible builds: fixed time stamps and build identity (see docs/guest.md).
export SOURCE_DATE_EPOCH=1700000000
export KBUILD_BUILD_TIMESTAMP="2023-11-14 22:13:20 UTC"
export KBUILD_BUILD_USER=domus
export KBUILD_BUILD_HOST=domus
export KBUILD_BUILD_VERSION=1
export LC_ALL=C TZ=UTC

step() { printf '\n==> %s\n' "$*"; }
die() { echo "build.sh: $*" >&2; exit 1; }
# shellcheck source=guests/lib.sh
. "$here/lib.sh"

# --- 1. Debian packages ---------------------------------------------------------------------
packages=(gcc-riscv64-linux-gnu libc6-dev-riscv64-cross linux-source-6.1 build-essential
	flex bison bc cpio xz-utils gzip dpkg-dev)
# 6.12 needs no linux-source-6.1, but the keyring its private apt configuration names.
[ "$kernel" = 6.1 ] || packages=("${packages[@]/linux-source-6.1/debian-archive-keyring}")
ensure_packages "$install_deps" "${packages[@]}"

# --- Linux 6.12 (--kernel 6.12): the second kernel, for SBI STA steal time ---------------------
# Same recipe as the default kernel (tinyconfig + domus.config, then domus-6.12.config on top);
# the source is the linux-source-6.12 .deb from bookworm-backports, downloaded with a private apt
# configuration in OUT/apt-backports/ and unpacked with dpkg-deb, not installed. Busybox and the
# initramfs are not rebuilt: the kernel boots guests/prebuilt/initramfs.cpio.gz.
if [ "$kernel" = 6.12 ]; then
	ksrc="$out/src/linux-source-6.12"
	kdir="$out/linux-6.12"
	kobj="$kdir/obj"
	deb_dir="$out/src/linux-source-6.12-deb"
	if [ ! -f "$ksrc/Makefile" ]; then
		apt_dir="$out/apt-backports"
		step "fetching linux-source-6.12 from bookworm-backports (private apt config in $apt_dir)"
		mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts" "$deb_dir"
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main" >"$apt_dir/sources.list"
		aptopts=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts="$apt_dir/parts"
			-o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" -o APT::Sandbox::User=root)
		apt-get "${aptopts[@]}" update -q
		rm -f "$deb_dir"/linux-source-6.12_*.deb
		(cd "$deb_dir" && apt-get "${aptopts[@]}" download linux-source-6.12)
		step "unpacking linux-source-6.12"
		rm -rf "$deb_dir/root"
		dpkg-deb -x "$deb_dir"/linux-source-6.12_*.deb "$deb_dir/root"
		tar -C "$out/src" -xf "$deb_dir/root/usr/src/linux-source-6.12.tar.xz"
		rm -rf "$deb_dir/root"
	fi
	kmake() { make -C "$ksrc" O="$kobj" ARCH=riscv CROSS_COMPILE=$cross -j"$jobs" "$@"; }
	fragments=("$here/linux/domus.config" "$here/linux/domus-6.12.config")
	if [ ! -f "$kobj/.config" ] || [ "${fragments[0]}" -nt "$kobj/.config" ] || [ "${fragments[1]}" -nt "$kobj/.config" ]; then
		step "configuring Linux 6.12: tinyconfig + guests/linux/domus.config + guests/linux/domus-6.12.config"
		mkdir -p "$kobj"
		kmake -s tinyconfig
		(cd "$ksrc" && ARCH=riscv CROSS_COMPILE=$cross scripts/kconfig/merge_config.sh -m -O "$kobj" "$kobj/.config" "${fragments[@]}" >/dev/null)
		kmake -s olddefconfig
		# Every option the fragments ask for must have stuck, and every "is not set" must be off;
		# a later fragment's line for an option replaces an earlier one, as in merge_config.sh.
		bad=0
		while IFS= read -r line; do
			case $line in
			-*) ! grep -q "^${line#-}=" "$kobj/.config" || { echo "  still set: ${line#-}" >&2; bad=1; } ;;
			*) grep -qxF "$line" "$kobj/.config" || { echo "  not set: $line" >&2; bad=1; } ;;
			esac
		done < <(cat "${fragments[@]}" | sed -n -e 's/^\(CONFIG_[A-Za-z0-9_]*\)=.*/\1 &/p' \
			-e 's/^# \(CONFIG_[A-Za-z0-9_]*\) is not set$/\1 -\1/p' |
			awk '{ c = $1; sub(/^[^ ]* /, ""); want[c] = $0 } END { for (c in want) print want[c] }' | LC_ALL=C sort)
		[ $bad = 0 ] || die "the kernel config fragments did not apply cleanly (options above)"
	fi
	if [ ! -f "$kobj/arch/riscv/boot/Image" ] || [ "$kobj/.config" -nt "$kobj/arch/riscv/boot/Image" ]; then
		step "building Linux 6.12 Image (a few minutes)"
		start=$(date +%s)
		kmake Image
		echo "Linux 6.12 Image built in $(($(date +%s) - start)) s"
	fi
	gzip -9 -n -c "$kobj/arch/riscv/boot/Image" >"$kdir/Image.gz"
	cp "$kobj/.config" "$kdir/linux.config"
	deb=$(ls "$deb_dir"/linux-source-6.12_*.deb 2>/dev/null | head -n 1 || true)
	{
		echo "# Debian packages and sources the Linux 6.12 guest kernel was built from"
		for p in gcc-riscv64-linux-gnu gcc-12-riscv64-linux-gnu binutils-riscv64-linux-gnu; do
			dpkg-query -W -f='${Package} ${Version}\n' "$p" 2>/dev/null || true
		done
		[ -z "$deb" ] || echo "$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)"
		echo "linux $(make -s -C "$ksrc" kernelversion)"
		echo "initramfs ../initramfs.cpio.gz (the default guest's, not rebuilt)"
	} >"$kdir/VERSIONS"

	step "done"
	ls -l "$kdir/Image.gz"
	echo "Linux 6.12 Image: $(stat -c %s "$kobj/arch/riscv/boot/Image") bytes"

	if [ $update_prebuilt = 1 ]; then
		step "updating guests/prebuilt/linux-6.12/"
		pre="$here/prebuilt/linux-6.12"
		mkdir -p "$pre"
		cp "$kdir/Image.gz" "$kdir/linux.config" "$kdir/VERSIONS" "$pre/"
		(cd "$pre" && sha256sum Image.gz linux.config VERSIONS >SHA256SUMS)
		cat "$pre/SHA256SUMS"
	fi
	exit 0
fi

# --- 2. Linux -------------------------------------------------------------------------------
ksrc="$out/src/linux-source-6.1"
kobj="$out/linux"
if [ ! -f "$ksrc/Makefile" ]; then
	step "unpacking /usr/src/linux-source-6.1.tar.xz"
	mkdir -p "$out/src"
	tar -C "$out/src" -xf /usr/src/linux-source-6.1.tar.xz
fi
kmake() { make -C "$ksrc" O="$kobj" ARCH=riscv CROSS_COMPILE=$cross -j"$jobs" "$@"; }
fragment="$here/linux/domus.config"
if [ ! -f "$kobj/.config" ] || [ "$fragment" -nt "$kobj/.config" ]; then
	step "configuring Linux: tinyconfig + guests/linux/domus.config"
	mkdir -p "$kobj"
	kmake -s tinyconfig
	(cd "$ksrc" && ARCH=riscv CROSS_COMPILE=$cross scripts/kconfig/merge_config.sh -m -O "$kobj" "$kobj/.config" "$fragment" >/dev/null)
	kmake -s olddefconfig
	# Every option the fragment asks for must have stuck (a dependency may silently drop one).
	bad=0
	while IFS= read -r line; do
		case $line in CONFIG_*=*) ;; *) continue ;; esac
		grep -qxF "$line" "$kobj/.config" || { echo "  not set: $line" >&2; bad=1; }
	done <"$fragment"
	[ $bad = 0 ] || die "the kernel config fragment did not apply cleanly (options above)"
fi
if [ ! -f "$kobj/arch/riscv/boot/Image" ] || [ "$kobj/.config" -nt "$kobj/arch/riscv/boot/Image" ]; then
	step "building Linux Image (a few minutes)"
	start=$(date +%s)
	kmake Image
	echo "Linux Image built in $(($(date +%s) - start)) s"
fi

# --- 3. busybox from Debian's source package ------------------------------------------------
# deb_source PKG: unpacks Debian's source package PKG (bookworm main) into OUT/src/PKG-VERSION/,
# fetched through a private deb-src apt configuration in OUT/apt, and sets src_dir to that
# directory. A source unpacked before is reused. (Not run in $(…): errexit must stay on.)
apt_dir="$out/apt"
deb_source() {
	local pkg=$1
	src_dir=$(ls -d "$out/src/$pkg"-[0-9]*/ 2>/dev/null | head -n 1 || true)
	if [ -z "$src_dir" ]; then
		step "fetching $pkg's Debian source package (private deb-src config in $apt_dir)"
		mkdir -p "$out/src" "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts"
		# Same archive as the system's `deb` entries; bookworm main.
		local uri
		uri=$(grep -hsE '^\s*URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security | head -n 1 || true)
		[ -n "$uri" ] || uri=$(grep -hsE '^\s*deb\s' /etc/apt/sources.list | awk '{print $2}' | grep -v security | head -n 1 || true)
		[ -n "$uri" ] || uri=http://deb.debian.org/debian
		echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri bookworm main" >"$apt_dir/sources.list"
		local aptopts=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts="$apt_dir/parts"
			-o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" -o APT::Sandbox::User=root)
		apt-get "${aptopts[@]}" update -q
		(cd "$out/src" && apt-get "${aptopts[@]}" source --download-only "$pkg")
		(cd "$out/src" && dpkg-source -x "$pkg"_*.dsc)
		src_dir=$(ls -d "$out/src/$pkg"-[0-9]*/ 2>/dev/null | head -n 1 || true)
		[ -n "$src_dir" ] || die "dpkg-source unpacked no $pkg-VERSION directory under $out/src"
	fi
	src_dir=${src_dir%/}
}
# deb_source_version PKG: the Debian version of the source package deb_source unpacked.
deb_source_version() {
	(cd "$out/src" && ls "$1"_*.dsc | head -n 1 | sed -e "s/^$1_//" -e 's/\.dsc$//')
}
deb_source busybox
bb_dir=$src_dir
bbobj="$out/busybox"
if [ ! -x "$bbobj/busybox" ]; then
	step "building static busybox from $(basename "$bb_dir")"
	mkdir -p "$bbobj"
	bbmake() { make -C "$bb_dir" O="$bbobj" ARCH=riscv CROSS_COMPILE=$cross -j"$jobs" "$@"; }
	bbmake -s defconfig
	# Static; tc does not build against current kernel headers; no hardware we lack.
	sed -i -e 's/^# CONFIG_STATIC is not set/CONFIG_STATIC=y/' \
		-e 's/^CONFIG_TC=y/# CONFIG_TC is not set/' \
		-e 's/^CONFIG_FEATURE_TC_INGRESS=y/# CONFIG_FEATURE_TC_INGRESS is not set/' \
		"$bbobj/.config"
	(yes '' || true) | bbmake -s oldconfig >/dev/null
	bbmake -s busybox
	"${cross}strip" "$bbobj/busybox"
fi

# --- 4. mke2fs from e2fsprogs' Debian source package ------------------------------------------
# Busybox's mke2fs makes only ext2; the guest gets e2fsprogs' own, as /sbin/mke2fs and
# /sbin/mkfs.ext4. Built out of tree: only the libraries mke2fs links (com_err, e2p, the private
# uuid and blkid, ext2fs, support), then misc/mke2fs. Without /etc/mke2fs.conf in the guest it
# uses the defaults compiled in from Debian's misc/mke2fs.conf.in. The source path is mapped away
# (assert messages carry __FILE__) so that the binary does not depend on where it was built.
deb_source e2fsprogs
e2_dir=$src_dir
e2obj="$out/e2fsprogs"
if [ ! -x "$e2obj/mke2fs" ]; then
	step "building static mke2fs from $(basename "$e2_dir")"
	rm -rf "$e2obj"
	mkdir -p "$e2obj"
	(cd "$e2obj" && "$e2_dir/configure" --host=riscv64-linux-gnu \
		CFLAGS="-O2 -ffile-prefix-map=$e2_dir=e2fsprogs -ffile-prefix-map=$e2obj=e2fsprogs-build" LDFLAGS=-static \
		--disable-nls --disable-elf-shlibs --disable-bsd-shlibs --enable-libuuid --enable-libblkid \
		--disable-fuse2fs --disable-uuidd --disable-debugfs --disable-imager --disable-resizer \
		--disable-defrag --disable-e2initrd-helper --disable-fsck --disable-tls >configure.log 2>&1) ||
		die "e2fsprogs' configure failed (see $e2obj/configure.log)"
	make -C "$e2obj" -s subs
	for d in et e2p uuid blkid ext2fs support; do make -C "$e2obj/lib/$d" -s -j"$jobs"; done
	make -C "$e2obj/misc" -s -j"$jobs" mke2fs
	"${cross}strip" -o "$e2obj/mke2fs" "$e2obj/misc/mke2fs"
fi

# --- 5. domus-bench ---------------------------------------------------------------------------
bench="$out/domus-bench"
if [ ! -x "$bench" ] || [ "$here/bench/domus-bench.c" -nt "$bench" ]; then
	step "building domus-bench"
	"${cross}gcc" -static -O2 -fno-math-errno -s -o "$bench" "$here/bench/domus-bench.c"
fi

# --- 6. initramfs -----------------------------------------------------------------------------
step "assembling the initramfs"
gen="$out/gen_init_cpio"
[ -x "$gen" ] || gcc -O2 -o "$gen" "$ksrc/usr/gen_init_cpio.c"
stage="$out/rootfs"
rm -rf "$stage"
mkdir -p "$stage"
make -C "$bb_dir" O="$bbobj" ARCH=riscv CROSS_COMPILE=$cross CONFIG_PREFIX="$stage" -s install >/dev/null
install -D -m 755 "$bench" "$stage/usr/bin/domus-bench"
# e2fsprogs' mke2fs takes busybox's place (it picks ext4 when called as mkfs.ext4).
rm -f "$stage/sbin/mke2fs" "$stage/sbin/mkfs.ext4"
install -m 755 "$e2obj/mke2fs" "$stage/sbin/mke2fs"
ln -s mke2fs "$stage/sbin/mkfs.ext4"
install -m 755 "$here/rootfs/init" "$stage/init"
mkdir -p "$stage/etc"
for f in "$here"/rootfs/etc/*; do install -m 644 "$f" "$stage/etc/"; done
# gen_init_cpio -t fixes the time of directories, links and nodes; files keep their own mtime.
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
list="$out/initramfs.list"
{
	for d in dev proc sys tmp root run mnt var var/log; do echo "dir /$d 755 0 0"; done
	echo "nod /dev/console 600 0 0 c 5 1"
	echo "nod /dev/null 666 0 0 c 1 3"
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort) | while IFS= read -r p; do
		p=${p#.}
		src="$stage$p"
		if [ -L "$src" ]; then
			echo "slink $p $(readlink "$src") 777 0 0"
		elif [ -d "$src" ]; then
			echo "dir $p 755 0 0"
		else
			echo "file $p $src $(stat -c %a "$src") 0 0"
		fi
	done
} | awk '!seen[$1" "$2]++' >"$list"
"$gen" -t "$SOURCE_DATE_EPOCH" "$list" >"$out/initramfs.cpio"
gzip -9 -n -c "$out/initramfs.cpio" >"$out/initramfs.cpio.gz"
gzip -9 -n -c "$kobj/arch/riscv/boot/Image" >"$out/Image.gz"
cp "$kobj/.config" "$out/linux.config"

# --- 7. what went in ---------------------------------------------------------------------------
{
	echo "# Debian packages and sources the default guest was built from"
	for p in gcc-riscv64-linux-gnu gcc-12-riscv64-linux-gnu binutils-riscv64-linux-gnu libc6-dev-riscv64-cross linux-source-6.1; do
		dpkg-query -W -f='${Package} ${Version}\n' "$p" 2>/dev/null || true
	done
	echo "busybox (source) $(deb_source_version busybox)"
	echo "e2fsprogs (source) $(deb_source_version e2fsprogs)"
	echo "linux $(make -s -C "$ksrc" kernelversion)"
} >"$out/VERSIONS"

step "done"
ls -l "$out/Image.gz" "$out/initramfs.cpio.gz"
echo "Linux Image: $(stat -c %s "$kobj/arch/riscv/boot/Image") bytes"

if [ $update_prebuilt = 1 ]; then
	step "updating guests/prebuilt/"
	pre="$here/prebuilt"
	mkdir -p "$pre"
	cp "$out/Image.gz" "$out/initramfs.cpio.gz" "$out/VERSIONS" "$pre/"
	cp "$out/linux.config" "$pre/linux.config"
	(cd "$pre" && sha256sum Image.gz initramfs.cpio.gz linux.config VERSIONS >SHA256SUMS)
	cat "$pre/SHA256SUMS"
fi
