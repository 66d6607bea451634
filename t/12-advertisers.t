# The advertisers' side on real nginx (2 workers each) and two nginx nodes
# sharing one Redis, under load from a bounded loop of requests on
# loopback: a daily budget holds across workers and nodes within the
# documented bound; even pacing spends close to linearly over a shortened
# day (vpt_budget_day); a blocklisted advertiser and an expired flight
# never appear (under load too, by id and by category); vpt_max_third_party
# holds; a Redis outage while accepts and impressions are charged fails
# open, each node holds the budget by its own count (at most nodes x
# budget), and the spend is reconciled when Redis returns; the status
# page and vpt-report per advertiser; bad advertisers fail nginx -t
# naming file, entry and field.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use POSIX ();
use VPT::Test;

my $root = repo_root();
my $dir = tmpdir();

mkdir "$dir/www";
write_file("$dir/www/index.html",
           "<html><body><h1>Thanks</h1></body></html>\n");

sub tp {
    my ($id, $adv) = @_;
    return { id => $id, kind => 'third_party', advertiser => $adv,
             markup => "<p>$id</p>", pages => ['confirmation'],
             prior => 0.5 };
}

my $catalog = {
    version => 't12',
    advertisers => [
        { id => 'capped', pricing => 'cpm', price => 1000,
          daily_budget => 150, total_budget => 1000, pacing => 'asap' },
        { id => 'paced', pricing => 'cpm', price => 100,
          daily_budget => 100, pacing => 'even' },
        { id => 'casino', pricing => 'cpa', price => 50,
          categories => ['gambling'] },
        { id => 'gone', pricing => 'cpa', price => 50,
          start => '2019-01-01', end => '2020-01-01' },
        { id => 'open', pricing => 'cpa', price => 2 },
        { id => 'dark', pricing => 'cpm', price => 1000,
          daily_budget => 30, pacing => 'asap' },
    ],
    offers => [
        tp('o-capped', 'capped'), tp('o-paced', 'paced'),
        tp('o-casino', 'casino'), tp('o-gone', 'gone'),
        tp('o-open', 'open'), tp('o-dark', 'dark'),
        { id => 'own', kind => 'upsell', markup => '<p>own</p>',
          pages => ['confirmation'], value => 3, prior => 0.5 },
    ],
};
write_file("$dir/catalog.json", encode_json($catalog));

my $rd = start_redis();
my $rport = $rd->{port};

for my $i (1 .. 8) {
    redis_cmd($rd, 'SET', "vpt:ctx:s$i", '{}');
}

sub http_block {
    my ($port, %o) = @_;
    my $day = $o{day} // '1d';
    my $sync = $o{sync} // '100ms';
    return <<"HTTP";
    vpt_catalog $dir/catalog.json;
    vpt_redis 127.0.0.1:$rport;
    vpt_spend_sync $sync;
    vpt_budget_day $day;

    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        vpt on;
        vpt_slots 6;
        vpt_redis_timeout 200ms;

        # dark is for the outage alone: a list replaces the one inherited
        vpt_block_advertisers dark;

        location /load/ { alias $dir/www/;
                          vpt_block_advertisers paced gambling open dark; }
        location /paced/ { alias $dir/www/;
                           vpt_block_advertisers capped gambling open dark; }
        location /blocked/ { alias $dir/www/;
                             vpt_block_advertisers gambling paced dark; }
        location /dark/ { alias $dir/www/;
                          vpt_block_advertisers capped paced gambling open
                                                gone; }
        location /all/ { alias $dir/www/; }
        location /one3p/ { alias $dir/www/; vpt_max_third_party 1; }
        location /none3p/ { alias $dir/www/; vpt_max_third_party 0; }
        location /vpt/accept { vpt_beacon; }
        location /status { vpt_status_page; }
    }
HTTP
}

sub start_pair {
    my (%o) = @_;
    my @nodes;
    for (1 .. 2) {
        my $port = free_port();
        my $ng = start_nginx(ports => [$port], workers => 2,
                             http => http_block($port, %o));
        push @nodes, { port => $port, ng => $ng };
    }
    return @nodes;
}

sub offers_of {
    my ($r) = @_;
    return $r->{body} =~ /data-vpt-offer="([^"]+)"/g;
}

# a client per node, each for $secs seconds at most: pages, the time of
# each impression of $offer, and how many pages showed each offer
sub load {
    my ($nodes, $path, $secs, $offer, $anonymous) = @_;
    my @kids;
    for my $n (0 .. $#$nodes) {
        my $file = "$dir/load.$n";
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my ($pages, $bad, %seen, @t) = (0, 0);
            my $t0 = time;
            my $i = 0;
            while (time - $t0 < $secs) {
                my $r = eval { http_get($nodes->[$n]{port}, $path,
                                        $anonymous ? ()
                                        : (sid => 's' . (1 + $i++ % 8))) };
                $pages++;
                $bad++ unless $r && $r->{status} == 200
                              && $r->{body} =~ m{</html>};
                my @o = offers_of($r);
                $seen{$_}++ for @o;
                push @t, time for grep { $_ eq $offer } @o;
            }
            write_file($file, encode_json({ pages => $pages, bad => $bad,
                                            secs => time - $t0,
                                            seen => \%seen, t => \@t }));
            POSIX::_exit(0);
        }
        push @kids, [$pid, $file];
    }
    my @res;
    for (@kids) {
        waitpid $_->[0], 0;
        push @res, decode_json(read_file($_->[1]));
    }
    return @res;
}

# how many pages of all clients showed the offer
sub seen {
    my ($res, $offer) = @_;
    my $n = 0;
    $n += $_->{seen}{$offer} // 0 for @$res;
    return $n;
}

sub status_value {
    my ($port, $metric, $adv) = @_;
    my $r = http_get($port, '/status');
    return $r->{body} =~ /^\Q$metric\E\{advertiser="\Q$adv\E"\} (\S+)$/m
           ? $1 : undef;
}

sub redis_spend {
    my ($key) = @_;
    my $v = redis_cmd($rd, 'GET', $key);
    return defined $v ? $v / 1e6 : 0;
}

# --- nginx -t ------------------------------------------------------------

{
    my $bad = { %$catalog,
                advertisers => [ { id => 'x', pricing => 'cpa',
                                   price => 1, pacing => 'fast' } ],
                offers => [ tp('t', 'x') ] };
    write_file("$dir/bad.json", encode_json($bad));
    my ($rc, $out) = nginx_test(http => "vpt_catalog $dir/bad.json;");
    isnt $rc, 0, 'nginx -t fails on a bad advertiser';
    like $out, qr{catalog "\Q$dir\E/bad\.json": advertiser #0 \("x"\): "pacing": expected "even" or "asap"},
        'the message names file, entry and field';

    $bad->{advertisers}[0]{pacing} = 'asap';
    $bad->{offers}[0]{value} = 5;
    write_file("$dir/bad.json", encode_json($bad));
    ($rc, $out) = nginx_test(http => "vpt_catalog $dir/bad.json;");
    like $out, qr{offer #0 \("t"\): "value": must be absent},
        'a priced third_party offer may not carry its own value';
}

# --- a daily budget across 2 nodes x 2 workers ----------------------------

my @nodes = start_pair();
my $shown = 0;

{
    my @res = load(\@nodes, '/load/', 4, 'o-capped');
    sleep 0.6;                                  # a few syncs

    my $pages = 0;
    my $rate = 0;
    for (@res) {
        $shown += @{ $_->{t} };
        $pages += $_->{pages};
        my $r = $_->{pages} / $_->{secs};
        $rate = $r if $r > $rate;
    }
    is((grep { $_->{bad} } @res), 0, 'every page went out complete');

    # /load/ blocks paced and open by id, casino by its category; gone's
    # flight ended in 2020, though its price makes it the best offer
    for (['o-casino', 'a category blocked'], ['o-open', 'an id blocked'],
         ['o-paced', 'another id blocked'], ['o-gone', 'an expired flight'])
    {
        is seen(\@res, $_->[0]), 0,
           "under load on 2 nodes x 2 workers, $_->[1] never appears"
           . " ($_->[0])";
    }
    cmp_ok seen(\@res, 'own'), '>=', 0.9 * $pages,
        'the shop\'s own offer is on (nearly) every page';

    # the documented bound for 2 nodes: the other node's pages of one sync
    # interval plus a round trip, and one page in flight per client; each
    # impression costs 1
    my $bound = $rate * (0.1 + 0.05) + 2;
    note sprintf "budget 150: %d impressions of %d pages, %.0f pages/s "
                 . "per node at most, bound %.1f", $shown, $pages, $rate,
                 $bound;
    cmp_ok $shown, '>=', 150, 'the budget was spent';
    cmp_ok $shown, '<=', 150 + $bound,
        'and not overspent beyond the documented bound';

    my $day = int(time / 86400);
    is redis_spend("vpt:spend:{capped}:d:$day"), $shown,
        'Redis holds every impression\'s cost, once';
    is redis_spend("vpt:spend:{capped}"), $shown, 'in the total too';

    is status_value($nodes[0]{port}, 'vpt_advertiser_spend_total', 'capped'),
        sprintf('%.6f', $shown), 'the status page shows the spend';
    is status_value($nodes[1]{port}, 'vpt_advertiser_spend_today', 'capped'),
        sprintf('%.6f', $shown), '... today\'s, on the other node too';
    my $imps = 0;
    $imps += status_value($_->{port}, 'vpt_advertiser_impressions_total',
                          'capped') // -1e9 for @nodes;
    is $imps, $shown, 'each node counts its own impressions: they add up';
    cmp_ok status_value($nodes[1]{port}, 'vpt_advertiser_budget_remaining',
                        'capped'), '<=', 0, 'and no budget left';
    like http_get($nodes[0]{port}, '/status')->{body},
        qr/^vpt_advertiser_budget_remaining\{advertiser="open"\} \+Inf$/m,
        'an advertiser without a budget has +Inf left';

    my $r = http_get($nodes[0]{port}, '/load/', sid => 's1');
    ok !(grep { $_ eq 'o-capped' } offers_of($r)),
        'a spent advertiser is not shown';
    ok((grep { $_ eq 'own' } offers_of($r)), 'the shop\'s own offer is');
}

# --- blocklists, flights, the third-party cap ------------------------------

{
    my (%blocked, %all, $max3p, $none3p);
    $max3p = 0;
    $none3p = 0;
    for my $i (1 .. 40) {
        my $sid = 's' . (1 + $i % 8);
        my $p = $nodes[$i % 2]{port};
        $blocked{$_}++ for offers_of(http_get($p, '/blocked/', sid => $sid));
        $all{$_}++ for offers_of(http_get($p, '/all/', sid => $sid));
        my $n = grep { /^o-/ } offers_of(http_get($p, '/one3p/',
                                                  sid => $sid));
        $max3p = $n if $n > $max3p;
        $n = grep { /^o-/ } offers_of(http_get($p, '/none3p/', sid => $sid));
        $none3p += $n;
    }
    ok !$blocked{'o-casino'}, 'a blocked category never appears';
    ok $blocked{'o-open'}, 'other advertisers still do';
    ok $all{'o-casino'}, 'the blocked advertiser shows where not blocked';
    ok !$all{'o-gone'} && !$blocked{'o-gone'}, 'an expired flight never appears';
    is $max3p, 1, 'vpt_max_third_party 1: one third-party offer a page';
    is $none3p, 0, 'vpt_max_third_party 0: none';
}

# --- a Redis outage while accepts are charged ------------------------------

sub accept_n {
    my ($n) = @_;
    my $ok = 0;
    for my $i (1 .. $n) {
        my $r = http_get($nodes[$i % 2]{port},
                         "/vpt/accept?d=0123456789abcdef&o=o-open");
        $ok++ if $r->{status} == 204;
    }
    return $ok;
}

{
    my $before = accept_n(10);
    sleep 0.6;
    my $r1 = redis_spend('vpt:spend:{open}');
    is $r1, 2 * $before, 'accepts are charged cpa (2 each) and synced';

    stop_redis($rd, 'KILL');

    my $during = accept_n(20);
    is $during, 20, 'the beacon answers while Redis is down';

    my @res = load(\@nodes, '/all/', 1, 'o-open');
    is((grep { $_->{bad} } @res), 0, 'pages go out complete during the outage');

    # shoppers without a session are decided on the request, Redis or not:
    # each node gates dark (30 impressions' budget) on its own spend alone,
    # so the other node's is the overspend the documented bound allows
    my @dk = load(\@nodes, '/dark/', 1.5, 'o-dark', 1);
    my $dark = seen(\@dk, 'o-dark');
    is((grep { $_->{bad} } @dk), 0, 'anonymous pages go out complete too');
    note "dark during the outage: $dark impressions of a budget of 30";
    cmp_ok $dark, '>=', 30, 'a budget is spent during an outage';
    cmp_ok $dark, '<=', 2 * 30 + 2,
        'each node stops at the budget by its own count: at most 2 nodes x'
        . ' the budget (+ a page in flight each)';

    $rd = start_redis(port => $rport);
    redis_cmd($rd, 'SET', "vpt:ctx:s$_", '{}') for 1 .. 8;
    my $want = 2 * $during;
    my $r2 = 0;
    wait_for(sub { $r2 = redis_spend('vpt:spend:{open}'); $r2 >= $want }, 20);
    note "spend before the outage $r1, sent after it $r2, "
         . "charged during it $want";
    is $r2, $want, 'the spend charged during the outage reached Redis once '
                   . 'it returned';
    my $d2 = 0;
    wait_for(sub { $d2 = redis_spend('vpt:spend:{dark}'); $d2 >= $dark }, 20);
    is $d2, $dark, 'so did every impression\'s cost of the outage, once';
    my $left;
    wait_for(sub {
        $left = status_value($nodes[0]{port},
                             'vpt_advertiser_budget_remaining', 'dark');
        defined $left && $left == 30 - $dark }, 10);
    is $left, sprintf('%.6f', 30 - $dark),
        'and each node knows the other\'s spend again';
}

# --- accepts of shown offers, charged and reported -------------------------

my $accepted = 0;
{
    my $before = 0;
    $before += status_value($_->{port}, 'vpt_advertiser_accepts_total',
                            'open') // 0 for @nodes;
    # up to 60 pages for 5 accepts: on a loaded machine a lookup can miss
    # vpt_redis_timeout (200 ms here, for the outage above), and that page
    # shows no offer
    for my $i (1 .. 60) {
        my $n = $nodes[$i % 2];
        my $r = http_get($n->{port}, '/all/', sid => 's' . (1 + $i % 8));
        my ($d) = $r->{body}
            =~ /data-vpt-decision="([0-9a-f]+)" data-vpt-offer="o-open"/;
        next unless $d;
        my $a = http_get($n->{port}, "/vpt/accept?d=$d&o=o-open");
        $accepted++ if $a->{status} == 204;
        last if $accepted == 5;
    }
    is $accepted, 5, 'five pages\' o-open offers accepted';
    my $after = 0;
    $after += status_value($_->{port}, 'vpt_advertiser_accepts_total',
                           'open') // 0 for @nodes;
    is $after - $before, 5, 'the status page counts them per advertiser';
}

# --- vpt-report per advertiser, from both nodes' logs -----------------------

{
    my $logs = join ' ', map { "$_->{ng}{dir}/access.log" } @nodes;
    my $out = `$root/tools/vpt-report --json --catalog $dir/catalog.json $logs`;
    is $? >> 8, 0, 'vpt-report --catalog runs';
    my $rep = eval { decode_json($out) } // {};
    my %adv = map { $_->{advertiser} => $_ } @{ $rep->{advertisers} // [] };
    is $adv{capped}{impressions}, $shown,
        'vpt-report: the capped advertiser\'s impressions';
    is $adv{capped}{spend}, $shown, 'its spend at 1 per impression';
    is $adv{capped}{ecpm}, 1000, 'its effective price per thousand';
    is $adv{capped}{budget_left}, 1000 - $shown, 'its total budget left';
    # accept_n's beacons name a decision no page logged (d=0123456789abcdef):
    # the module charged them (no vpt_secret: unsigned links are taken),
    # but vpt-report counts only accepts that match a logged decision
    # (issue 15), so none of them
    is $adv{open}{accepts} // 0, $accepted,
        'the cpa advertiser\'s accepts of logged decisions, and none of'
        . ' no logged decision, are counted';
    is $adv{open}{cost_per_accept}, 2, '... at its price per accept';
    is $adv{open}{spend}, 2 * $accepted, '... which is its spend';
    is $adv{open}{budget_left}, undef, 'no budget: none left to show';
    is $adv{gone}{impressions}, 0, 'the expired flight: nothing';
}

for (@nodes) { stop_nginx($_->{ng}) }

# --- even pacing over a shortened day --------------------------------------

{
    my $day = 30;
    my $left = $day - (time % $day);
    sleep $left + 0.05 if $left < 22;       # a day with room to run

    my $start = time;
    my $end = (int($start / $day) + 1) * $day;
    @nodes = start_pair(day => "${day}s", sync => '250ms');

    my @res = load(\@nodes, '/paced/', $end - time - 0.3, 'o-paced');
    my @t = sort { $a <=> $b } map { @{ $_->{t} } } @res;
    my $pages = 0;
    $pages += $_->{pages} for @res;

    my $span = $end - $start;
    my @q;
    # 0.1 an impression
    for my $k (1 .. 4) {
        my $at = $start + $span * $k / 4;
        push @q, 0.1 * grep { $_ <= $at } @t;
    }
    note sprintf "paced, budget 100 (1000 impressions) over %.1f s: %d "
                 . "pages, spend at each quarter %s", $span, $pages,
                 join(' ', @q);
    cmp_ok $pages, '>=', 3000, 'demand well above the budget';
    cmp_ok $q[3], '>=', 85, 'even pacing spends most of the budget';
    cmp_ok $q[3], '<=', 100 + 5, 'within the bound';
    for my $k (0 .. 2) {
        my $line = 100 * ($k + 1) / 4;
        cmp_ok abs($q[$k] - $line), '<=', 12,
            "quarter " . ($k + 1) . ": $q[$k] close to the line's $line";
    }
}

done_testing();
