// The set of live connections: the connection limit, and draining them all at shutdown.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace modelhost::net {

class SessionBase;

class Tracker {
public:
    explicit Tracker(std::size_t max_connections) : max_(max_connections) {}

    enum class Admission { serve, refuse, drop };
    // Registers a new connection: serve it; or, at max_connections, refuse it with a 503 (counted too, at most
    // max_refusing at a time); or, past that as well, drop it at once. So descriptors stay bounded.
    Admission add(const std::shared_ptr<SessionBase>& s);
    void remove(const SessionBase* s);
    // The connection `from` continues as `to` (HTTP/1.1 handing over to HTTP/2), counted once, refused or not.
    // True when the server is draining (`to` should drain too).
    bool hand_over(const SessionBase* from, const std::shared_ptr<SessionBase>& to);

    // Asks every connection to finish and close; `on_empty` runs (once) when the last one is gone.
    void drain_all(std::function<void()> on_empty);
    std::size_t size();

private:
    std::mutex mutex_;
    struct Entry {
        std::weak_ptr<SessionBase> session;
        bool refused = false;
    };
    std::unordered_map<const SessionBase*, Entry> live_;
    std::size_t max_;
    std::size_t refusing_ = 0;
    static constexpr std::size_t max_refusing = 64;
    bool draining_ = false;
    std::function<void()> on_empty_;
};

}  // namespace modelhost::net
