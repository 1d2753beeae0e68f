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

    // Registers a new connection; false when the limit is reached (the caller refuses it).
    bool add(const std::shared_ptr<SessionBase>& s);
    void remove(const SessionBase* s);

    // Asks every connection to finish and close; `on_empty` runs (once) when the last one is gone.
    void drain_all(std::function<void()> on_empty);
    std::size_t size();

private:
    std::mutex mutex_;
    std::unordered_map<const SessionBase*, std::weak_ptr<SessionBase>> live_;
    std::size_t max_;
    bool draining_ = false;
    std::function<void()> on_empty_;
};

}  // namespace modelhost::net
