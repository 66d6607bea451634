package VPT::Topology;

# Redis beyond one server, for the tests: real redis-server and
# redis-sentinel processes on free loopback ports, each in a directory of
# the test's temporary prefix, all stopped at exit.
#
#   my $rd = start_redis_auth();          # requirepass + an ACL user
#   my $s  = start_sentinel_setup();      # 1 master, 1 replica, 3 sentinels
#   my $c  = start_cluster();             # 3 masters + 3 replicas
#   sentinel_failover($s);                # SIGKILL the master, wait
#   cluster_failover($c, $master);        # SIGKILL a master, wait
#   migration_begin / migration_move_keys / migration_end   (ASK by hand)
#   cluster_reshard($c, $from, $to, $n);  # redis-cli --cluster reshard
#
# Every node is a hash { port, pid, dir, ... }; rcmd($node, @cmd) sends one
# command on a fresh connection (with the setup's AUTH when it has one)
# and returns the reply, an error reply as { error => 'MOVED ...' }.
# Each start_* takes password => PW to protect every node (and the
# replicas' masterauth, the sentinels' auth-pass) with it.
#
# Timings are short on purpose (cluster-node-timeout and Sentinel's
# down-after-milliseconds 1000 ms): a failover is seen in a few seconds.

use strict;
use warnings;

use Exporter 'import';
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

use VPT::Test qw(free_port wait_for write_file start_redis stop_redis
                 redis_pipe);

our @EXPORT = qw(rcmd rpipe start_node stop_node node_info
                 start_redis_auth
                 start_sentinel_setup sentinel_master sentinel_failover
                 start_cluster cluster_nodes cluster_slots cluster_master_of
                 cluster_wait_ok cluster_wait_synced cluster_failover
                 cluster_reshard
                 migration_begin migration_move_keys migration_end
                 redis_cli);

my @STARTED;

# --- commands (VPT::Test's client: AUTH from the node, errors as hashes) ---

sub rpipe { return redis_pipe(@_) }

sub rcmd {
    my ($node, @args) = @_;
    my ($r) = redis_pipe($node, [@args]);
    return $r;
}

# redis-cli's own output (its -a warning silenced): ($output, $exit code)
sub redis_cli {
    my ($node, @args) = @_;
    my @auth = defined $node->{password}
             ? ('--no-auth-warning', '-a', $node->{password},
                (defined $node->{user} ? ('--user', $node->{user}) : ()))
             : ();
    my $pid = open my $fh, '-|';
    die "fork: $!" unless defined $pid;
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;
        { exec 'redis-cli', '-h', '127.0.0.1', '-p', $node->{port}, @auth,
               @args; }
        POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return wantarray ? ($out, $? >> 8) : $out;
}

# --- processes ----------------------------------------------------------------

# start_node(args => [...], password => PW, sentinel => 1, conf => TEXT):
# VPT::Test's start_redis, SIGKILLed at exit (a master SIGTERMed waits
# for its replicas)
sub start_node {
    my $node = start_redis(@_);
    push @STARTED, $node;
    return $node;
}

sub stop_node { stop_redis(@_) }

# INFO SECTION as a hash
sub node_info {
    my ($node, $section) = @_;
    my $r = eval { rcmd($node, 'INFO', $section // 'default') } // '';
    return {} if ref $r;
    return { map { /^([^:#]+):(.*?)\r?$/ ? ($1, $2) : () } split /\n/, $r };
}

END {
    my $rc = $?;
    stop_node($_, 'KILL') for reverse @STARTED;
    $? = $rc;
}

# --- one server with a password and an ACL user -----------------------------

# -> node, plus user, user_password, password_file (the default user's
# password as its first line, as vpt_redis_password_file reads it) and
# user_password_file
sub start_redis_auth {
    my (%o) = @_;
    my $pw = $o{password} // 'vpt-default-' . int(rand 1e9);
    my $user = $o{user} // 'vpt';
    my $upw = $o{user_password} // 'vpt-user-' . int(rand 1e9);
    my $node = start_node(password => $pw);
    my $r = rcmd($node, 'ACL', 'SETUSER', $user, 'on', ">$upw", '~*', '&*',
                 '+@all');
    die "ACL SETUSER: $r->{error}" if ref $r;
    write_file("$node->{dir}/password", "$pw\n");
    write_file("$node->{dir}/user_password", "$upw\n");
    $node->{user_name} = $user;
    $node->{user_password} = $upw;
    $node->{password_file} = "$node->{dir}/password";
    $node->{user_password_file} = "$node->{dir}/user_password";
    return $node;
}

# --- Sentinel -----------------------------------------------------------------

# -> { name, master, replica, sentinels => [3 nodes], password }
sub start_sentinel_setup {
    my (%o) = @_;
    my $name = $o{name} // 'vptmaster';
    my $pw = $o{password};
    my $master = start_node(password => $pw);
    my $replica = start_node(password => $pw, args => [
        '--replicaof', '127.0.0.1', $master->{port}]);

    wait_for(sub { (node_info($replica, 'replication')
                    ->{master_link_status} // '') eq 'up' }, 15)
        or die "the replica did not sync";

    my $conf = "sentinel monitor $name 127.0.0.1 $master->{port} 2\n"
             . "sentinel down-after-milliseconds $name 1000\n"
             . "sentinel failover-timeout $name 5000\n"
             . "sentinel parallel-syncs $name 1\n";
    $conf .= "sentinel auth-pass $name $pw\n" if defined $pw;

    my @sentinels = map { start_node(sentinel => 1, conf => $conf) } 1 .. 3;
    my $s = { name => $name, master => $master, replica => $replica,
              sentinels => \@sentinels, password => $pw };

    # agreed: each knows the two others and the replica
    wait_for(sub {
        for my $sn (@sentinels) {
            my $r = eval { rcmd($sn, 'SENTINEL', 'MASTER', $name) };
            return 0 unless ref $r eq 'ARRAY';
            my %m = @$r;
            return 0 unless ($m{'num-other-sentinels'} // 0) == 2
                            && ($m{'num-slaves'} // 0) == 1;
        }
        return 1;
    }, 20) or die "the sentinels did not agree";

    return $s;
}

# the master's port as a sentinel says (undef: unknown)
sub sentinel_master {
    my ($s, $sentinel) = @_;
    my $r = eval { rcmd($sentinel // $s->{sentinels}[0], 'SENTINEL',
                        'get-master-addr-by-name', $s->{name}) };
    return ref $r eq 'ARRAY' ? $r->[1] : undef;
}

# SIGKILL the master, wait until every sentinel names the replica and it
# says it is a master; -> seconds from the kill to then (undef: timeout)
sub sentinel_failover {
    my ($s, %o) = @_;
    my ($old, $new) = ($s->{master}, $s->{replica});
    my $t0 = time;
    stop_node($old, 'KILL');
    my $ok = wait_for(sub {
        for my $sn (@{ $s->{sentinels} }) {
            my $p = sentinel_master($s, $sn) // 0;
            return 0 unless $p == $new->{port};
        }
        return (node_info($new, 'replication')->{role} // '') eq 'master';
    }, $o{timeout} // 30);
    return undef unless $ok;
    ($s->{master}, $s->{replica}) = ($new, $old);
    return time - $t0;
}

# --- Cluster ------------------------------------------------------------------

# -> { nodes => [6 nodes], password }; nodes carry their cluster id
sub start_cluster {
    my (%o) = @_;
    my $pw = $o{password};
    my $n = $o{nodes} // 6;
    my @nodes;

    for (1 .. $n) {
        my $bus = free_port();
        push @nodes, start_node(password => $pw, args => [
            '--cluster-enabled', 'yes',
            '--cluster-port', $bus,
            '--cluster-node-timeout', $o{node_timeout} // 1000,
            '--cluster-config-file', 'nodes.conf',
            '--cluster-require-full-coverage', 'no',
            # the replicas' offsets move at once: CLUSTER SLOTS lists a
            # replica only once its offset is not 0
            '--repl-ping-replica-period', 1]);
    }

    my ($out, $rc) = redis_cli($nodes[0], '--cluster', 'create',
                               (map { "127.0.0.1:$_->{port}" } @nodes),
                               '--cluster-replicas', $o{replicas} // 1,
                               '--cluster-yes');
    die "redis-cli --cluster create failed ($rc):\n$out" if $rc;

    my $c = { nodes => \@nodes, password => $pw };
    cluster_wait_ok($c, 20) or die "the cluster is not ok:\n$out";
    for my $node (@nodes) {
        $node->{id} = rcmd($node, 'CLUSTER', 'MYID');
    }
    cluster_wait_synced($c, 20) or die "the replicas did not sync";
    my $per = 1 + ($o{replicas} // 1);
    wait_for(sub {
        for my $node (@nodes) {
            my $r = eval { cluster_slots($c, $node) };
            return 0 unless ref $r eq 'ARRAY';
            return 0 if grep { @$_ - 2 != $per } @$r;
        }
        return 1;
    }, 20) or die "CLUSTER SLOTS does not list every replica";
    return $c;
}

# every live replica has synced with its master: a replica that never
# did would not take over (its data would be too old)
sub cluster_wait_synced {
    my ($c, $timeout) = @_;
    return wait_for(sub {
        for my $node (_alive($c)) {
            my $i = node_info($node, 'replication');
            return 0 if ($i->{role} // '') eq 'slave'
                        && ($i->{master_link_status} // '') ne 'up';
        }
        return 1;
    }, $timeout // 20);
}

sub _alive { grep { $_->{pid} } @{ $_[0]{nodes} } }

# CLUSTER NODES of one live node: [{ id, port, flags, master, slots }]
sub cluster_nodes {
    my ($c, $via) = @_;
    ($via) = _alive($c) unless $via;
    my $r = rcmd($via, 'CLUSTER', 'NODES');
    my @n;
    for (split /\n/, ref $r ? '' : $r) {
        my ($id, $addr, $flags, $master, undef, undef, undef, $link,
            @slots) = split;
        my ($port) = $addr =~ /:(\d+)@/;
        push @n, { id => $id, port => $port, flags => $flags,
                   master => $master, link => $link, slots => \@slots };
    }
    return @n;
}

# CLUSTER SLOTS of one live node, as [[start, end, [host, port, id], ...]]
sub cluster_slots {
    my ($c, $via) = @_;
    ($via) = _alive($c) unless $via;
    return rcmd($via, 'CLUSTER', 'SLOTS');
}

# the node serving a slot (from CLUSTER SLOTS)
sub cluster_master_of {
    my ($c, $slot) = @_;
    for my $r (@{ cluster_slots($c) }) {
        next unless $slot >= $r->[0] && $slot <= $r->[1];
        my ($node) = grep { $_->{port} == $r->[2][1] } @{ $c->{nodes} };
        return $node;
    }
    return undef;
}

# every live node: cluster_state:ok, all slots assigned, and CLUSTER SLOTS
# naming only live masters
sub cluster_wait_ok {
    my ($c, $timeout) = @_;
    my %live = map { $_->{port} => 1 } _alive($c);
    return wait_for(sub {
        for my $node (_alive($c)) {
            my $r = eval { rcmd($node, 'CLUSTER', 'INFO') } // '';
            return 0 if ref $r || $r !~ /cluster_state:ok/
                        || $r !~ /cluster_slots_assigned:16384/;
            my $slots = eval { cluster_slots($c, $node) };
            return 0 unless ref $slots eq 'ARRAY';
            return 0 if grep { !$live{ $_->[2][1] } } @$slots;
        }
        return 1;
    }, $timeout // 20);
}

# SIGKILL a master; wait until its replica serves its slots everywhere;
# -> (seconds, the promoted node) or () on timeout
sub cluster_failover {
    my ($c, $master, %o) = @_;
    my ($replica) = grep { $_->{flags} =~ /slave/ && $_->{master}
                           eq $master->{id} } cluster_nodes($c);
    die "the master has no replica" unless $replica;
    cluster_wait_synced($c, 20) or die "the replicas did not sync";
    my $t0 = time;
    stop_node($master, 'KILL');
    cluster_wait_ok($c, $o{timeout} // 30) or return ();
    my ($new) = grep { $_->{port} == $replica->{port} } @{ $c->{nodes} };
    return (time - $t0, $new);
}

# redis-cli --cluster reshard: N slots from one master to another
sub cluster_reshard {
    my ($c, $from, $to, $n) = @_;
    my ($out, $rc) = redis_cli($to, '--cluster', 'reshard',
                               "127.0.0.1:$to->{port}",
                               '--cluster-from', $from->{id},
                               '--cluster-to', $to->{id},
                               '--cluster-slots', $n, '--cluster-yes');
    die "reshard failed ($rc):\n$out" if $rc;
    return $out;
}

# Moving one slot by hand, so that ASK can be seen between the steps:
# after migration_begin, the source answers ASK for the slot's keys it no
# longer holds; migration_move_keys moves them (MIGRATE); migration_end
# gives the slot to the target everywhere (then MOVED).
sub migration_begin {
    my ($c, $slot, $from, $to) = @_;
    my $r = rcmd($to, 'CLUSTER', 'SETSLOT', $slot, 'IMPORTING', $from->{id});
    die "IMPORTING: $r->{error}" if ref $r;
    $r = rcmd($from, 'CLUSTER', 'SETSLOT', $slot, 'MIGRATING', $to->{id});
    die "MIGRATING: $r->{error}" if ref $r;
}

sub migration_move_keys {
    my ($c, $slot, $from, $to) = @_;
    my $moved = 0;
    while (1) {
        my $keys = rcmd($from, 'CLUSTER', 'GETKEYSINSLOT', $slot, 100);
        last unless ref $keys eq 'ARRAY' && @$keys;
        my @auth = defined $c->{password} ? ('AUTH', $c->{password}) : ();
        my $r = rcmd($from, 'MIGRATE', '127.0.0.1', $to->{port}, '', 0,
                     5000, @auth, 'KEYS', @$keys);
        die "MIGRATE: $r->{error}" if ref $r eq 'HASH';
        $moved += @$keys;
    }
    return $moved;
}

sub migration_end {
    my ($c, $slot, $from, $to) = @_;
    # the target first, then the source, then the other masters
    for my $node ($to, $from, grep { $_ != $to && $_ != $from }
                                   _alive($c))
    {
        my $r = rcmd($node, 'CLUSTER', 'SETSLOT', $slot, 'NODE', $to->{id});
        # a replica refuses: it learns from its master
        die "SETSLOT NODE on $node->{port}: $r->{error}"
            if ref $r eq 'HASH' && ($node == $to || $node == $from);
    }
}

1;
