// fork/exec with captured output.
#include "process.hpp"

#include <algorithm>
#include <string_view>

#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace modelhost::test {

Process::Process(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
    char tmpl[] = "/tmp/modelhost-proc-XXXXXX";
    int out = ::mkstemp(tmpl);
    if (out < 0) throw std::runtime_error("mkstemp failed");
    output_path_ = tmpl;
    std::vector<std::string> envs;
    // `env` entries replace inherited ones of the same name (getenv would otherwise see the inherited one first).
    for (char** e = environ; *e; ++e) {
        std::string_view entry(*e);
        auto name = entry.substr(0, entry.find('=') + 1);
        bool replaced = std::any_of(env.begin(), env.end(), [&](const std::string& mine) { return mine.starts_with(name); });
        if (!replaced) envs.emplace_back(entry);
    }
    envs.insert(envs.end(), env.begin(), env.end());
    // Built before fork: the child of a multi-threaded process may only make async-signal-safe calls until exec
    // (another thread may hold the allocator's lock at fork time; allocating in the child would deadlock).
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (const auto& e : envs) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
        ::dup2(out, 1);
        ::dup2(out, 2);
        ::execve(args[0], args.data(), envp.data());
        ::_exit(127);
    }
    ::close(out);
}

Process::~Process() {
    if (!reaped_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }
    ::unlink(output_path_.c_str());
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
    if (reaped_) return std::nullopt;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_) {
            reaped_ = true;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

void Process::signal(int signo) const { ::kill(pid_, signo); }

std::string Process::output() const {
    std::ifstream in(output_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::uint16_t Process::wait_for_port(std::chrono::milliseconds timeout) {
    static const std::regex line(R"(serving .* at https?://[^ ]*:(\d+) )");
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        std::smatch m;
        std::string out = output();
        if (std::regex_search(out, m, line)) return static_cast<std::uint16_t>(std::stoi(m[1]));
        int status;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            reaped_ = true;
            return 0;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return 0;
}

long Process::status_kb(const std::string& field) const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    for (std::string l; std::getline(in, l);)
        if (l.starts_with(field + ":")) return std::stol(l.substr(field.size() + 1));
    return -1;
}

std::pair<int, std::string> run_command(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
    Process p(argv, env);
    auto code = p.wait(std::chrono::seconds(60));
    return {code.value_or(-1), p.output()};
}

}  // namespace modelhost::test
