// Connection bookkeeping shared by the acceptors and the sessions.
#include "net/tracker.hpp"

#include "net/session.hpp"

#include <vector>

namespace modelhost::net {

bool Tracker::add(const std::shared_ptr<SessionBase>& s) {
    std::lock_guard lock(mutex_);
    if (draining_ || live_.size() >= max_) return false;
    live_.emplace(s.get(), s);
    return true;
}

void Tracker::remove(const SessionBase* s) {
    std::function<void()> done;
    {
        std::lock_guard lock(mutex_);
        if (live_.erase(s) == 0) return;
        if (draining_ && live_.empty()) done = std::move(on_empty_);
    }
    if (done) done();
}

void Tracker::drain_all(std::function<void()> on_empty) {
    std::vector<std::shared_ptr<SessionBase>> sessions;
    {
        std::lock_guard lock(mutex_);
        draining_ = true;
        if (live_.empty()) {
            on_empty();
            return;
        }
        on_empty_ = std::move(on_empty);
        for (auto& [ptr, weak] : live_)
            if (auto s = weak.lock()) sessions.push_back(std::move(s));
    }
    for (auto& s : sessions) s->drain();
}

std::size_t Tracker::size() {
    std::lock_guard lock(mutex_);
    return live_.size();
}

}  // namespace modelhost::net
