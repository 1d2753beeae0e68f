// Glob matching as a set-of-states walk (an NFA): time O(|glob| x |path|), no backtracking blow-up.
#include "http/glob.hpp"

#include <vector>

namespace modelhost::http {

namespace {

std::size_t token_length(std::string_view g, std::size_t i) { return g[i] == '*' && i + 1 < g.size() && g[i + 1] == '*' ? 2 : 1; }

// Stars may match nothing: every state at a star also stands after it.
void close_over_stars(std::string_view g, std::vector<char>& states) {
    for (std::size_t i = 0; i < g.size(); i += token_length(g, i))
        if (states[i] && g[i] == '*') states[i + token_length(g, i)] = 1;
}

}  // namespace

bool glob_match(std::string_view g, std::string_view p) {
    std::vector<char> cur(g.size() + 1, 0), next(g.size() + 1, 0);
    cur[0] = 1;
    close_over_stars(g, cur);
    for (char c : p) {
        std::fill(next.begin(), next.end(), 0);
        bool any = false;
        for (std::size_t i = 0; i < g.size(); i += token_length(g, i)) {
            if (!cur[i]) continue;
            if (g[i] == '*') {
                if (token_length(g, i) == 2 || c != '/') next[i] = any = 1;
            } else if ((g[i] == '?' && c != '/') || g[i] == c) {
                next[i + 1] = any = 1;
            }
        }
        if (!any) return false;
        close_over_stars(g, next);
        cur.swap(next);
    }
    return cur[g.size()] != 0;
}

}  // namespace modelhost::http
