# Shell helpers shared by guests/build.sh and guests/workloads/build.sh (sourced, not run).
# The sourcing script defines step() and die().

# ensure_packages INSTALL PKG…: installs the Debian packages that are missing when INSTALL is 1
# and we are root; otherwise stops with the apt-get command that would fix it.
ensure_packages() {
	local install=$1
	shift
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -gt 0 ] || return 0
	if [ "$install" = 1 ] && [ "$(id -u)" = 0 ]; then
		step "installing Debian packages: ${missing[*]}"
		apt-get update -q
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
	else
		die "missing Debian packages: ${missing[*]}; install them (apt-get install ${missing[*]}) or run this script as root"
	fi
}
