// Connection bookkeeping shared by the acceptors and the sessions.
#include "net/tracker.hpp"

#include "metrics/metrics.hpp"
#include "net/session.hpp"

#include <vector>

namespace modelhost::net {

Tracker::Admission Tracker::add(const std::shared_ptr<SessionBase>& s) {
    std::lock_guard lock(mutex_);
    const bool full = draining_ || live_.size() - refusing_ >= max_;
    if (full) metrics::count(metrics::Event::connection_refused);
    if (full && refusing_ >= max_refusing) return Admission::drop;
    live_.emplace(s.get(), Entry{s, full});
    metrics::set_active_connections(+1);
    if (full) ++refusing_;
    return full ? Admission::refuse : Admission::serve;
}

void Tracker::remove(const SessionBase* s) {
    std::function<void()> done;
    {
        std::lock_guard lock(mutex_);
        auto it = live_.find(s);
        if (it == live_.end()) return;
        if (it->second.refused) --refusing_;
        live_.erase(it);
        metrics::set_active_connections(-1);
        if (draining_ && live_.empty()) done = std::move(on_empty_);
    }
    if (done) done();
}

bool Tracker::hand_over(const SessionBase* from, const std::shared_ptr<SessionBase>& to) {
    std::lock_guard lock(mutex_);
    auto node = live_.extract(from);
    if (node.empty()) {  // (never: a session hands over only while registered)
        live_.emplace(to.get(), Entry{to, false});
        metrics::set_active_connections(+1);
        return draining_;
    }
    node.key() = to.get();
    node.mapped().session = to;
    live_.insert(std::move(node));
    return draining_;
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
        for (auto& [ptr, entry] : live_)
            if (auto s = entry.session.lock()) sessions.push_back(std::move(s));
    }
    for (auto& s : sessions) s->drain();
}

std::size_t Tracker::size() {
    std::lock_guard lock(mutex_);
    return live_.size();
}

}  // namespace modelhost::net
