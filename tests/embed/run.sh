#!/usr/bin/env bash
# The library as an app uses it (examples/embedded):
#   1. built against the modelhost-dev package's files (scripts/package, unpacked with dpkg-deb -x) through
#      find_package(modelhost CONFIG), preprocessing to no Boost, Asio, OpenSSL, spdlog, fmt or nlohmann header;
#   2. run: "serving URL" first, then its compiled-in model and a folder answered with the headers the modelhost
#      binary sends for the same files under the same config (CORS, ETag, Last-Modified, Cache-Control; 200, 304,
#      206), and exit 0 on SIGTERM;
#   3. built again as a subproject (add_subdirectory): no modelhost test built, nothing to install under /etc.
# Exit 0 pass, 1 fail.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
work="$(mktemp -d /tmp/modelhost-embed-XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL embed: $*"; exit 1; }

debs=$(scripts/package) || fail "scripts/package failed"
dev=$(grep '/modelhost-dev_' <<<"$debs") || fail "scripts/package made no modelhost-dev package: $debs"
dpkg-deb -x "$dev" "$work/root" || fail "cannot unpack $dev"
echo "embed: $(basename "$dev"): $(dpkg-deb -c "$dev" | awk '{print $6}' | grep -v '/$' | tr '\n' ' ')"
for f in usr/include/modelhost/modelhost.hpp usr/include/modelhost/version.hpp usr/lib/x86_64-linux-gnu/cmake/modelhost/modelhostConfig.cmake; do
    [[ -f "$work/root/$f" ]] || fail "the -dev package lacks /$f"
done

# 1. Against the package's files.
build() {  # build DIR [cmake args...]
    local dir=$1; shift
    cmake -S examples/embedded -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON "$@" \
        >"$dir.log" 2>&1 && cmake --build "$dir" -j2 >>"$dir.log" 2>&1 || { tail -30 "$dir.log"; return 1; }
}
build "$work/app" -DCMAKE_PREFIX_PATH="$work/root/usr" || fail "the example does not build against the package"
# The headers the app's source pulls in, from its own compile command.
command=$(/usr/bin/python3 -c 'import json,sys; print(next(c["command"] for c in json.load(open(sys.argv[1])) if c["file"].endswith("main.cpp")))' \
          "$work/app/compile_commands.json")
headers=$(cd "$work/app" && eval "${command/ -o */ -M -MF /dev/stdout -o /dev/null} ${repo}/examples/embedded/main.cpp" 2>&1) \
    || fail "preprocessing main.cpp failed: $headers"
leaked=$(tr ' \\' '\n\n' <<<"$headers" | grep -Ei '/(boost|asio|openssl|spdlog|fmt|nlohmann)/' || true)
[[ -z "$leaked" ]] || fail "the app's source includes dependency headers: $leaked"
grep -q "$work/root/usr/include/modelhost/modelhost.hpp" <<<"$headers" || fail "main.cpp did not include the package's header: $headers"
echo "embed: main.cpp includes $(tr ' \\' '\n\n' <<<"$headers" | grep -c '\.h') headers, none of Boost, Asio, OpenSSL, spdlog, fmt or nlohmann"

# 2. Run it beside the binary, both on the same config and files.
mkdir -p "$work/folder" "$work/binroot/models"
printf '{"weights": [1, 2, 3]}\n' > "$work/folder/extra.json"
head -c 200000 /dev/urandom > "$work/folder/extra.bin"
cp -a "$work/folder/." "$work/binroot/models/"
cp -a models/demo "$work/binroot/models/demo"
cat > "$work/config.json" <<'JSON'
{ "server": { "port": 0, "etag": "content" }, "cors": { "allow_origins": ["https://app.example"] }, "log": { "level": "warn" } }
JSON
"$work/app/app" --config "$work/config.json" "$work/folder" >"$work/app.out" 2>"$work/app.err" &
app_pid=$!; pids+=($app_pid)
build/package/server/modelhost serve --config "$work/config.json" --root "$work/binroot" --log-level info >"$work/bin.out" 2>&1 &
pids+=($!)
for i in $(seq 50); do [[ -s "$work/app.out" ]] && grep -q ' at http' "$work/bin.out" && break; sleep 0.1; done
first=$(head -1 "$work/app.out")
[[ "$first" =~ ^serving\ http://127\.0\.0\.1:([0-9]+)/$ ]] || fail "the app's first line is '$first' ($(cat "$work/app.err"))"
app_url="http://127.0.0.1:${BASH_REMATCH[1]}"
bin_url=$(grep -o 'at http://127.0.0.1:[0-9]*' "$work/bin.out" | head -1 | cut -d' ' -f2) || fail "the binary did not start: $(cat "$work/bin.out")"
heads() {  # heads URL curl-args...: status line and headers, without Date
    curl -s -o /dev/null -D - -H 'Origin: https://app.example' "${@:2}" "$1" | tr -d '\r' | grep -v -i '^date:'
}
compare() {  # compare PATH EXPECTED-STATUS curl-args...
    local a b
    a=$(heads "$app_url$1" "${@:3}"); b=$(heads "$bin_url$1" "${@:3}")
    [[ "$a" == "$b" ]] || fail "$1 ${*:3}: the app answers
$a
and the binary
$b"
    head -1 <<<"$a" | grep -q "^HTTP/1.1 $2 " || fail "$1 ${*:3}: status $(head -1 <<<"$a"), $2 wanted"
}
for path in /models/demo/model.json /models/demo/group1-shard1of2.bin /models/extra.json /models/extra.bin; do
    compare "$path" 200
    etag=$(heads "$app_url$path" | awk -F': ' 'tolower($1) == "etag" {print $2}')
    [[ -n "$etag" ]] || fail "$path has no ETag"
    compare "$path" 304 -H "If-None-Match: $etag"
    compare "$path" 206 -H 'Range: bytes=10-99'
done
compare /models/demo/none.json 404
grep -qi '^access-control-allow-origin: https://app.example$' <<<"$(heads "$app_url/models/demo/model.json")" || fail "no CORS header"
echo "embed: the app's compiled-in model and its folder answer 200, 304, 206 and 404 with the binary's headers"
kill -TERM "$app_pid"
wait "$app_pid"; rc=$?
[[ $rc == 0 ]] || fail "the app exited $rc after SIGTERM: $(cat "$work/app.err")"
echo "embed: the app exited 0 on SIGTERM"

# 3. As a subproject (Debug: the quickest compile of the library's layers; what is checked is what gets built and installed).
build "$work/sub" -DMODELHOST_SOURCE="$repo" -DCMAKE_BUILD_TYPE=Debug || fail "the example does not build with modelhost as a subproject"
[[ -x "$work/sub/app" ]] || fail "no app in the subproject build"
[[ -z "$(find "$work/sub" -name 'unit_tests' -o -name 'integration_tests' -o -name 'api_tests')" ]] || fail "the subproject built modelhost's tests"
[[ ! -e "$work/sub/modelhost/server/modelhost" ]] || fail "the subproject built the modelhost binary"
! grep -rq '/etc/modelhost\|systemd' "$work/sub/cmake_install.cmake" "$work/sub/modelhost/cmake_install.cmake" 2>/dev/null \
    || fail "the subproject would install system files"
DESTDIR="$work/subinstall" cmake --install "$work/sub" >/dev/null 2>&1
[[ -z "$(find "$work/subinstall" -type f 2>/dev/null)" ]] || fail "the subproject installs $(find "$work/subinstall" -type f)"
"$work/sub/app" >"$work/sub.out" 2>&1 &
sub_pid=$!; pids+=($sub_pid)
for i in $(seq 50); do [[ -s "$work/sub.out" ]] && break; sleep 0.1; done
sub_url=$(head -1 "$work/sub.out" | cut -d' ' -f2)
[[ $(curl -s -o /dev/null -w '%{http_code}' "${sub_url}models/demo/model.json") == 200 ]] || fail "the subproject's app does not serve: $(cat "$work/sub.out")"
kill -TERM "$sub_pid"; wait "$sub_pid" || fail "the subproject's app did not exit 0"
echo "embed: as a subproject it builds the library only, installs nothing, and serves"
echo "PASS embed"
