// One way to read every command's command line: `--name VALUE` or `--name=VALUE` for options that take a value,
// bare switches, positionals, `-h`/`--help`. Usage errors name the option and point at the command's --help, so
// every command answers a typo the same way (and exits 2).
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modelhost {

// An option a command accepts: its name ("--root") and whether a value follows it.
struct OptionSpec {
    std::string_view name;
    bool takes_value;
};

struct ParsedArgs {
    std::vector<std::pair<std::string, std::string>> options;  // in the order given; switches hold ""
    std::vector<std::string> positionals;
    bool help = false;
    std::string error;  // "" when the line is fine, else the whole message ("unknown option --x (see ...)")

    bool has(std::string_view name) const;
    // The last value given for `name`.
    std::optional<std::string> value(std::string_view name) const;
    // Every value given for `name`, in order (repeatable options).
    std::vector<std::string> values(std::string_view name) const;
};

// `command` names the command in messages ("serve"); at most `max_positionals` positionals are accepted.
ParsedArgs parse_args(std::string_view command, const std::vector<std::string>& args, std::initializer_list<OptionSpec> specs,
                      std::size_t max_positionals);
ParsedArgs parse_args(std::string_view command, const std::vector<std::string>& args, const std::vector<OptionSpec>& specs,
                      std::size_t max_positionals);

// "modelhost COMMAND: MESSAGE" on stderr; returns 2 (bad usage).
int usage_error(std::string_view command, const std::string& message);

}  // namespace modelhost
