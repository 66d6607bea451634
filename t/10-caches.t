# Personalised pages stay out of shared caches, CDNs included, and a page
# without an offer keeps no validators that would let nginx answer the
# shopper's next view with 304 before the module runs.  Each header with a
# real upstream and with a static file.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use VPT::Test;

my $root = repo_root();
my $dir = tmpdir();
my $port = free_port();

my $page = "<html><body><h1>Thanks</h1></body></html>\n";
mkdir "$dir/www";
write_file("$dir/www/thanks.html", $page);

my $rd = start_redis();
redis_cmd($rd, 'SET', "vpt:ctx:$_", encode_json({ user => { id => $_ } }))
    for qw(alice bob);

# the upstream's caching headers come in the X-Cc query argument's case
my %cases = (
    public => [ 'Cache-Control' => 'public, max-age=600',
                'CDN-Cache-Control' => 'max-age=600',
                'Cloudflare-CDN-Cache-Control' => 'max-age=600',
                'Surrogate-Control' => 'max-age=600',
                'Vary' => 'Accept-Encoding' ],
    fieldname => [ 'Cache-Control' => 'private="Set-Cookie", max-age=600' ],
    quoted => [ 'Cache-Control' => 'no-cache="Set-Cookie, X-A", max-age=60' ],
    private => [ 'Cache-Control' => 'private, max-age=60',
                 'CDN-Cache-Control' => 'max-age=600',
                 'Vary' => 'cookie' ],
);
my $origin = start_origin(sub {
    my ($method, $path) = @_;
    my ($case) = $path =~ m{/(\w+)$};
    return { headers => [ 'Content-Type' => 'text/html',
                          'ETag' => '"v1"',
                          'Last-Modified' => 'Mon, 07 Dec 2026 10:00:00 GMT',
                          @{ $cases{$case} // [] } ],
             body => $page };
});

my $ng = start_nginx(ports => [$port], http => <<"HTTP");
    vpt_catalog $root/t/data/catalog-redis.json;
    vpt_redis 127.0.0.1:$rd->{port};

    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        vpt on;
        vpt_redis_timeout 200ms;

        location /up/ {
            proxy_pass http://127.0.0.1:$origin->{port}/;
        }

        location /hdr/ {
            vpt_session_key \$http_x_session;
            proxy_pass http://127.0.0.1:$origin->{port}/;
        }

        location /dull/ {
            vpt_min_value 1000;
            proxy_pass http://127.0.0.1:$origin->{port}/;
        }

        location /ab/ {
            vpt_split test 100%;
            proxy_pass http://127.0.0.1:$origin->{port}/;
        }

        location /static/ {
            alias $dir/www/;
            expires 10m;
            add_header CDN-Cache-Control "max-age=600";
            add_header Surrogate-Control "max-age=600";
        }

        location /static-dull/ {
            alias $dir/www/;
            vpt_min_value 1000;
        }
    }
HTTP

sub get {
    my ($path, %o) = @_;
    my $r = http_get($port, $path, %o);
    $r->{log} = last_logged($ng);
    return $r;
}

# --- an offer injected: the response is private and varies by the session -

{
    my $r = get('/up/public', sid => 'alice');
    my $h = $r->{headers};
    is($r->{log}{status}, 'injected', 'upstream, offer: injected');
    is($h->{'cache-control'}, 'private, max-age=600',
       'upstream, offer: Cache-Control private instead of public');
    ok(!exists $h->{'cdn-cache-control'}, 'upstream, offer: no CDN-Cache-Control');
    ok(!exists $h->{'cloudflare-cdn-cache-control'},
       'upstream, offer: no vendor CDN-Cache-Control');
    ok(!exists $h->{'surrogate-control'}, 'upstream, offer: no Surrogate-Control');
    is($h->{vary}, 'Accept-Encoding, Cookie',
       'upstream, offer: Vary: Cookie added to the upstream\'s Vary');
    ok(!exists $h->{etag} && !exists $h->{'last-modified'},
       'upstream, offer: no validators');
}

{
    my $r = get('/up/fieldname', sid => 'alice');
    is($r->{headers}{'cache-control'}, 'private, max-age=600',
       'private="Set-Cookie" is not private: the whole response made private');
}

{
    my $r = get('/up/quoted', sid => 'alice');
    is($r->{headers}{'cache-control'},
       'private, no-cache="Set-Cookie, X-A", max-age=60',
       'a quoted comma does not split a directive');
}

{
    my $r = get('/up/private', sid => 'alice');
    my $h = $r->{headers};
    is($h->{'cache-control'}, 'private, max-age=60',
       'already private: Cache-Control as it was');
    ok(!exists $h->{'cdn-cache-control'},
       'already private: CDN-Cache-Control still removed');
    is($h->{vary}, 'cookie', 'Vary already names Cookie: not twice');
}

{
    my $r = get('/hdr/public', headers => { 'X-Session' => 'alice' });
    is($r->{log}{status}, 'injected', 'session from a header: injected');
    is($r->{headers}{vary}, 'Accept-Encoding, X-Session',
       'session from a header: Vary names that header');
}

# --- no offer ------------------------------------------------------------

{
    # the decision read the shopper's context and chose nothing: personal
    my $r = get('/dull/public', sid => 'alice');
    my $h = $r->{headers};
    is($r->{log}{status}, 'suppressed', 'nothing worth showing: suppressed');
    is($h->{'cache-control'}, 'private, max-age=600',
       'suppressed: private');
    ok(!exists $h->{'cdn-cache-control'} && !exists $h->{'surrogate-control'},
       'suppressed: no CDN fields');
    is($h->{vary}, 'Accept-Encoding, Cookie', 'suppressed: Vary: Cookie');
    ok(!exists $h->{etag} && !exists $h->{'last-modified'},
       'suppressed: no validators (an offer may come on the next view)');
    is($r->{body}, $page, 'suppressed: the page as it was');
}

# Without a session, or with one but no context stored yet, the decision
# stands on the request alone (basis "request"): here always the offer
# that needs no context, and under vpt_min_value 1000 always nothing.
# Each outcome has its own rules, so each is asserted, not branched on.

for my $case ([ 'no session', () ], [ 'no context', sid => 'nobody' ]) {
    my ($name, @sid) = @$case;

    my $r = get('/up/public', @sid);
    my $h = $r->{headers};
    is($r->{log}{status}, 'injected', "$name: injected");
    is($r->{log}{basis}, 'request', "$name: decided on the request");
    is($r->{log}{offer}, 'fallback', "$name: the offer that needs no context");
    is($h->{'cache-control'}, 'private, max-age=600', "$name, offer: private");
    ok(!exists $h->{'cdn-cache-control'} && !exists $h->{'surrogate-control'},
       "$name, offer: no CDN fields");
    is($h->{vary}, 'Accept-Encoding, Cookie', "$name, offer: Vary: Cookie");
    ok(!exists $h->{etag} && !exists $h->{'last-modified'},
       "$name, offer: no validators");

    $r = get('/dull/public', @sid);
    $h = $r->{headers};
    is($r->{log}{status}, 'suppressed', "$name, nothing worth showing: "
                                        . 'suppressed');
    is($r->{log}{basis}, 'request', "$name, nothing: decided on the request");
    is($h->{'cache-control'}, 'public, max-age=600',
       "$name, nothing shown, no context read: Cache-Control kept");
    is($h->{'cdn-cache-control'}, 'max-age=600',
       "$name, nothing shown, no context read: CDN field kept");
    is($h->{vary}, 'Accept-Encoding', "$name, nothing shown: Vary kept");
    ok(!exists $h->{etag} && !exists $h->{'last-modified'},
       "$name, nothing shown: no validators (an offer may come on the next "
       . 'view)');
    is($r->{body}, $page, "$name, nothing shown: the page as it was");
}

{
    # a bot is never offered anything: its page keeps what it had
    my $r = get('/up/public', headers => { 'User-Agent' => 'curl/8.0' });
    my $h = $r->{headers};
    is($r->{log}{status}, 'bot', 'bot: bot');
    is($h->{etag}, '"v1"', 'bot: ETag kept');
    is($h->{'cdn-cache-control'}, 'max-age=600', 'bot: CDN field kept');
}

{
    my $r = get('/ab/public', sid => 'alice');
    my $h = $r->{headers};
    is($r->{log}{status}, 'control', 'control shopper: control');
    is($h->{etag}, '"v1"', 'control: ETag kept (the page never changes)');
    is($h->{'cache-control'}, 'public, max-age=600',
       'control: Cache-Control kept');
}

# --- a static file --------------------------------------------------------

{
    my $plain = get('/static/thanks.html',
                    headers => { 'User-Agent' => 'curl/8.0' });
    ok(exists $plain->{headers}{etag} && exists $plain->{headers}{'last-modified'},
       'static, a bot: validators kept');

    my $r = get('/static/thanks.html', sid => 'alice');
    my $h = $r->{headers};
    is($r->{log}{status}, 'injected', 'static, offer: injected');
    is($h->{'cache-control'}, 'private, max-age=600',
       'static, offer: expires\' Cache-Control made private');
    ok(!exists $h->{'cdn-cache-control'} && !exists $h->{'surrogate-control'},
       'static, offer: add_header\'s CDN fields removed');
    is($h->{vary}, 'Cookie', 'static, offer: Vary: Cookie');
    ok(!exists $h->{etag} && !exists $h->{'last-modified'},
       'static, offer: no validators');

    # a conditional request for the page the shopper saw without an
    # offer: there is no validator to send, so the page comes back whole
    $r = get('/static-dull/thanks.html', sid => 'bob');
    is($r->{log}{status}, 'suppressed', 'static, no offer: suppressed');
    ok(!exists $r->{headers}{etag} && !exists $r->{headers}{'last-modified'},
       'static, no offer: no validators for a conditional request');
    $r = get('/static/thanks.html', sid => 'bob',
             headers => { 'If-None-Match' => $plain->{headers}{etag} });
    is($r->{status}, 304,
       '(what a validator would have led to: 304, no offer)');
}

done_testing();
