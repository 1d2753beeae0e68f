// HTTP date parsing and formatting.
#include "base/http_date.hpp"

#include "base/text.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace modelhost {

namespace {

int month_index(std::string_view m) {
    static constexpr std::array<std::string_view, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 12; ++i)
        if (months[static_cast<std::size_t>(i)] == m) return i;
    return -1;
}

}  // namespace

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

namespace {

std::string format_utc(std::time_t t, const char* format) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    std::strftime(buf, sizeof buf, format, &tm);
    return buf;
}

}  // namespace

std::string format_http_date(std::time_t t) { return format_utc(t, "%a, %d %b %Y %H:%M:%S GMT"); }

std::string format_rfc3339(std::time_t t) { return format_utc(t, "%Y-%m-%dT%H:%M:%S.000Z"); }

const std::array<char, 29>& current_http_date() {
    thread_local std::time_t last = 0;
    thread_local std::array<char, 29> date{};
    std::time_t now = std::time(nullptr);
    if (now != last) {
        std::string formatted = format_http_date(now);
        std::copy_n(formatted.data(), std::min(formatted.size(), date.size()), date.begin());
        last = now;
    }
    return date;
}

}  // namespace modelhost
