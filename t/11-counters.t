# The per-shopper counters fail closed and never live forever: counters
# that Redis will not give (an error reply, like a lost connection) show
# no offer at all, since any offer may be capped or accepted; every write
# that may create the hash carries its TTL, even when the hash expired
# between the page's lookup and its impression.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep);
use VPT::Test;

my $root = repo_root();
my $dir = tmpdir();
my $port = free_port();

my $page = "<html><body><h1>Thanks</h1></body></html>\n";
mkdir "$dir/www";
write_file("$dir/www/thanks.html", $page);

my $rd = start_redis();

# the anchor comes 1 s after the headers: time to change Redis between
# the lookup and the impression
my $origin = start_origin(sub {
    return { headers => ['Content-Type', 'text/html'], body => $page,
             chunks => [ 20, length($page) - 20 ], delay => 1 };
});

my $ng = start_nginx(ports => [$port], http => <<"HTTP");
    vpt_catalog $root/t/data/catalog-redis.json;
    vpt_redis 127.0.0.1:$rd->{port};

    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        vpt on;
        vpt_redis_timeout 200ms;

        location /slow/ {
            proxy_pass http://127.0.0.1:$origin->{port}/;
        }
    }
HTTP

sub last_log {
    wait_for(sub { scalar access_log_lines($ng) }, 2);
    return last_logged($ng);
}

sub ctx { encode_json({ user => { id => $_[0] } }) }

# --- counters that cannot be read: no offer -------------------------------

{
    redis_cmd($rd, 'SET', 'vpt:ctx:bob', ctx('bob'));
    my $r = http_get($port, '/thanks.html', sid => 'bob');
    like($r->{body}, qr{class="hello"}, 'readable counters: the offer');

    # ACL: the module's user may read the context but not the counters;
    # HGETALL answers NOPERM, an error like any other Redis failure
    redis_cmd($rd, 'ACL', 'SETUSER', 'default', 'resetkeys', '~vpt:ctx:bob');
    $r = http_get($port, '/thanks.html', sid => 'bob');
    redis_cmd($rd, 'ACL', 'SETUSER', 'default', 'allkeys');

    is($r->{body}, $page, 'counters refused: the page without an offer, '
                          . 'not even the uncapped one');
    my $l = last_log();
    is($l->{status}, 'redis_error', 'counters refused: redis_error');
    like(error_log($ng), qr/HGETALL of the counters failed: NOPERM.*no offer is shown/,
         'counters refused: logged');

    $r = http_get($port, '/thanks.html', sid => 'bob');
    like($r->{body}, qr{class="hello"}, 'readable again: the offer is back');
}

# --- every write carries the TTL -------------------------------------------

{
    # the hash exists when the page looks it up, and is gone (expired)
    # before the offer is shown: the impression makes it again, with a TTL
    redis_cmd($rd, 'SET', 'vpt:ctx:carol', ctx('carol'));
    redis_cmd($rd, 'HSET', 'vpt:ctx:carol:vpt', 'i:fallback', 1);
    redis_cmd($rd, 'EXPIRE', 'vpt:ctx:carol:vpt', 100);
    my ($hgetalls) = redis_cmd($rd, 'INFO', 'commandstats')
                     =~ /cmdstat_hgetall:calls=(\d+)/;
    $hgetalls //= 0;

    my $pid = fork // die;
    if ($pid == 0) {
        # once the lookup has read the hash (its HGETALL is counted)
        wait_for(sub { redis_cmd($rd, 'INFO', 'commandstats')
                       =~ /cmdstat_hgetall:calls=(\d+)/ && $1 > $hgetalls },
                 5);
        redis_cmd($rd, 'DEL', 'vpt:ctx:carol:vpt');
        POSIX::_exit(0);
    }
    my $r = http_get($port, '/slow/thanks.html', sid => 'carol');
    waitpid $pid, 0;
    like($r->{body}, qr{class="hello"}, 'the page got its offer');
    ok(wait_for(sub { (redis_cmd($rd, 'HGET', 'vpt:ctx:carol:vpt',
                                 'i:hello') // '') eq '1' }, 2),
       'the impression made the hash again');
    my $ttl = redis_cmd($rd, 'TTL', 'vpt:ctx:carol:vpt');
    ok($ttl > 2592000 - 60 && $ttl <= 2592000,
       "and it has its 30 days' TTL ($ttl)");
}

{
    # an existing hash keeps its own TTL (30 days from its first write,
    # EXPIRE ... NX), a second impression does not restart it
    redis_cmd($rd, 'SET', 'vpt:ctx:dave', ctx('dave'));
    redis_cmd($rd, 'HSET', 'vpt:ctx:dave:vpt', 'i:other', 1);
    redis_cmd($rd, 'EXPIRE', 'vpt:ctx:dave:vpt', 1000);
    http_get($port, '/thanks.html', sid => 'dave');
    ok(wait_for(sub { (redis_cmd($rd, 'HGET', 'vpt:ctx:dave:vpt',
                                 'i:hello') // '') eq '1' }, 2),
       'an impression in an existing hash');
    my $ttl = redis_cmd($rd, 'TTL', 'vpt:ctx:dave:vpt');
    ok($ttl > 900 && $ttl <= 1000, "its TTL is left as it was ($ttl)");
}

done_testing();
