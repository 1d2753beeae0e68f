// Entity-tag lists, HTTP dates and the precedence of preconditions.
#include "http/conditional.hpp"

#include "base/text.hpp"

#include <array>
#include <cstring>

namespace modelhost::http {

namespace bhttp = boost::beast::http;

namespace {

// RFC 9110 §8.8.3.2: strong comparison needs both tags strong; weak comparison ignores W/.
bool etag_list_matches(std::string_view list, std::string_view current, bool weak) {
    list = trim_ows(list);
    if (list == "*") return true;
    while (!list.empty()) {
        list = trim_ows(list);
        bool is_weak = list.starts_with("W/");
        if (is_weak) list.remove_prefix(2);
        if (!list.starts_with('"')) return false;  // malformed: nothing further can be trusted
        auto close = list.find('"', 1);
        if (close == std::string_view::npos) return false;
        std::string_view tag = list.substr(0, close + 1);
        if ((weak || !is_weak) && tag == current) return true;
        list.remove_prefix(close + 1);
        list = trim_ows(list);
        if (!list.empty() && list.front() != ',') return false;
        if (!list.empty()) list.remove_prefix(1);
    }
    return false;
}

std::string_view header(const bhttp::fields& f, bhttp::field name) {
    auto v = f[name];
    return {v.data(), v.size()};
}

int month_index(std::string_view m) {
    static constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; ++i)
        if (months[static_cast<std::size_t>(i)] == m) return i;
    return -1;
}

}  // namespace

Precondition evaluate_preconditions(const bhttp::fields& req, bhttp::verb method, const Validators& v, std::time_t now) {
    bool get_or_head = method == bhttp::verb::get || method == bhttp::verb::head;
    bool has_if_match = req.find(bhttp::field::if_match) != req.end();
    // 1. If-Match (strong), else 2. If-Unmodified-Since
    if (has_if_match) {
        if (!etag_list_matches(header(req, bhttp::field::if_match), v.etag, false)) return Precondition::failed;
    } else if (req.find(bhttp::field::if_unmodified_since) != req.end()) {
        auto date = parse_http_date(header(req, bhttp::field::if_unmodified_since));
        if (date && v.last_modified > *date) return Precondition::failed;
    }
    // 3. If-None-Match (weak), else 4. If-Modified-Since (GET/HEAD only; future dates are invalid)
    if (req.find(bhttp::field::if_none_match) != req.end()) {
        if (etag_list_matches(header(req, bhttp::field::if_none_match), v.etag, true))
            return get_or_head ? Precondition::not_modified : Precondition::failed;
    } else if (get_or_head && req.find(bhttp::field::if_modified_since) != req.end()) {
        auto date = parse_http_date(header(req, bhttp::field::if_modified_since));
        if (date && *date <= now && v.last_modified <= *date) return Precondition::not_modified;
    }
    return Precondition::proceed;
}

bool if_range_allows(std::string_view if_range, const Validators& v) {
    if_range = trim_ows(if_range);
    if (if_range.starts_with("W/")) return false;  // a weak tag never allows a range
    if (if_range.starts_with('"')) return if_range == v.etag;
    auto date = parse_http_date(if_range);
    return date && *date == v.last_modified;
}

std::optional<std::time_t> parse_http_date(std::string_view s) {
    s = trim_ows(s);
    std::tm tm{};
    char wk[16] = {}, mon[4] = {}, zone[4] = {};
    int day = 0, year = 0, h = 0, m = 0, sec = 0;
    std::string buf(s);
    int used = 0;
    // Sun, 06 Nov 1994 08:49:37 GMT
    if (std::sscanf(buf.c_str(), "%3s, %2d %3s %4d %2d:%2d:%2d %3s%n", wk, &day, mon, &year, &h, &m, &sec, zone, &used) == 8 &&
        static_cast<std::size_t>(used) == buf.size() && std::strcmp(zone, "GMT") == 0) {
    // Sunday, 06-Nov-94 08:49:37 GMT
    } else if (std::sscanf(buf.c_str(), "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d %3s%n", wk, &day, mon, &year, &h, &m, &sec, zone, &used) == 8 &&
               static_cast<std::size_t>(used) == buf.size() && std::strcmp(zone, "GMT") == 0) {
        year += year < 70 ? 2000 : 1900;
    // Sun Nov  6 08:49:37 1994
    } else if (std::sscanf(buf.c_str(), "%3s %3s %2d %2d:%2d:%2d %4d%n", wk, mon, &day, &h, &m, &sec, &year, &used) == 7 &&
               static_cast<std::size_t>(used) == buf.size()) {
    } else {
        return std::nullopt;
    }
    int month = month_index(mon);
    if (month < 0 || day < 1 || day > 31 || h > 23 || m > 59 || sec > 60 || year < 1970) return std::nullopt;
    tm.tm_year = year - 1900;
    tm.tm_mon = month;
    tm.tm_mday = day;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    return timegm(&tm);
}

std::string format_http_date(std::time_t t) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

}  // namespace modelhost::http
