// Glob matching as a set-of-states walk (an NFA): time O(|glob| x |path|), no backtracking blow-up.
#include "base/glob.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace modelhost {

namespace {

std::size_t token_length(std::string_view g, std::size_t i) { return g[i] == '*' && i + 1 < g.size() && g[i + 1] == '*' ? 2 : 1; }

// Stars may match nothing: every state at a star also stands after it.
void close_over_stars(std::string_view g, char* states) {
    for (std::size_t i = 0; i < g.size(); i += token_length(g, i))
        if (states[i] && g[i] == '*') states[i + token_length(g, i)] = 1;
}

}  // namespace

bool glob_match(std::string_view g, std::string_view p) {
    // Route and cache-control globs are short: their state sets live on the stack (the heap for long ones).
    constexpr std::size_t inline_states = 128;
    char stack_cur[inline_states], stack_next[inline_states];
    std::vector<char> heap;
    char* cur = stack_cur;
    char* next = stack_next;
    if (g.size() + 1 > inline_states) {
        heap.resize(2 * (g.size() + 1));
        cur = heap.data();
        next = heap.data() + g.size() + 1;
    }
    std::fill(cur, cur + g.size() + 1, 0);
    cur[0] = 1;
    close_over_stars(g, cur);
    for (char c : p) {
        std::fill(next, next + g.size() + 1, 0);
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
        std::swap(cur, next);
    }
    return cur[g.size()] != 0;
}

}  // namespace modelhost
