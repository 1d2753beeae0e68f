// Runs the real modelhost binary as a child process, for exit codes, signals and memory use.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace modelhost::test {

class Process {
public:
    // Starts `argv` with stdout and stderr captured into a temporary file; `env` adds NAME=VALUE entries.
    Process(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});
    ~Process();

    // Waits for exit; nullopt on timeout. Returns the exit code (128 + signal when killed).
    std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(30));
    void signal(int signo) const;
    std::string output() const;
    // Waits for the start-up line and returns the port it names; 0 on timeout or exit.
    std::uint16_t wait_for_port(std::chrono::milliseconds timeout = std::chrono::seconds(20));
    // A /proc/<pid>/status field in kB ("VmRSS", "VmHWM").
    long status_kb(const std::string& field) const;
    pid_t pid() const { return pid_; }

private:
    pid_t pid_ = -1;
    std::string output_path_;
    bool reaped_ = false;
};

// Runs a command to completion and returns {exit code, combined output}.
std::pair<int, std::string> run_command(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});

}  // namespace modelhost::test
