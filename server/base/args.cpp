// The shared command-line reader; see args.hpp.
#include "base/args.hpp"

#include <algorithm>
#include <cstdio>

namespace modelhost {

namespace {

std::string see_help(std::string_view command) { return " (see modelhost " + std::string(command) + " --help)"; }

}  // namespace

bool ParsedArgs::has(std::string_view name) const {
    return std::any_of(options.begin(), options.end(), [&](const auto& o) { return o.first == name; });
}

std::optional<std::string> ParsedArgs::value(std::string_view name) const {
    std::optional<std::string> out;
    for (const auto& [n, v] : options)
        if (n == name) out = v;
    return out;
}

std::vector<std::string> ParsedArgs::values(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [n, v] : options)
        if (n == name) out.push_back(v);
    return out;
}

ParsedArgs parse_args(std::string_view command, const std::vector<std::string>& args, const std::vector<OptionSpec>& specs,
                      std::size_t max_positionals) {
    ParsedArgs out;
    for (std::size_t i = 0; i < args.size() && out.error.empty(); ++i) {
        const std::string& a = args[i];
        if (a == "-h" || a == "--help") {
            out.help = true;
            continue;
        }
        if (!a.starts_with("-") || a == "-") {
            if (out.positionals.size() == max_positionals)
                out.error = "unexpected argument \"" + a + "\"" + see_help(command);
            else
                out.positionals.push_back(a);
            continue;
        }
        std::string name = a, value;
        auto eq = a.find('=');
        if (eq != std::string::npos) name = a.substr(0, eq);
        auto spec = std::find_if(specs.begin(), specs.end(), [&](const OptionSpec& s) { return s.name == name; });
        if (spec == specs.end()) {
            out.error = "unknown option " + name + see_help(command);
        } else if (!spec->takes_value && eq != std::string::npos) {
            out.error = name + " takes no value" + see_help(command);
        } else if (spec->takes_value && eq != std::string::npos) {
            out.options.emplace_back(name, a.substr(eq + 1));
        } else if (spec->takes_value && i + 1 < args.size() && !args[i + 1].starts_with("--")) {
            out.options.emplace_back(name, args[++i]);
        } else if (spec->takes_value) {
            out.error = name + " needs a value" + see_help(command);
        } else {
            out.options.emplace_back(name, "");
        }
    }
    return out;
}

ParsedArgs parse_args(std::string_view command, const std::vector<std::string>& args, std::initializer_list<OptionSpec> specs,
                      std::size_t max_positionals) {
    return parse_args(command, args, std::vector<OptionSpec>(specs), max_positionals);
}

int usage_error(std::string_view command, const std::string& message) {
    std::fprintf(stderr, "modelhost %.*s: %s\n", static_cast<int>(command.size()), command.data(), message.c_str());
    return 2;
}

}  // namespace modelhost
