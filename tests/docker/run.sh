#!/usr/bin/env bash
# Container test: builds the image (at most 25 MB), runs it read-only with every capability dropped, a models volume
# and MODELHOST_ALLOW_ORIGINS, and checks CORS, health, the non-root user, access logs and a clean `docker stop`;
# then serves HTTPS from one container (its HEALTHCHECK must pass) and fetches a model from it in another,
# verifying the certificate against a throwaway CA. Exit 0 pass, 1 fail, 77 skipped (no engine
# can run here; said loudly, never counted as a pass). Removes the container and image it made (the generated
# debian:bookworm-slim base is kept: it takes a minute to make).
set -uo pipefail
cd "$(dirname "$0")/../.."
docker=/usr/bin/docker
image=modelhost-test:ci
name=modelhost-test-$$
origin=modelhost-origin-$$ net=modelhost-test-net-$$
work="$(mktemp -d /tmp/modelhost-docker-XXXXXX)"
fail() { echo "FAIL docker: $*"; [[ -n "${cid:-}" ]] && $docker logs "$name" 2>&1 | tail -20; exit 1; }
skip() { echo "SKIPPED docker: $* — the container test did NOT run"; exit 77; }
cleanup() {
    $docker rm -f "$name" "$origin" >/dev/null 2>&1; $docker network rm "$net" >/dev/null 2>&1
    $docker rmi -f "$image" >/dev/null 2>&1; rm -rf "$work"
}
trap cleanup EXIT

source tests/docker/engine.sh  # starts an engine and makes the base image when needed (skip/fail as above)

echo "docker: building the image"
$docker build -q -t "$image" . >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; fail "docker build failed"; }
size=$($docker image inspect "$image" --format '{{.Size}}')
echo "docker: image size $((size / 1048576)) MB ($size bytes)"
(( size <= 25 * 1048576 )) || fail "the image is $((size / 1048576)) MB; it must stay at most 25 MB"
hardened=(--read-only --cap-drop ALL --security-opt no-new-privileges)

mkdir -p "$work/models"
cp -r models/demo "$work/models/"
chmod -R a+rX "$work/models"
cid=$($docker run -d --name "$name" "${hardened[@]}" -p 127.0.0.1::8080 -v "$work/models:/models:ro" \
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
uid=$(awk '/^Uid:/ {print $2}' "/proc/$($docker inspect "$name" --format '{{.State.Pid}}')/status")  # no shell in the image
[[ "$uid" != "0" && -n "$uid" ]] || fail "the server runs as uid '$uid'"
$docker exec "$name" modelhost health >/dev/null || fail "the HEALTHCHECK command failed"

start=$(date +%s)
$docker stop -t 10 "$name" >/dev/null || fail "docker stop failed"
took=$(( $(date +%s) - start ))
code=$($docker inspect "$name" --format '{{.State.ExitCode}}')
[[ "$code" == "0" ]] || fail "exit code $code after docker stop"
(( took < 10 )) || fail "docker stop took ${took}s: the grace period ran out"
logs=$($docker logs "$name" 2>&1)
grep -q '"GET /demo/model.json HTTP/1.1" 200 .*origin="http://allowed.example"' <<<"$logs" || fail "no access-log line in docker logs"
grep -q 'SIGTERM' <<<"$logs" || fail "no shutdown line in docker logs"
# HTTPS: one container serves the models with a certificate from a throwaway CA for its name on a test network; the
# image's own HEALTHCHECK (timing shortened, command unchanged) must pass (health speaks HTTPS to 127.0.0.1 and
# trusts the configured certificate); another container fetches a model from it, verifying against the CA.
mkdir -p "$work/tls" "$work/out"
(cd "$work/tls" && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=modelhost-test-ca \
  && openssl req -newkey rsa:2048 -nodes -keyout key.pem -out cert.csr -subj "/CN=$origin" \
  && printf 'subjectAltName=DNS:%s\n' "$origin" > san.ext \
  && openssl x509 -req -in cert.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cert.pem -days 1 -extfile san.ext) \
  >/dev/null 2>&1 || fail "openssl could not make the test CA and certificate"
chmod a+r "$work/tls"/*.pem && chmod 777 "$work/out"
$docker network create "$net" >/dev/null || fail "docker network create failed"
$docker run -d --name "$origin" --network "$net" "${hardened[@]}" --health-interval 1s --health-start-period 1s \
    -v "$work/models:/models:ro" -v "$work/tls:/tls:ro" \
    -e MODELHOST_TLS_CERT_FILE=/tls/cert.pem -e MODELHOST_TLS_KEY_FILE=/tls/key.pem "$image" >/dev/null || fail "docker run (TLS) failed"
health=""
for _ in $(seq 1 30); do
    health=$($docker inspect "$origin" --format '{{.State.Health.Status}}')
    [[ "$health" == "healthy" || "$health" == "unhealthy" ]] && break
    sleep 1
done
[[ "$health" == "healthy" ]] || fail "the HEALTHCHECK under TLS says '$health': $($docker inspect "$origin" --format '{{range .State.Health.Log}}{{.Output}}{{end}}' | tail -3)"
$docker exec "$origin" modelhost health | grep -q '^https://127.0.0.1:8080/.modelhost/healthz: 200 ok' || fail "health did not probe over https"
fetch=("$docker" run --rm --network "$net" "${hardened[@]}" -v "$work/out:/out" -v "$work/tls:/ca:ro" "$image"
       fetch "https://$origin:8080/demo/model.json" --root /out)
unverified=$("${fetch[@]}" 2>&1) && fail "fetch without the CA succeeded: $unverified"
grep -q "certificate verify failed" <<<"$unverified" || fail "fetch without the CA failed for another reason: $unverified"
"${fetch[@]}" --ca-file /ca/ca.pem >"$work/fetch.log" 2>&1 || fail "fetch over HTTPS with --ca-file failed: $(tail -3 "$work/fetch.log")"
cmp -s "$work/out/demo/model.json" models/demo/model.json || fail "the fetched model.json differs from the served one"

echo "docker: image $((size / 1048576)) MB; read-only, no capabilities: served CORS correctly as uid $uid, stopped in ${took}s with exit 0, healthy under TLS, fetched over verified HTTPS"
echo "PASS docker"
