# Redis Cluster for real: 3 masters and 3 replicas with a password
# (t/lib/VPT/Topology.pm).  Contexts of thousands of shoppers over all
# masters, each shopper served their own offer through the slot map;
# under a bounded load a master is SIGKILLed (its replica takes over) and
# slots are resharded and migrated by hand, so MOVED and ASK happen for
# real: every page complete, each shopper's own offer; two nginx on one
# cluster hold a cap_per_shopper of 2 between them; seeds that do not
# answer and a slot map with a hole fail open with clear log lines, and
# the hole's shoppers get offers again once it is filled.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use VPT::Test;
use VPT::Topology;
use VPT::Load;

my $root = repo_root();
my $dir = tmpdir();
my $page = "<html><body><h1>Thanks</h1>" . ("<p>order</p>\n" x 50)
         . "</body></html>\n";
mkdir "$dir/www";
write_file("$dir/www/thanks.html", $page);
write_file("$dir/catalog.json", encode_json({ version => 'cluster',
    offers => [ { id => 'hello', kind => 'loyalty', value => 10,
                  prior => 0.5, pages => ['confirmation'],
                  markup => '<p class="hello">Hi {{user.id}}</p>' } ] }));
write_file("$dir/capped.json", encode_json({ version => 'capped',
    offers => [ { id => 'limited', kind => 'upsell', value => 100,
                  prior => 0.9, pages => ['confirmation'],
                  cap_per_shopper => 2,
                  markup => '<p class="limited">limited</p>' },
                { id => 'hello', kind => 'loyalty', value => 1,
                  prior => 0.5, pages => ['confirmation'],
                  markup => '<p class="hello">Hi {{user.id}}</p>' } ] }));

my $pw = 'vpt-cluster-' . int(rand 1e9);
write_file("$dir/password", "$pw\n");
chmod 0600, "$dir/password";

my $t0 = time;
my $c = start_cluster(password => $pw);
note(sprintf 'cluster up in %.1f s', time - $t0);

# --- Redis's key slot, to write the contexts where they belong ------------

sub crc16 {
    my ($s) = @_;
    my $crc = 0;
    for my $b (unpack 'C*', $s) {
        $crc ^= $b << 8;
        for (1 .. 8) {
            $crc = $crc & 0x8000 ? (($crc << 1) ^ 0x1021) & 0xffff
                                 : ($crc << 1) & 0xffff;
        }
    }
    return $crc;
}
sub keyslot {
    my ($k) = @_;
    if ($k =~ /^[^{]*\{([^}]+)\}/) { $k = $1 }
    return crc16($k) % 16384;
}
sub node_of_slot {
    my ($slot) = @_;
    for my $r (@{ cluster_slots($c) }) {
        next unless $slot >= $r->[0] && $slot <= $r->[1];
        my ($n) = grep { $_->{port} == $r->[2][1] } @{ $c->{nodes} };
        return $n;
    }
    return undef;
}
sub write_contexts {
    my (@sids) = @_;
    my $slots = cluster_slots($c);
    my %by;
    for my $sid (@sids) {
        my $s = keyslot("vpt:ctx:$sid");
        my ($r) = grep { $s >= $_->[0] && $s <= $_->[1] } @$slots;
        push @{ $by{ $r->[2][1] } }, $sid;
    }
    for my $port (keys %by) {
        my ($n) = grep { $_->{port} == $port } @{ $c->{nodes} };
        my @cmds = map { ['SET', "vpt:ctx:$_",
                          encode_json({ user => { id => $_ } })] }
                   @{ $by{$port} };
        while (my @b = splice @cmds, 0, 500) {
            rpipe({ %$n, password => $pw }, @b);
        }
    }
    return \%by;
}
# a cluster command, MOVED followed
sub ccmd {
    my ($key, @args) = @_;
    my $n = node_of_slot(keyslot($key));
    my $r = rcmd({ %$n, password => $pw }, @args);
    if (ref $r eq 'HASH' && $r->{error} =~ /^MOVED \d+ [\d.]+:(\d+)/) {
        $r = rcmd({ port => $1, password => $pw }, @args);
    }
    return $r;
}

my @shoppers = map { "c$_" } 1 .. 3000;
my $by = write_contexts(@shoppers);
is(scalar(keys %$by), 3, 'the 3000 shoppers\' contexts are spread over the '
   . '3 masters (' . join(', ', map { scalar @$_ } values %$by) . ')');

my $seeds = join ' ', map { "127.0.0.1:$_->{port}" } @{ $c->{nodes} }[0, 1];

sub nginx_with {
    my ($catalog, $seedlist) = @_;
    my $port = free_port();
    my $ng = start_nginx(ports => [$port], workers => 2, http => <<"HTTP");
    vpt_catalog $catalog;
    vpt_redis_cluster $seedlist;
    vpt_redis_password_file $dir/password;

    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        vpt on;
        vpt_redis_timeout 100ms;
        location = /status { vpt_status_page; }
    }
HTTP
    return ($ng, $port);
}

sub whole {
    my ($body, $sid) = @_;
    (my $b = $body) =~ s{<div class="vpt-offer" [^>]*><p class="hello">Hi \Q$sid\E</p></div>}{};
    return $b eq $page;
}
sub own { $_[1] =~ m{<p class="hello">Hi \Q$_[0]\E</p>} }

my ($ng, $port) = nginx_with("$dir/catalog.json", $seeds);

ok(wait_for(sub {
    own('c1', http_get($port, '/thanks.html', sid => 'c1')->{body}) }, 10),
   'the slot map is fetched and a shopper gets their own offer');

{
    my ($bad, $own) = (0, 0);
    for my $sid (@shoppers[0 .. 299]) {
        my $r = http_get($port, '/thanks.html', sid => $sid);
        $bad++ unless $r->{status} == 200 && whole($r->{body}, $sid);
        $own++ if own($sid, $r->{body});
    }
    is($bad, 0, '300 shoppers over the 3 masters: every page whole');
    is($own, 300, 'and each with their own offer');
    ok(wait_for(sub {
        (ccmd('{vpt:ctx:c7}:vpt', 'HGET', '{vpt:ctx:c7}:vpt', 'i:hello')
         // '') eq '1' }, 3),
       'the impression is counted under {vpt:ctx:c7}:vpt, in the '
       . 'context\'s slot');
    is(keyslot('{vpt:ctx:c7}:vpt'), keyslot('vpt:ctx:c7'),
       'which is the context\'s slot');
}

my @table;

sub run_load {
    my ($what, $fault, $affected) = @_;
    my $load = load_start(port => $port, path => '/thanks.html', dir => $dir,
                          clients => 2, shoppers => \@shoppers,
                          max => 20000, whole => \&whole, own => \&own);
    sleep 1.5;
    my $t_fault = time;
    my ($info, $t_kill) = $fault->();
    my $t_done = time;
    $t_kill //= $t_fault;
    sleep 2;
    load_stop($load);
    my $r = load_results($load);
    my $sum = load_summary($r, $t_fault);
    # offers after the fault ended: the share of pages with one
    my @after = grep { $_->[0] > $t_done + 1 } @$r;
    $sum->{after_own} = @after ? (grep { $_->[3] } @after) / @after : 0;
    # the longest run without an own offer after the fault began
    my ($last, $gap) = ($t_fault, 0);
    for my $x (grep { $_->[0] >= $t_fault } @$r) {
        next unless $x->[3];
        $gap = $x->[0] - $last if $x->[0] - $last > $gap;
        $last = $x->[0];
    }
    $sum->{gap} = $gap;
    # the shoppers whose master was killed: from the kill to their first
    # offer, and from the promotion to it
    if ($affected) {
        my ($first) = grep { $_->[0] >= $t_kill && $_->[3]
                             && $affected->{ $_->[4] } } @$r;
        $sum->{window} = $first ? $first->[0] - $t_kill : -1;
        $sum->{back} = $first ? $first->[0] - $t_done : -1;
        $info .= sprintf('; its shoppers: fail-open window %.2f s, offers '
                         . 'back %.2f s after the promotion',
                         $sum->{window}, $sum->{back});
    }
    $sum->{fault_s} = $t_done - $t_fault;
    $sum->{what} = $what;
    $sum->{info} = $info;
    push @table, $sum;
    diag sprintf("%s: %d requests in %.1f s (%.0f/s), non-2xx %d, broken "
                 . "%d, own offers %d, fault took %.2f s, longest time "
                 . "without an offer %.2f s, offers on %.0f%% of pages "
                 . "after it%s", $what, $sum->{requests}, $sum->{seconds},
                 $sum->{rate}, $sum->{non2xx}, $sum->{broken}, $sum->{offers},
                 $sum->{fault_s}, $gap, 100 * $sum->{after_own},
                 $info ? " ($info)" : '');
    return $sum;
}

# --- a master killed under load ---------------------------------------------

{
    my $victim = node_of_slot(keyslot('vpt:ctx:c1'));
    my %affected = map { $_ => 1 } @{ $by->{ $victim->{port} } };
    my $sum = run_load('cluster failover', sub {
        my ($took) = cluster_failover($c, $victim);
        return (sprintf('promotion %.2f s after SIGKILL', $took // -1),
                time - ($took // 0));
    }, \%affected);
    ok($sum->{requests} >= 1000, "failover: $sum->{requests} requests");
    is($sum->{non2xx}, 0, 'failover: no page other than 200');
    is($sum->{broken}, 0, 'failover: every page whole, no shopper given '
                          . 'another\'s offer');
    ok($sum->{after_own} > 0.99, 'failover: afterwards every shopper gets '
                                 . 'their own offer again');
    ok($sum->{window} >= 0 && $sum->{back} < 5,
       'failover: the dead master\'s shoppers have offers again within 5 s '
       . 'of the promotion');
}

# --- resharding under load: MOVED -------------------------------------------

{
    my $from = node_of_slot(keyslot('vpt:ctx:c2'));
    my $to = node_of_slot(keyslot('vpt:ctx:c3'));
    ($to) = grep { $_ != $from && $_->{pid} }
            map { node_of_slot($_) } 0, 8000, 16383
        if $to == $from;
    my $sum = run_load('reshard 300 slots', sub {
        cluster_reshard($c, $from, $to, 300);
        cluster_wait_ok($c, 20);
        return '';
    });
    is($sum->{non2xx}, 0, 'reshard: no page other than 200');
    is($sum->{broken}, 0, 'reshard: every page whole and correct');
    ok($sum->{after_own} > 0.99, 'reshard: every shopper\'s own offer '
                                 . 'afterwards');
}

{
    my $st = http_get($port, '/status')->{body};
    my @up = $st =~ /^vpt_redis_node_connected\{worker="\d+",node="127\.0\.0\.1:\d+"\} 1$/mg;
    ok(@up >= 3, 'status page: ' . scalar(@up) . ' node connections up '
                 . '(worker, node)') or diag $st;
    my $moved = 0;
    $moved += $1 while $st =~ /^vpt_redis_redirects_total\{worker="\d+",kind="moved"\} (\d+)$/mg;
    ok($moved > 0, "status page: $moved MOVED followed during the reshard");
    like($st, qr/^vpt_redis_cluster_map_age_seconds\{worker="\d+"\} \d+\.\d{3}$/m,
         'status page: the slot map\'s age');
    like($st, qr/^vpt_redis_cluster_slots_uncovered\{worker="\d+"\} 0$/m,
         'status page: no slot uncovered');
    like($st, qr/^vpt_redis_node_errors_total\{worker="\d+",node="127\.0\.0\.1:$c->{nodes}[0]{port}"\} \d+$/m,
         'status page: errors per node');
}

# --- a slot migrated by hand: ASK, then MOVED -------------------------------

{
    my $sid = 'c4';
    my $slot = keyslot("vpt:ctx:$sid");
    my $from = node_of_slot($slot);
    my ($to) = grep { $_ != $from } map { node_of_slot($_) } 0, 8000, 16383;
    migration_begin($c, $slot, $from, $to);
    migration_move_keys($c, $slot, $from, $to);
    my $r = rcmd({ %$from, password => $pw }, 'GET', "vpt:ctx:$sid");
    like(ref $r ? $r->{error} : '', qr/^ASK $slot /,
         'mid-migration the old master answers ASK');
    my $ok = 0;
    $ok += own($sid, http_get($port, '/thanks.html', sid => $sid)->{body})
        for 1 .. 5;
    is($ok, 5, 'ASK followed: the shopper\'s own offer from the new master');
    migration_end($c, $slot, $from, $to);
    $ok = 0;
    $ok += own($sid, http_get($port, '/thanks.html', sid => $sid)->{body})
        for 1 .. 5;
    is($ok, 5, 'and after the migration (MOVED) too');
}

# --- two nginx on one cluster: a cap of 2 holds across both ------------------

{
    my ($a, $pa) = nginx_with("$dir/capped.json", $seeds);
    my ($b, $pb) = nginx_with("$dir/capped.json", $seeds);
    wait_for(sub {
        http_get($pa, '/thanks.html', sid => 'c9')->{body} =~ /vpt-offer/
        && http_get($pb, '/thanks.html', sid => 'c9')->{body} =~ /vpt-offer/
    }, 10);
    my %limited;
    for my $sid (map { "c$_" } 10 .. 29) {
        for my $i (1 .. 6) {
            my $r = http_get($i % 2 ? $pa : $pb, '/thanks.html', sid => $sid);
            $limited{$sid}++ if $r->{body} =~ /class="limited"/;
            sleep 0.02;     # the impression is fire and forget
        }
    }
    my @wrong = grep { ($limited{$_} // 0) != 2 } map { "c$_" } 10 .. 29;
    is("@wrong", '', 'cap_per_shopper 2 across two nginx: 20 shoppers, 6 '
                     . 'pages each alternating, the capped offer exactly '
                     . 'twice each')
        or diag explain \%limited;
    stop_nginx($a);
    stop_nginx($b);
}

# --- bad input ---------------------------------------------------------------

{
    my ($bad, $p2) = nginx_with("$dir/catalog.json",
                                join ' ', map { '127.0.0.1:' . free_port() }
                                          1 .. 3);
    my ($broken, $offers) = (0, 0);
    for (1 .. 30) {
        my $r = http_get($p2, '/thanks.html', sid => 'c1');
        $broken++ unless $r->{status} == 200 && whole($r->{body}, 'c1');
        $offers++ if own('c1', $r->{body});
    }
    is($broken, 0, 'no seed answers: every page whole');
    is($offers, 0, 'without an offer');
    ok(wait_for(sub { error_log($bad) =~ /no node answered CLUSTER SLOTS/ },
                5), 'the log says no node answered CLUSTER SLOTS');
    stop_nginx($bad);
}

{
    my $sid = 'c5';
    my $slot = keyslot("vpt:ctx:$sid");
    my $owner = node_of_slot($slot);
    for my $n (grep { $_->{pid} } @{ $c->{nodes} }) {
        rcmd({ %$n, password => $pw }, 'CLUSTER', 'DELSLOTSRANGE', $slot,
             $slot);
    }
    # its master answers CLUSTERDOWN: the map is fetched again, with a hole
    ok(wait_for(sub {
        http_get($port, '/thanks.html', sid => $sid);
        error_log($ng) =~ /leaves 1 slots without a master \($slot\)/ }, 5),
       'a CLUSTER SLOTS with a hole: the log names the slot');
    my ($broken, $offers) = (0, 0);
    for (1 .. 10) {
        my $r = http_get($port, '/thanks.html', sid => $sid);
        $broken++ unless $r->{status} == 200 && whole($r->{body}, $sid);
        $offers++ if own($sid, $r->{body});
    }
    is($broken, 0, 'the hole\'s shopper: every page whole');
    is($offers, 0, 'without an offer');
    ok(own('c1', http_get($port, '/thanks.html', sid => 'c1')->{body})
       || own('c2', http_get($port, '/thanks.html', sid => 'c2')->{body}),
       'other shoppers still get theirs');
    is(rcmd({ %$owner, password => $pw }, 'CLUSTER', 'ADDSLOTSRANGE', $slot,
            $slot), 'OK', 'the slot given back');
    ok(wait_for(sub {
        own($sid, http_get($port, '/thanks.html', sid => $sid)->{body}) }, 10),
       'healed: the shopper\'s offer comes back without a reload');
}

# --- tools/vpt-forget --cluster: the cluster's counters key -------------------

SKIP: {
    my $forget = "$root/build/tools/vpt-forget";
    skip "no $forget (make tools)", 4 unless -x $forget;
    my $sid = 'c11';
    ok(wait_for(sub {
        (ccmd("{vpt:ctx:$sid}:vpt", 'EXISTS', "{vpt:ctx:$sid}:vpt") // 0)
        == 1 }, 3), "the module wrote $sid\'s counters in the cluster");
    # a seed that is not the key's master: MOVED followed
    my $seed = (grep { $_->{pid} && $_ != node_of_slot(keyslot("vpt:ctx:$sid")) }
                @{ $c->{nodes} })[0];
    my $out = `$forget --cluster 127.0.0.1:$seed->{port} --password-file $dir/password $sid 2>&1`;
    like($out, qr/^\Q$sid\E: deleted vpt:ctx:\Q$sid\E \(context/m,
         'vpt-forget --cluster deletes the context') or diag $out;
    like($out, qr/^\Q$sid\E: deleted \{vpt:ctx:\Q$sid\E\}:vpt \(counters/m,
         'and the counters under the cluster\'s key');
    is(ccmd("vpt:ctx:$sid", 'EXISTS', "vpt:ctx:$sid"), 0,
       'the context is gone from the cluster');
}

unlike(error_log($ng), qr/\[(alert|crit|emerg)\]/,
       'nothing worse than an error logged');
note join "\n", grep { /vpt redis cluster/ } split /\n/, error_log($ng);

done_testing();
