# Redis beyond one server, before nginx uses it: the harness's setups
# (t/lib/VPT/Topology.pm) come up and fail over for real, and the core's
# cluster code (src/vpt_cluster.c, through tools/vpt-keyslot and
# t/lib/cluster_probe.c) agrees with what the real servers say: key slots
# of thousands of session keys with and without braces, the counters key
# in its context's slot, slot maps from CLUSTER SLOTS (a hole included),
# MOVED and ASK as redis-cli shows them, the Sentinel's answers before and
# after a failover, the error words of a replica and of authentication.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time);
use VPT::Test;
use VPT::Topology;

my $root = repo_root();
my $dir = tmpdir();
my $keyslot = "$root/build/tools/vpt-keyslot";

plan skip_all => "no $keyslot (make tools)" unless -x $keyslot;

my $probe = "$dir/cluster_probe";
system('cc', '-std=gnu99', '-O1', '-Wall', '-Werror', "-I$root/src", '-o',
       $probe, "$root/t/lib/cluster_probe.c", "$root/src/vpt_cluster.c") == 0
    or BAIL_OUT('t/lib/cluster_probe.c does not build');

# the probe's answers to lines of input, one each (range lines: none)
sub probe {
    my (@lines) = @_;
    write_file("$dir/probe.in", join '', map { "$_\n" } @lines);
    my @out = split /\n/, `$probe < $dir/probe.in`;
    return wantarray ? @out : $out[0];
}

# CLUSTER SLOTS as the probe's range lines
sub range_lines {
    my ($slots) = @_;
    return map {
        my ($s, $e, @nodes) = @$_;
        join "\t", 'range', $s, $e, map { "$_->[0]:$_->[1]" } @nodes;
    } @$slots;
}

sub first_line { (split /\n/, $_[0] // '')[0] // '' }

my $t_start = time;

# --- one server: a password and an ACL user ---------------------------------

{
    my $rd = start_redis_auth();
    my ($pw) = split /\n/, read_file($rd->{password_file});
    is(rcmd({ %$rd, password => $pw }, 'PING'), 'PONG',
       'the password file\'s first line is the default user\'s password');

    my ($upw) = split /\n/, read_file($rd->{user_password_file});
    is(rcmd({ %$rd, user => $rd->{user_name}, password => $upw },
            'ACL', 'WHOAMI'), $rd->{user_name},
       'AUTH user password logs in as the ACL user');

    my $none = { port => $rd->{port} };
    my $r = rcmd($none, 'GET', 'vpt:ctx:x');
    is(probe("kind\t$r->{error}"), 'NOAUTH',
       "without AUTH: \"$r->{error}\" is NOAUTH to the core");

    my $err = eval { rcmd({ %$rd, password => 'wrong' }, 'PING'); '' } // $@;
    like($err, qr/WRONGPASS/, 'a wrong password is refused');
    (my $text = $err) =~ s/^.*AUTH: //s;
    $text =~ s/\n$//;
    is(probe("kind\t$text"), 'WRONGPASS',
       'and WRONGPASS is WRONGPASS to the core');

    stop_node($rd);
}

# --- Sentinel ----------------------------------------------------------------

{
    my $t0 = time;
    my $s = start_sentinel_setup(password => 'sentinel-secret');
    note(sprintf 'sentinel setup up in %.1f s', time - $t0);

    my ($old, $new) = ($s->{master}, $s->{replica});

    for my $sn (@{ $s->{sentinels} }) {
        my $r = rcmd($sn, 'SENTINEL', 'get-master-addr-by-name', $s->{name});
        is(probe(join "\t", 'sentinel', @$r), "ok 127.0.0.1 $old->{port}",
           "sentinel $sn->{port} names the master; the core reads it");
    }

    my $nil = rcmd($s->{sentinels}[0], 'SENTINEL', 'get-master-addr-by-name',
                   'no-such-master');
    ok(!defined $nil, 'an unknown master name is nil');
    is(probe('sentinel'), 'declined', 'which the core declines');

    my $ro = rcmd($new, 'SET', 'vpt:ctx:x', '{}');
    is(probe("kind\t" . ($ro->{error} // '')), 'READONLY',
       'a write to the replica is READONLY to the core');

    my $took = sentinel_failover($s);
    ok(defined $took, 'SIGKILL of the master: the sentinels promote the '
                      . 'replica');
    note(sprintf 'sentinel failover: %.1f s from SIGKILL to all three '
                 . 'sentinels naming the new master', $took // -1);

    for my $sn (@{ $s->{sentinels} }) {
        my $r = rcmd($sn, 'SENTINEL', 'get-master-addr-by-name', $s->{name});
        is(probe(join "\t", 'sentinel', @$r), "ok 127.0.0.1 $new->{port}",
           "sentinel $sn->{port} names the new master");
    }

    is(rcmd($new, 'SET', 'vpt:ctx:x', '{}'), 'OK',
       'the promoted replica takes writes');
    stop_node($_) for @{ $s->{sentinels} }, $new;
}

# --- Cluster -----------------------------------------------------------------

my $t0 = time;
my $c = start_cluster(password => 'cluster-secret');
my @nodes = @{ $c->{nodes} };
note(sprintf 'cluster of 6 up in %.1f s', time - $t0);

# the map, from a real CLUSTER SLOTS
my $slots = cluster_slots($c);
my @built = probe(range_lines($slots), 'build',
                  map { "master\t$_" } 0, 5460, 5461, 10922, 10923, 16383);
is($built[0], 'ok 6 3 0', 'CLUSTER SLOTS: 6 nodes, 3 masters, no hole');
is_deeply([ @built[1 .. 6] ],
          [ map { '127.0.0.1:' . cluster_master_of($c, $_)->{port} }
                0, 5460, 5461, 10922, 10923, 16383 ],
          'the map\'s master of each range\'s ends is CLUSTER SLOTS\'s');

# thousands of session keys, many with braces: tools/vpt-keyslot's slots
# and counters keys against CLUSTER KEYSLOT
srand(18);
my @alpha = ('a' .. 'z', 0 .. 9, ':', '-', '_', '{', '}', '{', '}', '{}');
my @sessions = ('abc', '{u42}', '{}', '}{', '{', '}', 'a}b', '{a}b', 'x{y',
                '{{a}}', "caf\xc3\xa9", 'a b', 'z' x 200);
while (@sessions < 3000) {
    my $n = 1 + int rand 24;
    push @sessions, join '', map { $alpha[rand @alpha] } 1 .. $n;
}
my $braces = grep { /[{}]/ } @sessions;

for my $prefix ('vpt:ctx:', '{shop}:', '') {
    write_file("$dir/sessions", join '', map { "$_\n" } @sessions);
    my @rows = map { [ split /\t/ ] }
               split /\n/, `$keyslot --prefix '$prefix' - < $dir/sessions`;
    is(scalar @rows, scalar @sessions,
       "vpt-keyslot --prefix '$prefix': a line per session");

    my (@cmds, %forms);
    for my $row (@rows) {
        push @cmds, ['CLUSTER', 'KEYSLOT', $row->[1]],
                    ['CLUSTER', 'KEYSLOT', $row->[2]];
        $forms{ $row->[2] eq "$row->[1]:vpt" ? 1
                : $row->[2] eq "{$row->[1]}:vpt" ? 2 : 3 }++;
    }
    my @replies;
    push @replies, rpipe($nodes[0], splice @cmds, 0, 1000) while @cmds;

    my ($bad_ctx, $bad_counters, $shown) = (0, 0, 0);
    for my $i (0 .. $#rows) {
        my ($slot, $ctx, $counters) = @{ $rows[$i] };
        my ($r1, $r2) = @replies[2 * $i, 2 * $i + 1];
        next if $r1 == $slot && $r2 == $slot;
        $bad_ctx++ if $r1 != $slot;
        $bad_counters++ if $r2 != $slot;
        diag("'$ctx' ($slot, Redis $r1) -> '$counters' (Redis $r2)")
            if $shown++ < 5;
    }
    is($bad_ctx, 0, "prefix '$prefix': the core's slot of all "
                    . @rows . " context keys ($braces sessions with braces) "
                    . 'is CLUSTER KEYSLOT\'s');
    is($bad_counters, 0, "prefix '$prefix': every counters key is in its "
                         . 'context key\'s slot, says CLUSTER KEYSLOT');
    note("prefix '$prefix': counters key forms "
         . join ', ', map { "$_: $forms{$_}" } sort keys %forms);

    next unless $prefix eq 'vpt:ctx:';

    # both keys of a shopper in one command on the slot's master: no
    # CROSSSLOT, no MOVED, and the shoppers spread over every master
    my %by_master;
    for my $row (@rows[0 .. 599]) {
        my $m = cluster_master_of($c, $row->[0]);
        push @{ $by_master{ $m->{port} } }, $row;
    }
    is(scalar keys %by_master, 3, '600 shoppers land on all 3 masters');
    my ($ok, $errors) = (0, 0);
    for my $port (keys %by_master) {
        my ($m) = grep { $_->{port} == $port } @nodes;
        my @r = rpipe($m, map { (['SET', $_->[1], '{}'],
                                 ['HINCRBY', $_->[2], 'i:x', 1],
                                 ['DEL', $_->[1], $_->[2]]) }
                          @{ $by_master{$port} });
        for (my $i = 2; $i < @r; $i += 3) {
            if (!ref $r[$i] && $r[$i] == 2) { $ok++ }
            elsif ($errors++ < 3) { diag(explain($r[$i - 2], $r[$i])) }
        }
    }
    is($ok, 600, 'context and counters in one DEL on the map\'s master: '
                 . 'all 600 served, no CROSSSLOT, no MOVED');
}

# MOVED, as redis-cli shows it, read by the core
my $key = 'vpt:ctx:moved-and-ask';
my $slot = rcmd($nodes[0], 'CLUSTER', 'KEYSLOT', $key);
my $owner = cluster_master_of($c, $slot);
my ($other) = grep { $_->{port} != $owner->{port} }
              map { cluster_master_of($c, $_) } 0, 8000, 16383;

my $out = first_line(scalar redis_cli($other, 'GET', $key));
is(probe("redirect\t$out"), "ok MOVED $slot 127.0.0.1 $owner->{port}",
   "redis-cli on another master: \"$out\", parsed");

# ASK, by moving the slot by hand
is(rcmd($owner, 'SET', $key, '{"device":"mobile"}'), 'OK', 'a context');
migration_begin($c, $slot, $owner, $other);
is(rcmd($owner, 'GET', $key), '{"device":"mobile"}',
   'migrating: the source still serves a key it holds');
is(migration_move_keys($c, $slot, $owner, $other), 1, 'MIGRATE moves it');

$out = first_line(scalar redis_cli($owner, 'GET', $key));
is(probe("redirect\t$out"), "ok ASK $slot 127.0.0.1 $other->{port}",
   "redis-cli on the source after MIGRATE: \"$out\", parsed");

my $r = rcmd($other, 'GET', $key);
like(probe("redirect\t" . ($r->{error} // '')),
     qr/^ok MOVED $slot 127\.0\.0\.1 $owner->{port}$/,
     'the target without ASKING sends us back with MOVED');
my (undef, $asked) = rpipe($other, ['ASKING'], ['GET', $key]);
is($asked, '{"device":"mobile"}', 'ASKING, then GET on the target: served');

migration_end($c, $slot, $owner, $other);
$out = first_line(scalar redis_cli($owner, 'GET', $key));
is(probe("redirect\t$out"), "ok MOVED $slot 127.0.0.1 $other->{port}",
   "after SETSLOT NODE the source answers \"$out\"");

# a master SIGKILLed: its replica takes over; the new map has no hole and
# names no dead node
my $victim = cluster_master_of($c, 0);
my ($took, $promoted) = cluster_failover($c, $victim);
ok(defined $took, 'SIGKILL of a master: its replica serves its slots');
note(sprintf 'cluster failover: %.1f s from SIGKILL to cluster_state:ok '
             . 'everywhere', $took // -1);

@built = probe(range_lines(cluster_slots($c)), 'build', "master\t0");
like($built[0], qr/^ok \d+ 3 0$/, 'the map after the failover: 3 masters, '
                                 . 'no hole');
is($built[1], "127.0.0.1:$promoted->{port}",
   'slot 0 is the promoted replica\'s');

# redis-cli --cluster reshard moves 100 slots
my $to = cluster_master_of($c, 16383);
my $count = sub {
    my ($port) = @_;
    my $n = 0;
    for (@{ cluster_slots($c) }) {
        $n += $_->[1] - $_->[0] + 1 if $_->[2][1] == $port;
    }
    return $n;
};
my $before = $count->($to->{port});
cluster_reshard($c, $promoted, $to, 100);
cluster_wait_ok($c, 20);
is($count->($to->{port}), $before + 100, 'reshard: 100 slots moved');

# a real CLUSTER SLOTS with a hole: a master drops slots 5-9 from its view
my $m0 = cluster_master_of($c, 5);
is(rcmd($m0, 'CLUSTER', 'DELSLOTSRANGE', 5, 9), 'OK', 'DELSLOTSRANGE 5 9');
@built = probe(range_lines(cluster_slots($c, $m0)), 'build', "master\t7",
               'holes');
like($built[0], qr/^ok \d+ \d+ 5$/, 'its CLUSTER SLOTS leaves 5 slots '
                                   . 'uncovered');
is($built[1], 'none', 'slot 7 has no master in the map');
is($built[2], '5-9', 'the holes are named');
is(rcmd($m0, 'CLUSTER', 'ADDSLOTSRANGE', 5, 9), 'OK', 'and given back');

note(sprintf 't/40-topology.t took %.1f s', time - $t_start);

done_testing();
