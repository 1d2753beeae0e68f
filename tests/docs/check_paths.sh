#!/usr/bin/env bash
# Every `server/...`, `tests/...`, `scripts/...` and `docs/...` path that docs/ARCHITECTURE.md names exists, and every
# folder of server/ is in its layer table. Also the short forms of its tables (`http/cors.cpp`: a path under server/).
# Usage: check_paths.sh SOURCE_DIR
set -euo pipefail
cd "$1"
doc=docs/ARCHITECTURE.md
failures=0
while read -r path; do
    [[ -e "$path" ]] || { echo "FAIL $doc names $path, which does not exist"; failures=$((failures + 1)); }
done < <(grep -o '`\(server\|tests\|scripts\|docs\)/[A-Za-z0-9_./-]*`' "$doc" | tr -d '`' | grep -v '[.][.][.]$' | sort -u)
while read -r path; do
    [[ -e "server/$path" ]] || { echo "FAIL $doc names $path, which is not under server/"; failures=$((failures + 1)); }
done < <(grep -o '`\(app\|base\|client\|config\|fs\|http\|log\|metrics\|mirror\|models\|net\|tools\)/[A-Za-z0-9_./-]*\.\(cpp\|hpp\)`' "$doc" | tr -d '`' | sort -u)
for folder in server/*/; do
    grep -q "\`${folder%/}/\`" "$doc" || { echo "FAIL $doc's layer table has no row for ${folder%/}/"; failures=$((failures + 1)); }
done
[[ $failures -eq 0 ]] && echo "every path in $doc exists"
exit $((failures > 0))
