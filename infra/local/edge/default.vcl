# The edge (CDN stand-in): routes /api/* to the API balancer and everything else to the web
# balancer, and caches only what the origin marks shareable. Policy:
#   cached   GET/HEAD answers with Cache-Control "public" plus max-age/s-maxage > 0 or "immutable",
#            no Set-Cookie, no "private"/"no-store"/"no-cache" (the web tier's fingerprinted assets,
#            and briefly its plain asset paths, max-age=60);
#   passed   /api/* at once, as CloudFront's /api/* behaviour has caching disabled: a lookup made
#            concurrent requests for one URL wait for the first one's fetch (and all get its 503
#            when it failed); everything else unmarked, HTML pages included, is never stored
#            (hit-for-miss 2 min).
# Every answer carries X-Cache: HIT, MISS or PASS, and X-Request-Id (the client's when well-formed).
# Balancer names resolve when this VCL loads: run edge-reload after recreating a balancer.
vcl 4.1;

import std;

backend web_lb {
    .host = "web-lb";
    .port = "8080";
    .connect_timeout = 2s;
    .first_byte_timeout = 30s;
    .between_bytes_timeout = 10s;
}

backend api_lb {
    .host = "api-lb";
    .port = "8081";
    .connect_timeout = 2s;
    .first_byte_timeout = 30s;
    .between_bytes_timeout = 10s;
}

sub vcl_recv {
    if (req.http.X-Request-Id !~ "^[A-Za-z0-9._:-]{1,128}$") {
        set req.http.X-Request-Id = "edge-" + std.integer(time=now) + "-" + req.xid;
    }
    if (req.url ~ "^/api(/|$|\?)") {
        set req.backend_hint = api_lb;
        return (pass);
    }
    set req.backend_hint = web_lb;
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    if (req.http.Authorization) {
        return (pass);
    }
    # Content-hashed assets are the same for everyone: cookies must not split or bypass the cache.
    if (req.url ~ "\.[0-9a-f]{8,}\.[a-z0-9]+$") {
        unset req.http.Cookie;
    }
    if (req.http.Cookie) {
        return (pass);
    }
    return (hash);
}

sub vcl_backend_response {
    if (beresp.http.Set-Cookie
        || beresp.http.Cache-Control !~ "(?i)\bpublic\b"
        || beresp.http.Cache-Control ~ "(?i)\b(private|no-store|no-cache)\b"
        || !(beresp.http.Cache-Control ~ "(?i)\b(s-maxage|max-age)=[1-9]" || beresp.http.Cache-Control ~ "(?i)\bimmutable\b")
        || beresp.status >= 500) {
        set beresp.uncacheable = true;
        set beresp.ttl = 120s;
        return (deliver);
    }
    return (deliver);
}

sub vcl_hit {
    set req.http.X-Cache = "HIT";
}

sub vcl_miss {
    set req.http.X-Cache = "MISS";
}

sub vcl_pass {
    set req.http.X-Cache = "PASS";
}

sub vcl_deliver {
    if (obj.uncacheable) {
        set resp.http.X-Cache = "PASS";
    } else {
        set resp.http.X-Cache = req.http.X-Cache;
    }
    set resp.http.X-Request-Id = req.http.X-Request-Id;
    unset resp.http.Via;
    unset resp.http.X-Varnish;
}

sub vcl_synth {
    set resp.http.X-Request-Id = req.http.X-Request-Id;
}
