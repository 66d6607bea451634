# The module among nginx's other features: internal redirects (try_files,
# error_page) cost one lookup and never leave a request waiting on a lookup
# let go, add_after_body keeps the page in order even while the filter
# waits for Redis, and a static page waits for the lookup before it is
# read (a static image or a POST does not), without reading the client
# meanwhile (one that half-closes gets its page).

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(sleep);
use VPT::Test;

my $root = repo_root();
my $dir = tmpdir();
my $port = free_port();

my $page = "<html><body><h1>Thanks</h1></body></html>\n";
my $footer = "<footer>shop footer</footer>\n";
mkdir "$dir/www";
write_file("$dir/www/thanks.html", $page);
write_file("$dir/www/footer.html", $footer);
mkdir "$dir/www/ab";
write_file("$dir/www/ab/thanks.html", $page);

my $rd = start_redis();

# an origin whose page starts 50 ms after its headers: Redis answers first
my $origin = start_origin(sub {
    return { headers => ['Content-Type', 'text/html'], body => $page,
             chunks => [ 1, length($page) - 1 ], delay => 0.05 };
});
# the same page at once: the filter reaches the anchor before Redis answers
my $fast = start_origin(sub {
    return { headers => ['Content-Type', 'text/html'], body => $page };
});
write_file("$dir/www/pixel.png", "\x89PNG\r\n\x1a\n");
for my $who ('amy', 'bea', 'cid') {
    redis_cmd($rd, 'SET', "vpt:ctx:$who",
              encode_json({ user => { id => $who }, device => 'desktop' }));
}

my $ng = start_nginx(ports => [$port], http => <<"HTTP");
    vpt_catalog $root/t/data/catalog-redis.json;
    vpt_redis 127.0.0.1:$rd->{port};

    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        vpt on;
        vpt_redis_timeout 200ms;

        location /tf/ { try_files /nothing.html \@thanks; }
        location /same/ {
            alias $dir/www/;
            try_files \$uri /same/thanks.html;
        }
        location \@thanks { rewrite ^ /thanks.html break; }

        # A -> B (try_files) -> A (error_page): the lookup A let go at the
        # first redirect must not be taken up again
        location /ab/ { try_files \$uri /bp/landing.html; }
        location /bp/ { error_page 404 /ab/thanks.html; }
        location /footer/ {
            alias $dir/www/;
            add_after_body /footer.html;
        }
        location /fast-footer/ {
            proxy_pass http://127.0.0.1:$fast->{port}/;
            add_after_body /footer.html;
        }
        location /slow-footer/ {
            proxy_pass http://127.0.0.1:$origin->{port}/;
            add_after_body /footer.html;
        }
    }
HTTP

sub getranges {
    my $info = redis_cmd($rd, 'INFO', 'commandstats');
    return $info =~ /cmdstat_getrange:calls=(\d+)/ ? $1 : 0;
}

sub last_log {
    return last_logged($ng);
}

{
    my $r = http_get($port, '/tf/x', sid => 'amy');
    like($r->{body}, qr/Hi amy/, 'try_files to a named location: the offer');
    is(last_log()->{status}, 'injected', 'status injected');

    my $before = getranges();
    $r = http_get($port, '/same/x', sid => 'amy');
    like($r->{body}, qr/Hi amy/,
         'try_files back into the same location: the offer')
        or diag $r->{body}, "\n", join("\n", access_log_lines($ng));
    is(getranges() - $before, 1,
       'and the lookup started before the redirect is reused: one, not two');
}

{
    my $r = http_get($port, '/slow-footer/thanks.html', sid => 'bea');
    my $l = last_log();
    (my $want = $page) =~ s{</body>}{<div class="vpt-offer" data-vpt-decision="$l->{decision}" data-vpt-offer="hello"><p class="hello">Hi bea</p></div></body>};
    is($r->{body}, $want . $footer,
       'add_after_body: the offer in the page, the footer after it');
}

{
    # Redis slower than the page: the filter waits at the anchor when the
    # addition filter ends the page's part; the footer must still come last
    my $pid = fork // die;
    if ($pid == 0) {
        eval { redis_cmd($rd, 'DEBUG', 'SLEEP', '0.1') };
        POSIX::_exit(0);
    }
    sleep 0.02;
    my $r = http_get($port, '/fast-footer/thanks.html', sid => 'amy');
    waitpid $pid, 0;
    is($r->{body}, $page . $footer,
       'add_after_body while waiting for Redis: page, then footer, in order');
    is(last_log()->{status}, 'redis_timeout',
       'and the page did not wait: no offer this time');
}

# Redis busy for 0.1 s, the lookup's timer at 200 ms (generous margins:
# these check who waits, not how fast anything is)
sub while_redis_sleeps {
    my ($secs, $code) = @_;
    my $pid = fork // die;
    if ($pid == 0) {
        eval { redis_cmd($rd, 'DEBUG', 'SLEEP', $secs) };
        POSIX::_exit(0);
    }
    sleep 0.02;
    my @r = $code->();
    waitpid $pid, 0;
    return @r;
}

{
    my ($r, $t) = while_redis_sleeps(0.1, sub {
        my $t0 = Time::HiRes::time();
        my $r = http_get($port, '/footer/thanks.html', sid => 'bea');
        return ($r, Time::HiRes::time() - $t0);
    });
    my $l = last_log();
    is($l->{status}, 'injected',
       'a static page waits for a slow Redis before it is read: the offer');
    (my $want = $page) =~ s{</body>}{<div class="vpt-offer" data-vpt-decision="$l->{decision}" data-vpt-offer="hello"><p class="hello">Hi bea</p></div></body>};
    is($r->{body}, $want . $footer, 'the page whole, the footer after it');
    cmp_ok($t, '>', 0.05, 'it did wait for Redis');
}

{
    my ($r, $t) = while_redis_sleeps(1, sub {
        my $t0 = Time::HiRes::time();
        my $r = http_get($port, '/footer/pixel.png', sid => 'bea');
        return ($r, Time::HiRes::time() - $t0);
    });
    is($r->{status}, 200, 'a static image in the same location: 200');
    cmp_ok($t, '<', 0.15, 'and it does not wait for Redis (asleep for 1 s)');
}

{
    # a shopper who leaves while the page waits: the page goes out when the
    # lookup ends (the client is not read meanwhile), and the late reply
    # finds nothing to resume
    while_redis_sleeps(0.3, sub {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp')
            or die "connect: $!";
        print $s "GET /footer/thanks.html HTTP/1.1\r\nHost: localhost\r\n"
            . "User-Agent: $BROWSER\r\n"
            . "Cookie: vpt_sid=cid\r\n\r\n";
        sleep 0.05;
        close $s;
        return ();
    });
    my $r = http_get($port, '/footer/thanks.html', sid => 'cid');
    like($r->{body}, qr/Hi cid/, "the next page gets its offer")
        or diag explain last_log();
    my @l = access_log_lines($ng);
    like($l[-2], qr/"status":\s*"redis_timeout"/,
         'the one that left: logged, without an offer')
        or diag $l[-2];
}

{
    # an HTTP/1.0 client that closes its sending side after the request
    # (scripts, health checks) while the page waits: it gets the page
    my ($data) = while_redis_sleeps(0.3, sub {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $port, Proto => 'tcp')
            or die "connect: $!";
        print $s "GET /thanks.html HTTP/1.0\r\nCookie: vpt_sid=cid\r\n"
            . "User-Agent: $BROWSER\r\n\r\n";
        sleep 0.03;
        shutdown $s, 1;
        my $data = '';
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm 3;
        eval { 1 while sysread $s, $data, 65536, length $data };
        alarm 0;
        close $s;
        return ($data);
    });
    like($data, qr{^HTTP/1\.1 200 }, 'half-closed while waiting: 200');
    like($data, qr{\r\n\r\n\Q$page\E\z},
         'half-closed while waiting: the whole page');
    is(last_log()->{status}, 'redis_timeout',
       'logged as redis_timeout (Redis was asleep)');
}

{
    # A -> B -> A: a request that came back to the location whose lookup it
    # let go answers at once (it used to wait for a lookup that was gone)
    my $r;
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm 3;
    my $ok = eval { $r = http_get($port, '/ab/x', sid => 'amy'); 1 };
    alarm 0;
    ok($ok, 'redirected A -> B -> A: the request answers');
    is($r && $r->{status}, 404, 'with the error page\'s 404');
    is($r && $r->{body}, $page, 'and the error page unchanged');
}

{
    # a POST to a static page (405, never spliced) does not wait for Redis
    my ($r, $t) = while_redis_sleeps(1, sub {
        my $t0 = Time::HiRes::time();
        my $r = http_get($port, '/thanks.html', sid => 'bea',
                         method => 'POST');
        return ($r, Time::HiRes::time() - $t0);
    });
    is($r->{status}, 405, 'a POST to a static page: 405');
    cmp_ok($t, '<', 0.15, 'a POST: without waiting for Redis (asleep 1 s)');
}

unlike(error_log($ng), qr/\[(alert|crit|emerg)\]/, 'no alerts');

done_testing();
