// The server's own answers, step 5 of the pipeline: liveness and readiness, the metrics, the status page and the
// catalog (/v1/models). Compiled once with the policy; the catalog's figures come from the catalog service's
// summary (made when it scans), so no answer here parses or walks anything per request.
#pragma once

#include "config/config.hpp"
#include "http/endpoint_paths.hpp"
#include "http/message.hpp"
#include "http/status_page.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace modelhost::http {

struct Resources;
struct Target;

class Endpoints {
public:
    explicit Endpoints(const config::Config& cfg);

    // For a GET or HEAD of a built-in endpoint, its reply and log note made in `ex`, and true; false for any other
    // path, and for "/" when the root has an index.html (the file step serves it). Paths under the health prefix
    // match as sent (the prefix may be a dot-folder, which the target step refuses); the others once decoded.
    bool answer(const Request& req, const Target& target, bool draining, const Resources& resources, Exchange& ex) const;

    const EndpointPaths& paths() const { return paths_; }
    bool tls() const { return tls_; }  // the scheme of the URLs the server writes into its answers

private:
    Reply status_reply(const Request& req, const Resources& resources) const;
    Reply metrics_reply(const Resources& resources, unsigned version) const;

    EndpointPaths paths_;
    std::vector<std::string> route_labels_;  // "top level", then each route's glob: the metrics' route label values
    StatusFacts status_;                     // all but base_url, which comes from each request's Host
    bool tls_ = false;                       // the scheme of the status page's URLs
    // The last status page made, with what it was made from: the next request with the same catalog summary and
    // base URL is sent the same bytes (a page loop costs a send each, not a page each). One entry: a new Host
    // replaces it, so a client varying Host costs what it did before, never memory.
    struct MadePage {
        std::shared_ptr<const models::CatalogSummary> summary;
        std::string base_url;
        std::shared_ptr<const std::string> html;
    };
    mutable std::atomic<std::shared_ptr<const MadePage>> last_page_;
};

}  // namespace modelhost::http
