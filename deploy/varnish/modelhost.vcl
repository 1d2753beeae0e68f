# Varnish in front of one or more modelhost origins (docs/DEPLOYMENT: "Behind a CDN"; tested by
# tests/integration/varnish_test.cpp). The origins are named in backends.vcl, found on vcl_path next to this file.
#
# What makes this correct rather than merely fast:
# - CORS: modelhost answers `Vary: Origin` whenever its answer depends on Origin (an allow-list), so Varnish keeps
#   one object per Origin value and never hands one site's Access-Control-Allow-Origin to another. Nothing here
#   rewrites Origin or any CORS header.
# - model.json comes with `Cache-Control: no-cache`: stored, but revalidated with an origin before every use
#   (RFC 9111 §5.2.2.4) by a conditional request; origins agree on ETags (size + mtime), so whichever origin is
#   asked answers 304 and the body is not sent again.
# - Shards come with `max-age` and are served from the cache; ranges (`Range`) are cut from the cached object.
# - Preflights (OPTIONS) and anything but GET/HEAD go to an origin untouched (Varnish's built-in rules).
vcl 4.1;

import directors;

include "backends.vcl";  # backends plus `sub vcl_init` making the round-robin director `origins`

sub vcl_recv {
    set req.backend_hint = origins.backend();
}

sub vcl_backend_response {
    if (beresp.http.Cache-Control ~ "(^|,)\s*no-cache\s*(,|$)") {
        set beresp.ttl = 0.001s;  # stale at once: every use is a conditional fetch (0s would not be stored)
        set beresp.grace = 0s;
        set beresp.keep = 1d;  # but kept, so that fetch carries If-None-Match and a 304 refreshes it
        return (deliver);      # not the built-in rule, which would not store it at all
    }
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Cache = "hit";
    } else {
        set resp.http.X-Cache = "miss";
    }
}
