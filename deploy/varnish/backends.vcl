# The modelhost origins behind this cache: edit the addresses. Each is probed on modelhost's readiness endpoint
# (<health.prefix>/readyz) and left out of the rotation while it fails.
probe modelhost_ready {
    .url = "/.modelhost/readyz";
    .interval = 5s;
    .timeout = 2s;
    .window = 3;
    .threshold = 2;
}

backend origin_a { .host = "10.0.0.11"; .port = "8080"; .probe = modelhost_ready; }
backend origin_b { .host = "10.0.0.12"; .port = "8080"; .probe = modelhost_ready; }

sub vcl_init {
    new origins = directors.round_robin();
    origins.add_backend(origin_a);
    origins.add_backend(origin_b);
}
