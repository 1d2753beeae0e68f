#!/bin/sh
# Usage: runtime-rootfs.sh BINARY DEST
# Lays out everything the runtime image holds under DEST: the binary, every shared library `ldd` lists for it (with
# the dynamic loader), the CA bundle, a passwd/group entry for uid 10001 and the config. Libraries come from ldd, so
# a new dependency cannot be forgotten; a library ldd cannot resolve stops the build.
set -eu
bin=$1 dest=$2
if ldd "$bin" | grep -q "not found"; then ldd "$bin" >&2; echo "runtime-rootfs: unresolved library" >&2; exit 1; fi
mkdir -p "$dest/usr/local/bin" "$dest/etc/ssl/certs" "$dest/etc/modelhost" "$dest/models" "$dest/tmp"
cp "$bin" "$dest/usr/local/bin/modelhost"
for lib in $(ldd "$bin" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' | sort -u); do
    mkdir -p "$dest$(dirname "$lib")"
    cp -L "$lib" "$dest$lib"
done
cp -L /etc/ssl/certs/ca-certificates.crt "$dest/etc/ssl/certs/ca-certificates.crt"
echo "modelhost:x:10001:10001:modelhost:/nonexistent:/usr/sbin/nologin" > "$dest/etc/passwd"
echo "modelhost:x:10001:" > "$dest/etc/group"
echo "hosts: files dns" > "$dest/etc/nsswitch.conf"
chmod 1777 "$dest/tmp"
