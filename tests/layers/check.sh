#!/usr/bin/env bash
# The layers hold: for every layer's view (build/<preset>/layers/NAME, made by server/CMakeLists.txt), a header
# of a folder outside the view cannot be included, and one of each folder inside it can. Preprocessing only.
# Usage: check.sh CXX LAYERS_DIR SERVER_DIR
set -euo pipefail
cxx="$1" layers="$2" server="$3"
failures=0
for view in "$layers"/*/; do
    name="$(basename "$view")"
    for folder in "$server"/*/; do
        folder="$(basename "$folder")"
        header="$(cd "$server/$folder" && ls ./*.hpp 2>/dev/null | head -1 || true)"
        [[ -n "$header" ]] || continue  # no header to include (embed/: the library's source, not a layer)
        header="$folder/${header#./}"
        if echo "#include \"$header\"" | "$cxx" -std=c++20 -E -I "$view" -I "$layers/../server/generated" -x c++ - -o /dev/null 2>/dev/null; then
            reached=yes
        else
            reached=no
        fi
        if [[ -e "$view/$folder" ]]; then expected=yes; else expected=no; fi
        if [[ "$reached" != "$expected" ]]; then
            echo "FAIL layer $name: #include \"$header\" is $([[ $reached == yes ]] && echo found || echo refused), expected $([[ $expected == yes ]] && echo found || echo refused)"
            failures=$((failures + 1))
        fi
    done
    echo "layer $name sees: $(ls "$view" | tr '\n' ' ')"
done
[[ $failures -eq 0 ]] || exit 1
# The mechanism itself: a back-up include from fs/ (floor 2) of http/ (floor 4) is refused.
if echo '#include "http/message.hpp"' | "$cxx" -std=c++20 -E -I "$layers/fs" -x c++ - -o /dev/null 2>/dev/null; then
    echo "FAIL: fs/ can include http/message.hpp"; exit 1
fi
echo "layers hold"
