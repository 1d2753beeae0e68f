#!/usr/bin/env bash
# Container test: builds the image, runs it with a models volume and MODELHOST_ALLOW_ORIGINS, and checks CORS,
# health, the non-root user, access logs and a clean `docker stop`. Exit 0 pass, 1 fail, 77 skipped (no engine
# can run here; said loudly, never counted as a pass). Removes the container and image it made (the generated
# debian:bookworm-slim base is kept: it takes a minute to make).
set -uo pipefail
cd "$(dirname "$0")/../.."
docker=/usr/bin/docker
image=modelhost-test:ci
name=modelhost-test-$$
work="$(mktemp -d /tmp/modelhost-docker-XXXXXX)"
fail() { echo "FAIL docker: $*"; [[ -n "${cid:-}" ]] && $docker logs "$name" 2>&1 | tail -20; exit 1; }
skip() { echo "SKIPPED docker: $* — the container test did NOT run"; exit 77; }
cleanup() { $docker rm -f "$name" >/dev/null 2>&1; $docker rmi -f "$image" >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT

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

echo "docker: building the image"
$docker build -q -t "$image" . >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; fail "docker build failed"; }
size=$($docker image inspect "$image" --format '{{.Size}}')
echo "docker: image size $((size / 1048576)) MB"

mkdir -p "$work/models"
cp -r models/demo "$work/models/"
chmod -R a+rX "$work/models"
cid=$($docker run -d --name "$name" -p 127.0.0.1::8080 -v "$work/models:/models:ro" \
      -e MODELHOST_ALLOW_ORIGINS=http://allowed.example "$image") || fail "docker run failed"
port=$($docker port "$name" 8080/tcp | head -1 | sed 's/.*://')
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/.modelhost/healthz" >/dev/null && break; sleep 0.2; done

url="http://127.0.0.1:$port/demo/model.json"
allowed=$(curl -s -D - -o /dev/null -H 'Origin: http://allowed.example' "$url")
refused=$(curl -s -D - -o /dev/null -H 'Origin: http://refused.example' "$url")
grep -q '^HTTP/1.1 200' <<<"$allowed" || fail "model.json was not served: $allowed"
grep -qi '^Access-Control-Allow-Origin: http://allowed.example' <<<"$allowed" || fail "no ACAO for the allowed origin"
grep -qi '^Vary: .*Origin' <<<"$allowed" || fail "no Vary: Origin"
grep -q '^HTTP/1.1 200' <<<"$refused" || fail "a refused origin must still get the file"
grep -qi '^Access-Control-' <<<"$refused" && fail "a refused origin got Access-Control headers"
[[ $(curl -s "http://127.0.0.1:$port/.modelhost/healthz") == "ok" ]] || fail "/.modelhost/healthz did not answer ok"
uid=$($docker exec "$name" sh -c 'cat /proc/1/status' | awk '/^Uid:/ {print $2}')
[[ "$uid" != "0" && -n "$uid" ]] || fail "the server runs as uid '$uid'"
$docker exec "$name" modelhost health >/dev/null || fail "the HEALTHCHECK command failed"

start=$(date +%s)
$docker stop -t 10 "$name" >/dev/null || fail "docker stop failed"
took=$(( $(date +%s) - start ))
code=$($docker inspect "$name" --format '{{.State.ExitCode}}')
[[ "$code" == "0" ]] || fail "exit code $code after docker stop"
(( took < 10 )) || fail "docker stop took ${took}s: the grace period ran out"
logs=$($docker logs "$name" 2>&1)
grep -q '"GET /demo/model.json" 200 .*origin="http://allowed.example"' <<<"$logs" || fail "no access-log line in docker logs"
grep -q 'SIGTERM' <<<"$logs" || fail "no shutdown line in docker logs"
# The image's own HEALTHCHECK (timing shortened, command unchanged) under TLS with a self-signed certificate for a
# public name: `modelhost health` must speak HTTPS to 127.0.0.1 and trust the configured certificate.
mkdir -p "$work/tls"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/tls/key.pem" -out "$work/tls/cert.pem" -days 1 \
    -subj /CN=models.example.com -addext subjectAltName=DNS:models.example.com >/dev/null 2>&1 || fail "openssl could not make a test certificate"
chmod a+r "$work/tls/key.pem"
$docker rm -f "$name" >/dev/null 2>&1
cid=$($docker run -d --name "$name" --health-interval 1s --health-start-period 1s -v "$work/models:/models:ro" -v "$work/tls:/tls:ro" \
      -e MODELHOST_TLS_CERT_FILE=/tls/cert.pem -e MODELHOST_TLS_KEY_FILE=/tls/key.pem "$image") || fail "docker run (TLS) failed"
health=""
for _ in $(seq 1 30); do
    health=$($docker inspect "$name" --format '{{.State.Health.Status}}')
    [[ "$health" == "healthy" || "$health" == "unhealthy" ]] && break
    sleep 1
done
[[ "$health" == "healthy" ]] || fail "the HEALTHCHECK under TLS says '$health': $($docker inspect "$name" --format '{{range .State.Health.Log}}{{.Output}}{{end}}' | tail -3)"
$docker exec "$name" modelhost health | grep -q '^https://127.0.0.1:8080/.modelhost/healthz: 200 ok' || fail "health did not probe over https"

echo "docker: image $((size / 1048576)) MB; served CORS correctly as uid $uid; stopped in ${took}s with exit 0; healthy under TLS"
echo "PASS docker"
