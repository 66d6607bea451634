# Session context from a real redis-server: every outcome of the lookup,
# Redis stopped, killed under load, slowed, restarted, on a unix socket,
# many shoppers at once.  In every case the page is complete and correct.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use IO::Select;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);
use VPT::Test;

my $root = repo_root();
my $dir = tmpdir();
my $port = free_port();
my $uport = free_port();
my $sock = "$dir/redis.sock";

my $page = "<html><body><h1>Thanks</h1>" . ("<p>order details</p>\n" x 200)
         . "</body></html>\n";
mkdir "$dir/www";
write_file("$dir/www/thanks.html", $page);

my $rd = start_redis(unix => $sock);
my $rport = $rd->{port};

# an origin that streams the page in 12 pieces, 10 ms apart
my $origin = start_origin(sub {
    return { headers => ['Content-Type', 'text/html'], body => $page,
             chunks => [ (int(length($page) / 12)) x 12 ], delay => 0.01,
             chunked => 1 };
});

sub nginx_http {
    my ($listen, $redis) = @_;
    return <<"HTTP";
    vpt_catalog $root/t/data/catalog-redis.json;
    vpt_redis $redis;

    server {
        listen 127.0.0.1:$listen;
        root $dir/www;
        vpt on;
        vpt_redis_timeout 50ms;
        large_client_header_buffers 4 32k;      # 10 KB session keys

        # the session key from the decoded path: any byte but NUL ((?s):
        # '.' takes a newline too)
        location ~ "(?s)^/k/(?<vsid>.*)\$" {
            vpt_session_key \$vsid;
            try_files /thanks.html =404;
        }

        location /h/ {
            vpt_session_key \$http_x_sid;
            try_files /thanks.html =404;
        }

        location = /vpt/accept {
            vpt_beacon;
            vpt_session_key \$http_x_sid;
        }

        # the anchor is in the first piece: the filter waits for Redis
        # while the rest of the page arrives
        location /early/ {
            vpt_anchor "<h1>";
            vpt_redis_timeout 150ms;
            proxy_pass http://127.0.0.1:$origin->{port}/;
        }
    }
HTTP
}

my $ng = start_nginx(ports => [$port],
                     http => nginx_http($port, "127.0.0.1:$rport"));

sub ctx_json {
    my ($user) = @_;
    return encode_json({ user => { id => $user, loyalty_member => JSON::PP::false },
                         device => 'desktop' });
}

sub log_of {
    my ($ng, $decision) = @_;
    for my $l (reverse access_log_lines($ng)) {
        my $j = eval { decode_json($l) } or next;
        return $j if $j->{decision} eq $decision;
    }
    return {};
}

sub view {
    my ($sid, $p) = @_;
    my $r = http_get($p // $port, '/thanks.html',
                     defined $sid ? (sid => $sid) : ());
    my ($d) = $r->{body} =~ /data-vpt-decision="([0-9a-f]{16})"/;
    my $ng_ = ($p // $port) == $port ? $ng : undef;
    $r->{decision} = $d;
    return $r;
}

# the page with the offer's block removed must be the origin's page
sub intact {
    my ($body) = @_;
    (my $b = $body) =~ s{<div class="vpt-offer" [^>]*><p class="[a-z]+">[^<]*</p></div>}{};
    return $b eq $page;
}

sub last_status {
    my ($ng_) = @_;
    wait_for(sub { scalar access_log_lines($ng_ // $ng) }, 2);
    return last_logged($ng_ // $ng);
}

# --- the lookup's outcomes ------------------------------------------------

redis_cmd($rd, 'SET', 'vpt:ctx:alice', ctx_json('alice'));
{
    my $r = view('alice');
    like($r->{body}, qr{<p class="hello">Hi alice</p></div></body>},
         'Redis up: the offer with the shopper\'s own context');
    ok(intact($r->{body}), 'Redis up: the rest of the page intact');
    my $l = last_status();
    is($l->{status}, 'injected', 'status injected');
    like($l->{redis_time}, qr/^\d+(\.\d{1,3})?$/,
         '$vpt_redis_time in seconds, a number');
    is(ref $l->{context} && $l->{context}{user}{id}, 'alice',
       'the log carries the context, an object');
    # fire and forget: the write may reach Redis after the page and its
    # log line, when the worker is descheduled in between
    ok(wait_for(sub { (redis_cmd($rd, 'HGET', 'vpt:ctx:alice:vpt',
                                 'i:hello') // '') eq '1' }, 2),
       'the impression is recorded next to the context');
    ok(wait_for(sub { (redis_cmd($rd, 'TTL', 'vpt:ctx:alice:vpt') // -2)
                      > 0 }, 2),
       'the impression counter has a TTL');
}

{
    view('alice');
    my $r = view('alice');
    like($r->{body}, qr{<p class="fallback">},
         'cap_per_shopper: after two impressions another offer is shown');
    is(redis_cmd($rd, 'HGET', 'vpt:ctx:alice:vpt', 'i:hello'), 2,
       'the capped offer was counted twice');
}

{
    # a shopper the shop never wrote: decided on the request alone, and
    # the capped offer cannot be checked without counters
    my $r = view('nobody-here');
    like($r->{body}, qr{<p class="fallback">},
         'key missing: the request\'s decision, not the capped offer');
    ok(intact($r->{body}), 'key missing: the rest of the page intact');
    my $l = last_status();
    is($l->{status}, 'injected', 'key missing: status injected');
    is($l->{basis}, 'request', 'key missing: basis request');
}

for my $case ([ 'malformed', '{"user": {"id": "x"' ],
              [ 'not an object (array)', '[1, 2, 3]' ],
              [ 'not an object (number)', '42' ],
              [ 'huge (1 MB)', '{"intent": "' . ('x' x (1024 * 1024)) . '"}' ],
              [ 'nested 60,000 deep', '{"cart": ' . ('[' x 60000) . '}' ],
              [ 'invalid UTF-8', qq({"intent": "\xff\xfe"}) ],
              [ 'a number beyond a double', '{"user": {"orders": 1e400}}' ],
              [ 'NaN', '{"user": {"orders": NaN}}' ],
              [ 'trailing bytes', '{"device": "mobile"} {}' ]) {
    my ($name, $value) = @$case;
    redis_cmd($rd, 'SET', 'vpt:ctx:odd', $value);
    my $r = view('odd');
    is($r->{body}, $page, "context $name: the origin page");
    my $l = last_status();
    is($l->{status}, 'bad_context', "context $name: bad_context");
    is($l->{context}, undef, "context $name: not in the decision log");
}

{
    # a hash under the context's key: Redis answers WRONGTYPE, which is
    # the shop's data, not Redis failing
    redis_cmd($rd, 'DEL', 'vpt:ctx:odd');
    redis_cmd($rd, 'HSET', 'vpt:ctx:odd', 'user', 'x');
    my $r = view('odd');
    is($r->{body}, $page, 'context key of the wrong type: the origin page');
    is(last_status()->{status}, 'bad_context',
       'context key of the wrong type: bad_context, not redis_error');
    redis_cmd($rd, 'DEL', 'vpt:ctx:odd');
}

{
    # counters that cannot be read (a string under their key): the capped
    # offer is not shown, the uncapped one is
    redis_cmd($rd, 'SET', 'vpt:ctx:odd', ctx_json('odd'));
    redis_cmd($rd, 'SET', 'vpt:ctx:odd:vpt', 'not a hash');
    my $r = view('odd');
    like($r->{body}, qr{<p class="fallback">fallback</p>},
         'unreadable counters: the uncapped offer');
    unlike($r->{body}, qr{class="hello"}, 'and not the capped one');
    is(last_status()->{offer}, 'fallback', 'logged as shown');
    redis_cmd($rd, 'DEL', 'vpt:ctx:odd:vpt');
    $r = view('odd');
    like($r->{body}, qr{<p class="hello">Hi odd</p>},
         'readable again: the capped offer is back');
}

# odd, but an object: the odd fields are absent, the rest is used
for my $case (
    [ 'NUL bytes in strings',
      '{"user": {"id": "odd", "loyalty_member": false}, '
      . '"device": "desk\\u0000top", "intent": "\\u0000"}' ],
    [ 'integers beyond 64 bits, wrong types, repeated keys',
      '{"user": {"id": 7, "orders": 99999999999999999999999, "id": "odd", '
      . '"loyalty_member": "no"}, "local_hour": 25, "cart": {}, '
      . '"features": [1]}' ],
    [ '4,000 cart items (52 KB)',
      '{"user": {"id": "odd"}, "cart": ['
      . join(', ', ('{"price": 1}') x 4000) . ']}' ],
    [ 'nested 2,000 deep in an unknown field',
      '{"user": {"id": "odd"}, "x": ' . ('[' x 2000) . (']' x 2000) . '}' ]) {
    my ($name, $value) = @$case;
    redis_cmd($rd, 'SET', 'vpt:ctx:odd', $value);
    redis_cmd($rd, 'DEL', 'vpt:ctx:odd:vpt');
    my $r = view('odd');
    like($r->{body}, qr{<p class="hello">Hi odd</p>},
         "context with $name: the offer, with what is usable");
    is(last_status()->{status}, 'injected', "context with $name: injected");
}

{
    # calls of every command but INFO itself and a new link's PING
    my $calls = sub {
        my $n = 0;
        for (split /\r?\n/, redis_cmd($rd, 'INFO', 'commandstats')) {
            $n += $2 if /^cmdstat_(\w+):calls=(\d+)/ && $1 ne 'info'
                        && $1 ne 'ping';
        }
        return $n;
    };
    my $before = $calls->();
    my $r = view(undef);
    my $after = $calls->();
    like($r->{body}, qr{<p class="fallback">},
         'no session: the request\'s decision');
    is(last_status()->{basis}, 'request', 'no session: basis request');
    is($after - $before, 0, 'no session: no Redis call at all');
}

# --- session keys that are not plain ------------------------------------------

# What Redis was asked, as MONITOR shows it: [command, args...] with the
# arguments unquoted back to their bytes (MONITOR prints them as sdscatrepr
# does: \" \\ \n \r \t \a \b and \xHH).
sub monitor_start {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $rd->{port}, Proto => 'tcp',
                                  Timeout => 5) or die "monitor: $!";
    binmode $s;
    print $s "*1\r\n\$7\r\nMONITOR\r\n";
    my $ok = <$s>;
    die "monitor: $ok" unless $ok =~ /^\+OK/;
    return $s;
}

# Everything up to a marker sent after the page (an ECHO), and then until
# $want of the module's commands are there (its impressions are written
# fire and forget, so they may trail the page).
my $mark = 0;

sub monitor_read {
    my ($s, $want) = @_;
    my $m = 'vpt-test-mark-' . ++$mark;
    redis_cmd($rd, 'ECHO', $m);
    my ($buf, @cmds, $seen) = ('');
    my $sel = IO::Select->new($s);
    my $until = time + 5;
    while (time < $until) {
        if (index($buf, "\"$m\"") >= 0) {
            my $n = () = $buf =~ /\] "(GETRANGE|HGETALL|HINCRBY|EXPIRE|HSET)"/g;
            last if $n >= ($want // 0);
        }
        $sel->can_read(0.1) or next;
        sysread($s, $buf, 65536, length $buf) or last;
    }
    for my $line (split /\r\n/, $buf) {
        next unless $line =~ /^\+\d+\.\d+ \[[^\]]*\] (.*)$/;
        my $args = $1;
        my @a;
        while ($args =~ /\G"((?:[^"\\]|\\.)*)" ?/gc) {
            (my $v = $1) =~ s{\\(x[0-9a-f]{2}|.)}{
                my $e = $1;
                length($e) == 3 ? chr(hex substr($e, 1))
                : { n => "\n", r => "\r", t => "\t", a => "\a",
                    b => "\b" }->{$e} // $e
            }ge;
            push @a, $v;
        }
        next if $a[0] eq 'ECHO' && ($a[1] // '') =~ /^vpt-test-mark-/;
        push @cmds, \@a;
    }
    return @cmds;
}

# the module's commands among what Redis was asked
my @monitored;

sub module_cmds {
    push @monitored, @_;
    return grep { $_->[0] =~ /^(GETRANGE|HGETALL|HINCRBY|EXPIRE|HSET|EXISTS)$/i }
           @_;
}

sub pct { (my $s = shift) =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
          return $s }

{
    my $mon = monitor_start();
    redis_cmd($rd, 'SET', 'sentinel', 'still here');

    # kept: one key each, exactly these bytes, in every command
    my @kept = ('a b', 'x *1 $8 FLUSHALL', "*1\$8", '"quoted" \\ back',
                "caf\xc3\xa9 \xe2\x98\x83", "\xff\xfe\x80", '100%', '?#&=;',
                'k' x 256);
    for my $i (0 .. $#kept) {
        my $sid = $kept[$i];
        my $show = length $sid > 40 ? length($sid) . ' bytes' : $sid;
        redis_cmd($rd, 'SET', "vpt:ctx:$sid", ctx_json("odd$i"));
        monitor_read($mon);

        my $r = http_get($port, '/k/' . pct($sid));
        like($r->{body}, qr{<p class="hello">Hi odd$i</p>},
             "session key '$show': its own context, read from Redis");
        is(last_status()->{status}, 'injected', "'$show': injected");

        my @cmds = module_cmds(monitor_read($mon, 4));
        my @keys = map { $_->[1] } @cmds;
        is_deeply(\@keys, [ "vpt:ctx:$sid", "vpt:ctx:$sid:vpt",
                            "vpt:ctx:$sid:vpt", "vpt:ctx:$sid:vpt" ],
                  "'$show': GETRANGE, HGETALL, HINCRBY, EXPIRE, each on "
                  . "exactly the key") or diag explain \@cmds;
        is(redis_cmd($rd, 'HGET', "vpt:ctx:$sid:vpt", 'i:hello'), 1,
           "'$show': the impression is under the key itself");
    }

    # refused: no session, and not a single command
    my @refused = (
        [ 'CR/LF and a command', '/k/' . pct("a\r\n*1\r\n\$8\r\nFLUSHALL\r\n") ],
        [ 'a lone LF', '/k/' . pct("\n") ],
        [ 'a tab, from a header', '/h/', headers => { 'X-Sid' => "a\tb" } ],
        [ 'DEL', '/k/' . pct("a\x7fb") ],
        [ 'ESC', '/k/' . pct("\e[2J") ],
        [ '257 bytes', '/k/' . ('k' x 257) ],
        [ '10 KB, from a header', '/h/', headers => { 'X-Sid' => 'h' x 10240 } ],
        [ '10 KB, from the cookie', '/thanks.html', sid => 'c' x 10240 ],
        # its context key would be the counters of the shopper "probe"
        [ 'the counters\' suffix', '/k/probe:vpt' ],
    );
    # reports are once a second: the first refused key starts a second
    sleep 1.02 - (time - int time);

    for my $c (@refused) {
        my ($name, $path, %o) = @$c;
        redis_cmd($rd, 'SET', "vpt:ctx:probe", ctx_json('probe'));
        my $dbsize = redis_cmd($rd, 'DBSIZE');
        monitor_read($mon);

        my $r = http_get($port, $path, %o);
        is($r->{status}, 200, "session key with $name: 200");
        ok(intact($r->{body}), "session key with $name: the page intact");
        is(last_status()->{basis}, 'request', "$name: no session, basis "
           . "request");
        is_deeply([ module_cmds(monitor_read($mon)) ], [],
                  "$name: not one command to Redis");
        is(redis_cmd($rd, 'DBSIZE'), $dbsize, "$name: no key made");
    }

    is(redis_cmd($rd, 'GET', 'sentinel'), 'still here',
       'after every attempt, the other keys are still there');
    ok(@monitored > 0 && !grep({ $_->[0] !~ /^(GETRANGE|HGETALL|HINCRBY|EXPIRE)$/ }
                               @monitored),
       'while pages were asked for, Redis saw our four commands and no other');

    # the beacon takes the same keys and refuses the same ones
    # (only a shopper whose counters exist gets the accept written)
    my $accept = '/vpt/accept?d=0123456789abcdef&o=hello';
    redis_cmd($rd, 'HSET', 'vpt:ctx:x *1 $8 y:vpt', 'i:hello', 1);
    monitor_read($mon);
    is(http_get($port, $accept, headers => { 'X-Sid' => 'x *1 $8 y' })
       ->{status}, 204, 'beacon, odd key: 204');
    is_deeply([ map { [ @$_[0 .. ($_->[0] eq 'EXISTS' ? 1 : 2)] ] }
                module_cmds(monitor_read($mon, 3)) ],
              [ [ 'EXISTS', 'vpt:ctx:x *1 $8 y:vpt' ],
                [ 'HSET', 'vpt:ctx:x *1 $8 y:vpt', 'a:hello' ],
                [ 'EXPIRE', 'vpt:ctx:x *1 $8 y:vpt', '2592000' ] ],
              'beacon, odd key: the accept is recorded under exactly it');
    for my $sid ("a	b", 'b' x 10240) {
        my $r = http_get($port, $accept, headers => { 'X-Sid' => $sid });
        is($r->{status}, 204, 'beacon, refused key (' . length($sid)
                              . ' bytes): still 204, the accept is logged');
        is_deeply([ module_cmds(monitor_read($mon)) ], [],
                  'beacon, refused key: nothing sent to Redis');
    }

    # NUL never reaches the key: nginx refuses it in a path or a header
    is(http_get($port, '/k/a%00b')->{status}, 400, 'NUL in the path: 400');
    is(http_get($port, '/h/', headers => { 'X-Sid' => "a\0b" })->{status},
       400, 'NUL in a header: 400');
    close $mon;

    # the error log: escaped and cut short, one line each, rate-limited
    my $log = error_log($ng);
    unlike($log, qr/\r/, 'no CR from a shopper in the error log');
    unlike($log, qr/FLUSHALL\n|\n\*1|\n\$8/,
           'no line of the error log starts with a shopper\'s bytes');
    like($log, qr/vpt: session key "a\\x0d\\x0a\*1\\x0d\\x0a\$8\\x0d\\x0aFLUSHALL\\x0d\\x0a" of 21 bytes ignored: a control byte/,
         'a refused key is logged with its control bytes escaped');

    sleep 1.1;      # the next report is a second later
    http_get($port, '/h/', headers => { 'X-Sid' => 'q' x 10240 });
    like(error_log($ng), qr/vpt: session key "q{32}\.\.\." of 10240 bytes ignored: too long, a key is at most 256 bytes/,
         'a 10 KB key is logged as its first 32 bytes and its length');
    my @long = grep { length > 600 } split /\n/, error_log($ng);
    is(scalar @long, 0, 'no line of the error log is longer than 600 bytes')
        or diag substr($long[0], 0, 300);
}

{
    # reports are limited per kind: a refused session key does not hide a
    # bad context reported in the same second
    redis_cmd($rd, 'SET', 'vpt:ctx:kinds', '[1]');
    sleep 1.02 - (time - int time);
    http_get($port, '/k/' . ('k' x 300));
    view('kinds');
    my @lines = grep { /vpt: session key "k{32}\.\.\." of 300 bytes/
                       || /vpt: context of session "kinds"/ }
                split /\n/, error_log($ng);
    is(scalar @lines, 2,
       'a refused key and a bad context in one second: both reported')
        or diag explain \@lines;
}

# --- many shoppers at once on one worker ------------------------------------

{
    my $n = 60;
    redis_cmd($rd, 'SET', "vpt:ctx:shopper$_", ctx_json("shopper$_")) for 1 .. $n;
    my %kids;
    for my $i (1 .. $n) {
        my $pid = fork // die;
        if ($pid == 0) {
            my $r = view("shopper$i");
            my $ok = $r->{body} =~ m{<p class="hello">Hi shopper$i</p>}
                     && intact($r->{body});
            POSIX::_exit($ok ? 0 : 1);
        }
        $kids{$pid} = $i;
    }
    my $bad = 0;
    for (keys %kids) { waitpid $_, 0; $bad++ if $? != 0; }
    is($bad, 0, "$n concurrent shoppers: each page carries its own "
                . "shopper's offer, never another's");
}

# --- Redis slow ----------------------------------------------------------------

{
    my $pid = fork // die;
    if ($pid == 0) {
        eval { redis_cmd($rd, 'DEBUG', 'SLEEP', '1') };
        POSIX::_exit(0);
    }
    sleep 0.1;
    my $t0 = time;
    my $r = view('alice');
    my $took = time - $t0;
    waitpid $pid, 0;
    is($r->{body}, $page, 'Redis slower than the timeout: the origin page');
    is(last_status()->{status}, 'redis_timeout', 'status redis_timeout');
    cmp_ok($took, '<', 0.8, 'the page did not wait for the sleeping Redis');
}

# the filter reaches the anchor first and waits: resumed by the reply
{
    my $pid = fork // die;
    if ($pid == 0) {
        eval { redis_cmd($rd, 'DEBUG', 'SLEEP', '0.06') };
        POSIX::_exit(0);
    }
    sleep 0.01;
    redis_cmd($rd, 'DEL', 'vpt:ctx:alice:vpt');
    my $r = http_get($port, '/early/thanks.html', sid => 'alice');
    waitpid $pid, 0;
    my $l = last_status();
    is($l->{status}, 'injected',
       'anchor before the reply: the filter waits, the reply resumes it');
    (my $want = $page) =~ s{<h1>}{<div class="vpt-offer" data-vpt-decision="$l->{decision}" data-vpt-offer="hello"><p class="hello">Hi alice</p></div><h1>};
    is($r->{body}, $want,
       'and the page streamed in meanwhile is complete, in order');
}

# the same, but Redis misses the deadline: resumed by the timer
{
    my $pid = fork // die;
    if ($pid == 0) {
        eval { redis_cmd($rd, 'DEBUG', 'SLEEP', '0.4') };
        POSIX::_exit(0);
    }
    sleep 0.01;
    my $r = http_get($port, '/early/thanks.html', sid => 'alice');
    waitpid $pid, 0;
    is(last_status()->{status}, 'redis_timeout',
       'anchor before a late reply: the timer resumes the page');
    is($r->{body}, $page, 'and the page is the origin\'s, complete');
}

# after the sleep the connection is usable again
# (a lookup answered: its time is logged, and it neither timed out nor failed)
ok(wait_for(sub {
       view('bob-' . int(rand 1e9));
       my $l = last_status();
       defined $l->{redis_time} && $l->{status} !~ /^redis_/;
   }, 5),
   'after a slow spell, lookups work again');

# --- the breaker -----------------------------------------------------------------

{
    kill 'STOP', $rd->{pid};
    my %st;
    for (1 .. 12) {
        my $r = view('alice');
        $st{ last_status()->{status} }++;
        is($r->{body}, $page, "Redis frozen, view $_: the origin page")
            if $_ == 1 || $_ == 12;
    }
    ok(($st{redis_timeout} // 0) >= 5, 'frozen Redis: timeouts first');
    ok(($st{redis_error} // 0) >= 1,
       'then the breaker opens: pages go out at once (redis_error)');
    like(error_log($ng), qr/breaker|circuit/i, 'the breaker says so in the log');
    kill 'CONT', $rd->{pid};
    redis_cmd($rd, 'SET', 'vpt:ctx:carol', ctx_json('carol'));
    ok(wait_for(sub { view('carol'); last_status()->{status} eq 'injected' }, 15),
       'Redis back: the breaker closes by itself');
}

# --- Redis stopped, restarted ----------------------------------------------

{
    stop_redis($rd);
    my $r = view('carol');
    is($r->{body}, $page, 'Redis stopped: the origin page');
    like(last_status()->{status}, qr/^redis_(error|timeout)$/,
         'Redis stopped: redis_error');

    $rd = start_redis(port => $rport, unix => $sock);
    redis_cmd($rd, 'SET', 'vpt:ctx:dave', ctx_json('dave'));
    ok(wait_for(sub { view('dave'); last_status()->{status} eq 'injected' }, 20),
       'Redis restarted: the module reconnects without a reload');
}

# --- Redis killed in the middle of a load run --------------------------------

{
    redis_cmd($rd, 'SET', "vpt:ctx:load$_", ctx_json("load$_")) for 1 .. 20;
    my @kids;
    for my $k (1 .. 4) {
        my $pid = fork // die;
        if ($pid == 0) {
            my $bad = 0;
            for my $i (1 .. 60) {
                my $r = view('load' . (1 + $i % 20));
                $bad++ unless $r->{status} == 200 && intact($r->{body});
            }
            POSIX::_exit($bad ? 1 : 0);
        }
        push @kids, $pid;
    }
    sleep 0.3;
    stop_redis($rd, 'KILL');
    my $bad = 0;
    for (@kids) { waitpid $_, 0; $bad++ if $? != 0; }
    is($bad, 0, 'Redis killed under load: every page complete and correct');
    my %st;
    $st{ decode_json($_)->{status} }++ for access_log_lines($ng);
    ok($st{injected} && ($st{redis_error} || $st{redis_timeout}),
       'under load: offers before the kill, fail-open after');
    $rd = start_redis(port => $rport, unix => $sock);
}

# --- a unix socket ---------------------------------------------------------

{
    my $ng2 = start_nginx(ports => [$uport],
                          http => nginx_http($uport, "unix:$sock"));
    redis_cmd($rd, 'SET', 'vpt:ctx:erin', ctx_json('erin'));
    my $ok = wait_for(sub {
        my $r = http_get($uport, '/thanks.html', sid => 'erin');
        $r->{body} =~ /Hi erin/;
    }, 5);
    ok($ok, 'Redis on a unix socket');
    is(last_status($ng2)->{status}, 'injected', 'unix socket: injected');
    stop_nginx($ng2);
}

unlike(error_log($ng), qr/\[(alert|crit|emerg)\]/, 'no alerts in the error log');

done_testing();
