#!/usr/bin/env bash
# Package test: builds the .deb (scripts/package) and checks its files, Depends and conffiles; verifies the systemd
# unit (systemd-analyze verify, and an exposure of at most 2.0 from systemd-analyze security --offline); installs
# the package into a clean Debian container (dependencies from the Debian archive) where `modelhost --version`,
# `modelhost check` on the configured root, and `modelhost serve` with the shipped config (probed by health) succeed. Exit 0 pass, 1 fail, 77 skipped (no container engine).
set -uo pipefail
cd "$(dirname "$0")/../.."
docker=/usr/bin/docker
work="$(mktemp -d /tmp/modelhost-package-XXXXXX)"
fail() { echo "FAIL package: $*"; exit 1; }
skip() { echo "SKIPPED package: $* — the install test did NOT run"; exit 77; }
trap 'rm -rf "$work"' EXIT

command -v systemd-analyze >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null 2>&1 \
    || fail "systemd (for systemd-analyze) could not be installed"
deb=$(scripts/package | tail -1) || fail "scripts/package failed"
[[ -f "$deb" ]] || fail "no package at '$deb'"
echo "package: $deb ($(stat -c %s "$deb") bytes)"
files=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/modelhost ./etc/modelhost/modelhost.json ./usr/lib/systemd/system/modelhost.service ./usr/share/doc/modelhost/README.md; do
    grep -qx "$f" <<<"$files" || fail "the package lacks $f"
done
[[ $(grep -c -v '/$' <<<"$files") == 4 ]] || fail "the package holds other files: $files"
depends=$(dpkg-deb -f "$deb" Depends)
echo "package: Depends: $depends"
for lib in libc6 libssl3 libboost-url1.81.0 libspdlog1.10 libfmt9 libbrotli1 libnghttp2-14 zlib1g libstdc++6 ca-certificates; do
    grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
[[ $(dpkg-deb -f "$deb" Version) == "$(build/package/server/modelhost --version | cut -d' ' -f2)" ]] || fail "package version differs from the binary's"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/modelhost/modelhost.json || fail "the config is not a conffile"

# The unit as shipped, with ExecStart pointing at the built binary so verify can find it.
sed "s|/usr/bin/modelhost|$PWD/build/package/server/modelhost|" packaging/modelhost.service > "$work/modelhost.service"
systemd-analyze verify "$work/modelhost.service" >"$work/verify.log" 2>&1 || fail "systemd-analyze verify: $(cat "$work/verify.log")"
exposure=$(systemd-analyze security --offline=true packaging/modelhost.service 2>/dev/null | awk '/Overall exposure level/ {print $(NF-2)}')
echo "package: systemd-analyze security --offline: exposure $exposure"
awk -v e="$exposure" 'BEGIN {exit !(e != "" && e <= 2.0)}' || fail "the unit's exposure is '$exposure' (at most 2.0 wanted)"

source tests/docker/engine.sh
mkdir -p "$work/pkg" && cp "$deb" "$work/pkg/" && cp -r models/demo "$work/pkg/demo"
out=$($docker run --rm -v "$work/pkg:/pkg:ro" debian:bookworm-slim sh -c '
    set -e
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /pkg/*.deb >/dev/null 2>&1 || { echo "apt-get install failed"; exit 1; }
    modelhost --version
    test "$(dpkg-query -W -f="\${Status}" modelhost)" = "install ok installed"
    mkdir -p /var/lib/modelhost/models && cp -r /pkg/demo /var/lib/modelhost/models/
    modelhost check /var/lib/modelhost/models
    export MODELHOST_CONFIG=/etc/modelhost/modelhost.json  # as the unit runs it
    modelhost serve >/tmp/serve.log 2>&1 &
    for i in 1 2 3 4 5 6 7 8 9 10; do modelhost health >/dev/null 2>&1 && break; sleep 0.3; done
    modelhost health
    kill -TERM $! && wait $!
    echo installed-ok' 2>&1) || fail "installing into a clean container: $out"
grep -q "^modelhost " <<<"$out" && grep -q installed-ok <<<"$out" || fail "unexpected output in the container: $out"
echo "package: installed into a clean debian:bookworm-slim; $(head -1 <<<"$out")"
echo "PASS package"
