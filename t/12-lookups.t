# Redis is asked only for requests that can be pages: a GET (or HEAD)
# whose extension is not a type vpt_types leaves out.  Images, scripts,
# style sheets and their 404s, static or proxied, cost no command and are
# not counted as requests; a page reached through try_files and a named
# location costs one lookup, not one per location.

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
mkdir "$dir/www/assets";
write_file("$dir/www/thanks.html", $page);
write_file("$dir/www/assets/logo.png", "\x89PNG\r\n\x1a\n");
write_file("$dir/www/assets/app.js", "var x = 1;\n");
write_file("$dir/www/assets/site.css", "body { color: red }\n");

my $rd = start_redis();
redis_cmd($rd, 'SET', "vpt:ctx:$_", encode_json({ user => { id => $_ } }))
    for qw(amy bea cid dan);

# the application behind try_files: any path is a page, but for an
# image it has not (its HTML 404 page)
my $origin = start_origin(sub {
    my ($method, $path) = @_;
    return { status => 404, headers => [ 'Content-Type' => 'text/html' ],
             body => "<html><body>not found</body></html>" }
        if $path =~ /\.png$/;
    my $type = $path =~ /\.js$/ ? 'application/javascript' : 'text/html';
    return { headers => [ 'Content-Type' => $type ], body => $page };
});

my $ng = start_nginx(ports => [$port], http => <<"HTTP");
    vpt_catalog $root/t/data/catalog-redis.json;
    vpt_redis 127.0.0.1:$rd->{port};

    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        vpt on;
        vpt_redis_timeout 200ms;

        location / {
            try_files \$uri \@app;
        }

        location \@app {
            proxy_pass http://127.0.0.1:$origin->{port};
        }

        # the named location has its own split: the lookup of the first
        # location serves it, with this location's arm
        location /held/ {
            try_files \$uri \@held;
        }

        location \@held {
            vpt_split held 100%;
            proxy_pass http://127.0.0.1:$origin->{port};
        }

        location /api/ {
            proxy_pass http://127.0.0.1:$origin->{port};
        }

        location = /vpt/status { vpt_status_page; }
    }
HTTP

sub commands {
    my $info = redis_cmd($rd, 'INFO', 'commandstats');
    my %n;
    $n{$1} = $2 while $info =~ /cmdstat_(\w+):calls=(\d+)/g;
    return \%n;
}

sub lookups {
    my $n = commands();
    return ($n->{getrange} // 0) + ($n->{hgetall} // 0);
}

sub requests_total {
    my $s = http_get($port, '/vpt/status')->{body};
    return $s =~ /^vpt_requests_total (\d+)$/m ? $1 : -1;
}

sub last_log {
    return last_logged($ng);
}

# the first page view: the connection is up and the counters exist
like(http_get($port, '/thanks.html', sid => 'amy')->{body}, qr/Hi amy/,
     'a static page: the offer');
# its impression is written after the page: wait for it to be counted
wait_for(sub { (redis_cmd($rd, 'TTL', 'vpt:ctx:amy:vpt') // -2) > 0 }, 2);

{
    my $before = commands();
    my $total = 0;
    $total += $_ for values %$before;
    my $req = requests_total();

    my (%status, %logged);
    my @assets = ('/assets/logo.png', '/assets/app.js', '/assets/site.css',
                  '/assets/missing.png', '/api/bundle.js');
    for my $i (1 .. 60) {
        for my $a (@assets) {
            my $r = http_get($port, $a, sid => 'bea');
            $status{$r->{status}}++;
            $logged{last_log()->{status}}++;
        }
    }

    my $after = commands();
    my $total_after = 0;
    $total_after += $_ for values %$after;
    # INFO itself is one command each time it is asked
    is($total_after - $total - 1, 0,
       '300 asset requests (static, missing, proxied): '
       . 'no Redis command at all');
    is_deeply(\%status, { 200 => 240, 404 => 60 },
              'the assets were served (and the missing one is 404)');
    is(requests_total() - $req, 0,
       'vpt_requests_total counts none of them');
    is_deeply(\%logged, { skipped => 300 }, '$vpt_status of each: skipped');
}

{
    my $before = lookups();
    my $req = requests_total();
    my $r = http_get($port, '/checkout/done', sid => 'cid');
    like($r->{body}, qr/Hi cid/,
         'try_files $uri @app: the application\'s page gets the offer');
    is(last_log()->{status}, 'injected', 'logged as injected');
    is(lookups() - $before, 2,
       'one lookup (GETRANGE and HGETALL) for the page, '
       . 'not one per location');
    is(requests_total() - $req, 1, 'counted once');
}

{
    my $before = lookups();
    my $r = http_get($port, '/held/done', sid => 'dan');
    is($r->{body}, $page, 'into a named location with a 100% split: '
                          . 'the page untouched');
    my $l = last_log();
    is($l->{status}, 'control', 'logged as control (that location\'s arm)');
    is($l->{variant}, 'control', '$vpt_variant control');
    is(lookups() - $before, 2, 'one lookup');
}

{
    my $before = lookups();
    my $r = http_get($port, '/checkout/done', sid => 'dan', method => 'POST');
    is($r->{status}, 200, 'a POST to the application: its page');
    is($r->{body}, $page, 'untouched');
    is(lookups() - $before, 0, 'and no lookup');
}

{
    my $before = lookups();
    my $r = http_get($port, '/api/page.php', sid => 'dan');
    like($r->{body}, qr/Hi dan/,
         'an extension nginx does not know (.php) may be a page: the offer');
    is(lookups() - $before, 2, 'after one lookup');
}

unlike(error_log($ng), qr/\[(alert|crit|emerg)\]/, 'no alerts');

done_testing();
