# Sourced by the container tests: installs docker.io and starts dockerd when needed, and makes the
# debian:bookworm-slim base with debootstrap when it is missing (no registry is reachable here). Expects $docker,
# $work and the functions skip (exit 77) and fail.
if [[ ! -x $docker ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io >/dev/null 2>&1 || skip "docker.io could not be installed"
fi
if ! $docker info >/dev/null 2>&1; then
    (dockerd >/tmp/modelhost-dockerd.log 2>&1 &)
    for _ in $(seq 1 30); do $docker info >/dev/null 2>&1 && break; sleep 1; done
    $docker info >/dev/null 2>&1 || skip "no Docker engine answers and dockerd would not start (see /tmp/modelhost-dockerd.log)"
fi
if ! $docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
    command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null 2>&1
    echo "docker: making debian:bookworm-slim with debootstrap (no registry is reachable)"
    debootstrap --variant=minbase bookworm "$work/rootfs" >"$work/debootstrap.log" 2>&1 || fail "debootstrap failed: $(tail -3 "$work/debootstrap.log")"
    tar -C "$work/rootfs" -c . | $docker import - debian:bookworm-slim >/dev/null || fail "docker import failed"
    rm -rf "$work/rootfs"
fi

