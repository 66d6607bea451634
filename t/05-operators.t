# What operators rely on beyond the page itself: the accept beacon (logged,
# remembered in Redis, never shown again, bad input leaves no trace) and
# the status page (Prometheus text that a strict reader accepts, counters
# that match what happened exactly, survive a reload and are shared by the
# workers).

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep);
use VPT::Test;

my $root = repo_root();
my $dir = tmpdir();
my $rd = start_redis();
my $prefix = 'vpt:ctx:';

mkdir "$dir/www";
write_file("$dir/www/cart.html",
           "<!DOCTYPE html>\n<html><body><h1>Your cart</h1></body></html>\n");

my $context = '{"device": "desktop", "country": "US"}';

# --- helpers ------------------------------------------------------------------

sub http_conf {
    my (%o) = @_;
    my $catalog = $o{catalog} // 'catalog-ops.json';
    my $listen = "127.0.0.1:$o{port}" . ($o{reuseport} ? ' reuseport' : '');
    return <<"HTTP";
vpt_catalog $root/t/data/$catalog;
vpt_redis   127.0.0.1:$rd->{port};

server {
    listen   $listen;
    root     $dir/www;

    # on for the whole server: the beacon and the status page must not
    # turn into pages (no lookup, not counted as page views)
    vpt                on;
    vpt_page           cart;
    vpt_redis_timeout  2s;

    add_header X-Pid \$pid always;

    location = /vpt/accept {
        vpt_beacon;
    }

    location = /vpt/status {
        vpt_status_page;
    }

    # the beacon's x= must name a configured split
    location = /split {
        vpt_split exp-1 0%;
    }
}
HTTP
}

sub log_entries {
    my ($ng) = @_;
    return map { decode_json($_) } access_log_lines($ng);
}

# the log line of the request just made: the harness logs one line per
# request, in order, once the response is complete
sub last_entry {
    my ($ng, $before) = @_;
    my @e;
    wait_for(sub { @e = log_entries($ng); @e > $before }, 5);
    return @e > $before ? $e[-1] : {};
}

sub page_view {
    my ($port, %o) = @_;
    return http_get($port, '/cart.html', %o);
}

sub decision_of {
    my ($body) = @_;
    return $body =~ /data-vpt-decision="([0-9a-f]{16})"/ ? $1 : undef;
}

sub shown {
    my ($body) = @_;
    return join ',', $body =~ /data-vpt-offer="([^"]+)"/g;
}

# --- a strict reader of the Prometheus text format (0.0.4) --------------------

my $NAME = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
my $LABEL = qr/[a-zA-Z_][a-zA-Z0-9_]*/;
my $FLOAT = qr/[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf)|NaN/;

sub unescape_label {
    my ($s) = @_;
    $s =~ s/\\(["\\n])/$1 eq 'n' ? "\n" : $1/ge;
    return $s;
}

sub sample_key {
    my ($name, %l) = @_;
    return $name . '{' . join(',', map { "$_=$l{$_}" } sort keys %l) . '}';
}

# returns ({ key => value }, [errors])
sub parse_prometheus {
    my ($text) = @_;
    my (%help, %type, %samples, %done, @err, %hist);
    my $current = '';

    push @err, 'the page does not end with a newline' unless $text =~ /\n\z/;

    my $n = 0;
    for my $line (split /\n/, $text) {
        $n++;
        if ($line =~ /^# HELP ($NAME) (.*)$/) {
            push @err, "line $n: second HELP for $1" if exists $help{$1};
            push @err, "line $n: HELP for $1 after its samples" if $done{$1};
            $help{$1} = $2;
            next;
        }
        if ($line =~ /^# TYPE ($NAME) (\S+)$/) {
            my ($f, $t) = ($1, $2);
            push @err, "line $n: unknown type $t"
                unless $t =~ /^(counter|gauge|histogram|summary|untyped)$/;
            push @err, "line $n: second TYPE for $f" if exists $type{$f};
            push @err, "line $n: TYPE for $f after its samples" if $done{$f};
            $type{$f} = $t;
            next;
        }
        if ($line =~ /^#/) {
            push @err, "line $n: malformed HELP or TYPE: $line"
                if $line =~ /^# (HELP|TYPE)\b/;
            next;
        }

        my ($name, $labels, $value) =
            $line =~ /^($NAME)(?:\{(.*)\})? ($FLOAT)(?: -?\d+)?$/
            or do { push @err, "line $n: not a sample: $line"; next };

        my %l;
        if (defined $labels && length $labels) {
            my $rest = $labels;
            while ($rest =~ s/^($LABEL)="((?:[^"\\\n]|\\["\\n])*)"(,|$)//) {
                my ($k, $v, $sep) = ($1, $2, $3);
                push @err, "line $n: label $k twice" if exists $l{$k};
                $l{$k} = unescape_label($v);
                last if $sep eq '';
            }
            push @err, "line $n: malformed labels {$labels}" if length $rest;
        }

        # the sample's family: itself, or a histogram's _bucket/_sum/_count
        my $family = $name;
        if (!exists $type{$name}
            && $name =~ /^(.*)_(bucket|sum|count)$/
            && ($type{$1} // '') eq 'histogram')
        {
            $family = $1;
        }
        push @err, "line $n: $name has no HELP before it"
            unless exists $help{$family};
        push @err, "line $n: $name has no TYPE before it"
            unless exists $type{$family};
        push @err, "line $n: family $family is not contiguous"
            if $done{$family} && $current ne $family;
        push @err, "line $n: counter $name does not end in _total"
            if ($type{$family} // '') eq 'counter' && $name !~ /_total$/;
        $current = $family;
        $done{$family} = 1;

        my $key = sample_key($name, %l);
        push @err, "line $n: duplicate sample $key" if exists $samples{$key};
        $samples{$key} = 0 + $value;

        if (($type{$family} // '') eq 'histogram' && $name =~ /_bucket$/) {
            my %g = %l;
            my $le = delete $g{le};
            push @err, "line $n: bucket without le" unless defined $le;
            push @{ $hist{ sample_key($family, %g) } }, [$le, $value];
        }
    }

    for my $f (keys %help) {
        push @err, "family $f has HELP but no TYPE" unless exists $type{$f};
    }

    for my $h (keys %hist) {
        my ($family, $labels) = $h =~ /^([^{]+)\{(.*)\}$/;
        my @b = @{ $hist{$h} };
        my ($prev_le, $prev) = (-9**9**9, 0);
        for my $b (@b) {
            my $le = $b->[0] eq '+Inf' ? 9**9**9 : $b->[0];
            push @err, "$h: le $b->[0] not increasing" unless $le > $prev_le;
            push @err, "$h: bucket le=$b->[0] not cumulative"
                unless $b->[1] >= $prev;
            ($prev_le, $prev) = ($le, $b->[1]);
        }
        push @err, "$h: the last bucket is not +Inf"
            unless @b && $b[-1][0] eq '+Inf';
        my $count = $samples{"${family}_count\{$labels\}"};
        my $sum = $samples{"${family}_sum\{$labels\}"};
        push @err, "$h: no _count" unless defined $count;
        push @err, "$h: no _sum" unless defined $sum;
        push @err, "$h: +Inf bucket $b[-1][1] is not _count $count"
            if defined $count && @b && $b[-1][1] != $count;
    }

    return (\%samples, \@err);
}

# the reader itself: it must refuse what a scraper would
{
    my $h = "# HELP h x\n# TYPE h histogram\n";
    my $c = "# HELP c_total x\n# TYPE c_total counter\n";
    my @broken = (
        [ 'no newline at the end',      "${c}c_total 1" ],
        [ 'a sample without HELP',      "# TYPE c_total counter\nc_total 1\n" ],
        [ 'a sample without TYPE',      "# HELP c_total x\nc_total 1\n" ],
        [ 'TYPE after the samples',     "# HELP c_total x\nc_total 1\n"
                                        . "# TYPE c_total counter\n" ],
        [ 'an unknown type',            "# HELP c_total x\n# TYPE c_total int\n"
                                        . "c_total 1\n" ],
        [ 'a value that is no number',  "${c}c_total one\n" ],
        [ 'a bad metric name',          "${c}c-total 1\n" ],
        [ 'an unescaped quote',         "${c}c_total{a=\"x\"y\"} 1\n" ],
        [ 'an unknown escape',          "${c}c_total{a=\"x\\y\"} 1\n" ],
        [ 'an unquoted label',          "${c}c_total{a=x} 1\n" ],
        [ 'a label twice',              "${c}c_total{a=\"x\",a=\"y\"} 1\n" ],
        [ 'a sample twice',             "${c}c_total{a=\"x\"} 1\n"
                                        . "c_total{a=\"x\"} 2\n" ],
        [ 'a counter without _total',   "# HELP c x\n# TYPE c counter\nc 1\n" ],
        [ 'a family split in two',      "${c}c_total{a=\"1\"} 1\n"
                                        . "# HELP g x\n# TYPE g gauge\ng 1\n"
                                        . "c_total{a=\"2\"} 1\n" ],
        [ 'buckets not cumulative',     "${h}h_bucket{le=\"1\"} 2\n"
                                        . "h_bucket{le=\"+Inf\"} 1\n"
                                        . "h_sum 1\nh_count 1\n" ],
        [ 'no +Inf bucket',             "${h}h_bucket{le=\"1\"} 1\n"
                                        . "h_sum 1\nh_count 1\n" ],
        [ '+Inf is not the count',      "${h}h_bucket{le=\"+Inf\"} 2\n"
                                        . "h_sum 1\nh_count 3\n" ],
        [ 'a histogram without _sum',   "${h}h_bucket{le=\"+Inf\"} 2\n"
                                        . "h_count 2\n" ],
    );
    for my $b (@broken) {
        my (undef, $err) = parse_prometheus($b->[1]);
        ok(@$err > 0, "the reader refuses $b->[0]");
    }

    my ($s, $err) = parse_prometheus(
        "${c}c_total{a=\"q\\\"b\\\\n\\n\",b=\"\"} 1.5e3\n"
        . "${h}h_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
        . "h_sum 0.3\nh_count 2\n");
    is_deeply($err, [], 'the reader takes a well-formed page');
    is(metric($s, 'c_total', a => "q\"b\\n\n", b => ''), 1.5e3,
       'the reader unescapes label values');
}

sub scrape {
    my ($port, $what) = @_;
    my $r = http_get($port, '/vpt/status');
    is($r->{status}, 200, "$what: the status page answers 200");
    my ($s, $err) = parse_prometheus($r->{body});
    is_deeply($err, [], "$what: the page is strict Prometheus text")
        or diag $r->{body};
    return wantarray ? ($s, $r) : $s;
}

sub metric {
    my ($s, $name, %l) = @_;
    return $s->{ sample_key($name, %l) };
}

sub delta {
    my ($after, $before, $name, %l) = @_;
    my $a = metric($after, $name, %l);
    return undef unless defined $a;
    return $a - (metric($before, $name, %l) // 0);
}

my @statuses = qw(injected suppressed control no_session no_context
                  bad_context redis_timeout redis_error no_anchor skipped
                  off accept bot preview);

# --- one worker: the beacon, then the counters --------------------------------

my $port = free_port();
my $ng = start_nginx(http => http_conf(port => $port), ports => [$port]);

# the worker's Redis connection is made at start, without blocking
ok(wait_for(sub {
       my $r = http_get($port, '/vpt/status');
       $r->{body} =~ /^vpt_redis_connected\{worker="0"\} 1$/m;
   }, 5), 'the worker reports its Redis connection up');

redis_cmd($rd, 'SET', "${prefix}shopper-a", $context);

{
    my $n = log_entries($ng);
    my $page = page_view($port, sid => 'shopper-a');
    my $e = last_entry($ng, $n);
    is($page->{status}, 200, 'page view: 200');
    is($e->{status}, 'injected', 'page view: logged as injected')
        or diag explain $e;
    is(shown($page->{body}), 'best', 'page view: the best offer is shown');

    my $d = decision_of($page->{body});
    ok($d, 'page view: the markup carries the decision id');
    like($page->{body}, qr{href="/vpt/accept\?d=$d&amp;o=best"},
         'page view: the offer links to the beacon');

    $n = log_entries($ng);
    my $r = http_get($port, "/vpt/accept?d=$d&o=best&x=exp-1",
                     sid => 'shopper-a');
    is($r->{status}, 204, 'beacon: 204');
    is($r->{body}, '', 'beacon: no body');
    is($r->{headers}{'cache-control'}, 'no-store', 'beacon: no-store');

    $e = last_entry($ng, $n);
    is($e->{status}, 'accept', 'beacon: logged as accept');
    is($e->{decision}, $d, 'beacon: logged with the decision id');
    is($e->{offer}, 'best', 'beacon: logged with the offer');
    is($e->{value}, 10, 'beacon: logged with the offer value');
    is($e->{experiment}, 'exp-1', 'beacon: logged with the experiment');
    is($e->{http_status}, 204, 'beacon: logged with 204');
    is($e->{page}, '', 'beacon: not a page');
    is($e->{redis_time}, undef, 'beacon: no Redis lookup (null)');

    my $key = "${prefix}shopper-a:vpt";
    ok(wait_for(sub { (redis_cmd($rd, 'HGET', $key, 'a:best') // '') eq '1' }),
       'beacon: a:best = 1 in the shopper hash');
    my $ttl = redis_cmd($rd, 'TTL', $key);
    ok($ttl > 2592000 - 60 && $ttl <= 2592000, 'beacon: the hash expires '
       . 'in 30 days') or diag "TTL $ttl";
    is(redis_cmd($rd, 'HGET', $key, 'i:best'), '1',
       'the page view recorded its impression in the same hash');

    $n = log_entries($ng);
    $page = page_view($port, sid => 'shopper-a');
    $e = last_entry($ng, $n);
    is($e->{status}, 'injected', 'next page view: still injected');
    is(shown($page->{body}), 'second',
       'next page view: the accepted offer is not shown again');
    is($e->{offer}, 'second', 'next page view: logged with the other offer');
}

# HEAD answers as GET would and changes nothing; an id with ':' may come
# percent-encoded; a shopper without counters gets no key (an unsigned
# link is anyone's to make); no session: logged, nothing to remember it by
{
    my $d = 'a' x 16;
    my $n = log_entries($ng);
    redis_cmd($rd, 'HSET', "${prefix}shopper-h:vpt", 'i:second', 1);
    my $r = http_get($port, "/vpt/accept?d=$d&o=second", method => 'HEAD',
                     sid => 'shopper-h');
    is($r->{status}, 204, 'HEAD beacon: 204');
    my $e = last_entry($ng, $n);
    is($e->{status}, 'off', 'HEAD beacon: not logged as an accept');
    is($e->{offer}, '', 'HEAD beacon: no offer logged');

    $n = log_entries($ng);
    $r = http_get($port, "/vpt/accept?d=$d&o=second", sid => 'shopper-h');
    is(last_entry($ng, $n)->{experiment}, '',
       'beacon without x: no experiment');
    ok(wait_for(sub {
           (redis_cmd($rd, 'HGET', "${prefix}shopper-h:vpt", 'a:second')
            // '') eq '1' }),
       'GET after HEAD: recorded in Redis');

    $n = log_entries($ng);
    $r = http_get($port, "/vpt/accept?d=$d&o=second", sid => 'shopper-new');
    is($r->{status}, 204, 'beacon of an unknown shopper: 204');
    is(last_entry($ng, $n)->{status}, 'accept',
       'beacon of an unknown shopper: logged as accept');
    is(redis_cmd($rd, 'EXISTS', "${prefix}shopper-new:vpt"), 0,
       'beacon of an unknown shopper: no key made for it');
    is(redis_cmd($rd, 'EXISTS', "${prefix}shopper-new"), 0,
       'beacon of an unknown shopper: no context made either');

    redis_cmd($rd, 'HSET', "${prefix}shopper-c:vpt", 'i:best', 1);
    $n = log_entries($ng);
    $r = http_get($port, "/vpt/accept?o=ops%3Athird&d=0123456789abcdef",
                  sid => 'shopper-c');
    is($r->{status}, 204, 'beacon with a percent-encoded id: 204');
    $e = last_entry($ng, $n);
    is($e->{offer}, 'ops:third', 'beacon with a percent-encoded id: decoded');
    is($e->{value}, 1.5, 'beacon: the value is the offer\'s own');
    ok(wait_for(sub {
           (redis_cmd($rd, 'HGET', "${prefix}shopper-c:vpt", 'a:ops:third')
            // '') eq '1' }),
       'beacon with a percent-encoded id: recorded by its id');

    $n = log_entries($ng);
    $r = http_get($port, "/vpt/accept?d=$d&o=best");
    is($r->{status}, 204, 'beacon without a session: 204');
    is(last_entry($ng, $n)->{status}, 'accept',
       'beacon without a session: logged as accept');
}

# bad input: 400 (405 for other methods), no accept logged, nothing written
{
    my $d = '0123456789abcdef';
    my @bad = (
        [ 'no d',                "o=best",                            400 ],
        [ 'no o',                "d=$d",                              400 ],
        [ 'no arguments',        "",                                  400 ],
        [ 'empty d',             "d=&o=best",                         400 ],
        [ 'd not hex',           "d=0123456789abcdeg&o=best",         400 ],
        [ 'd in upper case',     "d=0123456789ABCDEF&o=best",         400 ],
        [ 'd too short',         "d=0123456789abcde&o=best",          400 ],
        [ 'd too long',          "d=0123456789abcdef0&o=best",        400 ],
        [ 'unknown offer',       "d=$d&o=worst",                      400 ],
        [ 'offer id with a space', "d=$d&o=best%20",                  400 ],
        [ 'empty offer',         "d=$d&o=",                           400 ],
        [ 'empty x',             "d=$d&o=best&x=",                    400 ],
        [ 'x with a space',      "d=$d&o=best&x=a%20b",               400 ],
        [ 'x with a quote',      "d=$d&o=best&x=a%22b",               400 ],
        [ 'x of 65 bytes',       "d=$d&o=best&x=" . ('x' x 65),       400 ],
        [ 'x names no split',    "d=$d&o=best&x=exp-2",               400 ],
        [ 'd twice',             "d=$d&o=best&d=$d",                  400 ],
        [ 'd and D',             "d=$d&o=best&D=$d",                  400 ],
        [ 'a bad escape',        "d=$d&o=be%zzst",                    400 ],
        [ 'a cut escape',        "d=$d&o=best%4",                     400 ],
        [ 'an encoded name',     "d=$d&o=best&%64=$d",                400 ],
        [ 'a bare x',            "d=$d&o=best&x",                     400 ],
        [ 'an encoded NUL',      "d=$d&o=be%00st",                    400 ],
        [ 'a double encoding',   "d=$d&o=best%2525",                  400 ],
        [ 'POST',                "d=$d&o=best",                       405,
          'POST' ],
        [ 'PUT',                 "d=$d&o=best",                       405,
          'PUT' ],
    );

    my $i = 0;
    for my $case (@bad) {
        my ($name, $query, $want, $method) = @$case;
        my $sid = 'bad-' . $i++;
        my $n = log_entries($ng);
        my $r = http_get($port, "/vpt/accept?$query", sid => $sid,
                         method => $method // 'GET',
                         headers => $method ? { 'Content-Length' => 0 }
                                            : {});
        is($r->{status}, $want, "beacon, $name: $want");
        is($r->{headers}{allow}, 'GET, HEAD', "beacon, $name: Allow")
            if $want == 405;
        my $e = last_entry($ng, $n);
        is($e->{status}, 'off', "beacon, $name: not logged as an accept");
        is($e->{offer}, '', "beacon, $name: no offer logged");
    }

    # commands of one worker reach Redis in order: once a later accept is
    # there, any write of the bad ones would be too
    redis_cmd($rd, 'HSET', "${prefix}sentinel:vpt", 'i:best', 1);
    http_get($port, "/vpt/accept?d=$d&o=best", sid => 'sentinel');
    ok(wait_for(sub {
           (redis_cmd($rd, 'HGET', "${prefix}sentinel:vpt", 'a:best') // '')
           eq '1' }), 'a valid accept after the bad ones is recorded');
    my @written = grep { redis_cmd($rd, 'EXISTS', "${prefix}bad-$_:vpt") }
                  0 .. $#bad;
    is_deeply(\@written, [], 'bad beacons wrote nothing to Redis');
}

# the counters: page views of known outcomes, exactly
{
    my ($before, $r0) = scrape($port, 'before');
    is($r0->{headers}{'content-type'}, 'text/plain; version=0.0.4',
       'the status page is Prometheus text 0.0.4');

    redis_cmd($rd, 'SET', "${prefix}count-$_", $context) for 1 .. 3;
    my $n = log_entries($ng);

    my @views = (
        (map { [ 'injected', sid => "count-$_" ] } 1 .. 3),
        # shoppers the shop never wrote: decided on the request alone
        (map { [ 'injected' ] } 1 .. 2),
        (map { [ 'injected', sid => "nobody-$_" ] } 1 .. 2),
        (map { [ 'skipped', sid => "count-1", method => 'HEAD' ] } 1 .. 2),
    );
    for my $v (@views) {
        my ($want, %o) = @$v;
        page_view($port, %o);
    }
    my $d = decision_of(page_view($port, sid => 'count-2')->{body}) // '';
    http_get($port, "/vpt/accept?d=$d&o=second", sid => 'count-2');
    http_get($port, "/vpt/accept?d=nothex&o=second", sid => 'count-2');

    my @e = log_entries($ng);
    wait_for(sub { @e = log_entries($ng); @e >= $n + @views + 3 }, 5);
    my @got = map { $_->{status} } @e[$n .. $n + $#views];
    is_deeply(\@got, [ map { $_->[0] } @views ],
              'the page views had the outcomes the test counts on');

    my $after = scrape($port, 'after');
    # 3 + 2 + 2 + 2 views, one more injected, one accept; not the 400
    is(delta($after, $before, 'vpt_requests_total'), 11,
       'vpt_requests_total counts every page view and the accept');
    my %want = (injected => 8, skipped => 2, accept => 1);
    for my $st (@statuses) {
        is(delta($after, $before, 'vpt_status_total', status => $st),
           $want{$st} // 0, "vpt_status_total{status=\"$st\"}");
    }
    is(delta($after, $before, 'vpt_impressions_total', offer => 'best'), 8,
       'impressions of the offer shown');
    is(delta($after, $before, 'vpt_impressions_total', offer => 'second'), 0,
       'no impressions of an offer not shown');
    is(delta($after, $before, 'vpt_accepts_total', offer => 'second'), 1,
       'accepts of the offer accepted');
    is(delta($after, $before, 'vpt_accepts_total', offer => 'best'), 0,
       'no accepts of an offer not accepted');
    is(metric($after, 'vpt_impressions_total', offer => 'ops:third'), 0,
       'every catalog offer has its series');
    is(delta($after, $before, 'vpt_redis_latency_seconds_count'), 6,
       'the latency histogram counts the requests that asked Redis');
    # each lookup took some microseconds, none its 2 s timeout
    my $sum = delta($after, $before, 'vpt_redis_latency_seconds_sum');
    ok($sum > 0 && $sum < 6 * 2,
       "the latency sum grows by the 6 lookups' time ($sum s)");
    is(metric($after, 'vpt_redis_breaker_state', worker => 0), 0,
       'the breaker is closed');
    is(metric($after, 'vpt_redis_connected', worker => 0), 1,
       'Redis is connected');

    is(delta($after, $before, 'vpt_redis_errors_total', worker => 0), 0,
       'no Redis errors while Redis answered every lookup');

    # a hash under a context key: WRONGTYPE is the shop's data, not Redis
    # failing, and must not count toward the breaker
    redis_cmd($rd, 'HSET', "${prefix}hashed", 'user', 'x');
    my $m = log_entries($ng);
    page_view($port, sid => 'hashed') for 1 .. 3;
    wait_for(sub { log_entries($ng) >= $m + 3 }, 5);
    my $hashed = scrape($port, 'hashed');
    is(delta($hashed, $after, 'vpt_status_total', status => 'bad_context'),
       3, 'a context key of the wrong type: bad_context');
    is(delta($hashed, $after, 'vpt_redis_errors_total', worker => 0), 0,
       'and not a Redis error');
    redis_cmd($rd, 'DEL', "${prefix}hashed");

    # a scrape is not a page view
    my $again = scrape($port, 'again');
    is(delta($again, $hashed, 'vpt_requests_total'), 0,
       'scraping does not count');

    my $head = http_get($port, '/vpt/status', method => 'HEAD');
    is($head->{status}, 200, 'HEAD of the status page: 200');
    is($head->{body}, '', 'HEAD of the status page: no body');
    my $get = http_get($port, '/vpt/status');
    is($head->{headers}{'content-length'}, length $get->{body},
       'HEAD of the status page: the length of the page');
    is($get->{headers}{'content-length'}, length $get->{body},
       'the page is exactly as long as it says');

    my $post = http_get($port, '/vpt/status', method => 'POST',
                        headers => { 'Content-Length' => 0 });
    is($post->{status}, 405, 'POST to the status page: 405');

    SKIP: {
        my $promtool = `command -v promtool 2>/dev/null`;
        chomp $promtool;
        skip 'promtool is not installed', 1 unless $promtool;
        write_file("$dir/metrics.txt", $get->{body});
        my $out = `$promtool check metrics < $dir/metrics.txt 2>&1`;
        is($? >> 8, 0, 'promtool check metrics accepts the page')
            or diag $out;
    }
}

# a reload keeps the counters, by offer id, with a catalog reordered and
# grown; the new workers go on counting into them
{
    my $before = scrape($port, 'before reload');
    reload_nginx($ng, http => http_conf(port => $port,
                                        catalog => 'catalog-ops-reload.json'));
    ok(wait_for(sub {
           my $r = http_get($port, '/vpt/status');
           $r->{body} =~ /^vpt_impressions_total\{offer="fresh"\}/m
           && $r->{body} =~ /^vpt_redis_connected\{worker="0"\} 1$/m;
       }, 10), 'the new workers serve the new catalog, Redis connected');

    my $after = scrape($port, 'after reload');
    for my $k (sort keys %$before) {
        # per worker: the new workers start their own
        next if $k =~ /^vpt_redis_(breaker_state|connected|errors_total)\{/;
        next if $k eq 'vpt_impressions_total{offer=ops:third}'
             || $k eq 'vpt_accepts_total{offer=ops:third}';
        # what the reload changes: the catalog loaded and when
        next if $k =~ /^vpt_(info|config_load_timestamp_seconds)\{/
             || $k eq 'vpt_accepted_value_total{offer=ops:third}';
        is($after->{$k}, $before->{$k}, "after reload: $k unchanged");
    }
    ok(!exists $after->{'vpt_impressions_total{offer=ops:third}'},
       'after reload: an offer no longer in the catalog is not listed');
    is(metric($after, 'vpt_impressions_total', offer => 'fresh'), 0,
       'after reload: a new offer starts at 0');

    my $n = log_entries($ng);
    page_view($port, sid => 'count-3');
    is(last_entry($ng, $n)->{status}, 'injected',
       'after reload: a page view is injected');
    my $next = scrape($port, 'after a page view');
    is(delta($next, $after, 'vpt_requests_total'), 1,
       'after reload: the new workers count on');
    is(delta($next, $after, 'vpt_impressions_total', offer => 'best'), 1,
       'after reload: impressions count on by offer id');
}

stop_nginx($ng);

# --- configuration ------------------------------------------------------------

{
    my $cat = "vpt_catalog $root/t/data/catalog-ops.json;\n";
    my @bad = (
        [ 'vpt_beacon in a location with vpt on',
          "${cat}server { listen 127.0.0.1:1; "
          . "location /a { vpt on; vpt_beacon; } }",
          qr/"vpt_beacon" directive cannot be used in a location with "vpt/ ],
        [ 'vpt_status_page in a location with vpt on',
          "${cat}server { listen 127.0.0.1:1; "
          . "location /s { vpt on; vpt_status_page; } }",
          qr/"vpt_status_page" directive cannot be used in a location wi/ ],
        [ 'vpt_beacon twice',
          "${cat}server { listen 127.0.0.1:1; "
          . "location /a { vpt_beacon; vpt_beacon; } }",
          qr/"vpt_beacon" directive is duplicate/ ],
        [ 'vpt_status_page twice',
          "${cat}server { listen 127.0.0.1:1; "
          . "location /s { vpt_status_page; vpt_status_page; } }",
          qr/"vpt_status_page" directive is duplicate/ ],
        [ 'vpt_beacon without a catalog',
          "server { listen 127.0.0.1:1; location /a { vpt_beacon; } }",
          qr/need "vpt_catalog"/ ],
    );
    for my $case (@bad) {
        my ($name, $http, $re) = @$case;
        my ($rc, $out) = nginx_test(http => $http);
        isnt($rc, 0, "$name fails nginx -t");
        like($out, $re, "$name: the message says why") or diag $out;
    }

    # without a catalog nothing is counted, and the page says so
    my $p = free_port();
    my $bare = start_nginx(http => "server { listen 127.0.0.1:$p; "
                                   . "location /s { vpt_status_page; } }",
                           ports => [$p]);
    my $r = http_get($p, '/s');
    is($r->{status}, 200, 'status page without a catalog: 200');
    my ($s, $err) = parse_prometheus($r->{body});
    is_deeply($err, [], 'status page without a catalog: strict text');
    is(metric($s, 'vpt_requests_total'), 0,
       'status page without a catalog: zero requests');
    is(metric($s, 'vpt_redis_latency_seconds_count'), 0,
       'status page without a catalog: an empty histogram');
    stop_nginx($bare);
}

# --- two workers share the counters -------------------------------------------

{
    my $port2 = free_port();
    my $ng2 = start_nginx(http => http_conf(port => $port2, reuseport => 1),
                          workers => 2, ports => [$port2]);
    redis_cmd($rd, 'SET', "${prefix}two-$_", $context) for 1 .. 4;
    sleep 0.3;      # both workers connect to Redis at start

    my $before = scrape($port2, 'two workers, before');
    my (%pids, $views);
    for my $i (1 .. 200) {
        # a new connection each time: either worker may take it
        my $r = page_view($port2, sid => 'two-' . (1 + $i % 4));
        $pids{ $r->{headers}{'x-pid'} // '' }++;
        $views++;
        last if $views >= 20 && keys %pids >= 2;
    }
    is(scalar(keys %pids), 2, 'the page views were served by both workers')
        or diag explain \%pids;

    my @e;
    wait_for(sub { @e = grep { $_->{uri} eq '/cart.html' } log_entries($ng2);
                   @e >= $views }, 5);
    my %by;
    $by{ $_->{status} }++ for @e;
    is(scalar(@e), $views, 'every page view was logged');
    is($by{injected}, $views, 'two workers: every page view was injected')
        or diag explain \%by;

    # any worker answers the scrape with the same totals
    my @scrapes = map { scalar scrape($port2, "two workers, scrape $_") }
                  1 .. 6;
    for my $s (@scrapes) {
        is(delta($s, $before, 'vpt_requests_total'), $views,
           'two workers: vpt_requests_total counts both');
        is(delta($s, $before, 'vpt_status_total', status => 'injected'),
           $views, 'two workers: injected counts both');
        is(delta($s, $before, 'vpt_impressions_total', offer => 'best'),
           $views, 'two workers: impressions count both');
        is(delta($s, $before, 'vpt_redis_latency_seconds_count'), $views,
           'two workers: the histogram counts both');
    }
    my $last = $scrapes[-1];
    is(metric($last, 'vpt_redis_breaker_state', worker => $_), 0,
       "two workers: worker $_ reports its breaker closed") for 0, 1;
    is(metric($last, 'vpt_redis_connected', worker => $_), 1,
       "two workers: worker $_ reports Redis connected") for 0, 1;

    stop_nginx($ng2);
}

done_testing();
