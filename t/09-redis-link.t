# The Redis link's health: a peer that keeps the TCP connection open but
# stops answering (a paused container, a stuck proxy) is taken as dead,
# closed and made again with the backoff; pages never wait past
# vpt_redis_timeout meanwhile; the status page tells the truth.  The peer
# is a small proxy in front of a real redis-server that, on a signal,
# swallows what it gets and sends nothing back (bytes are lost: the link
# must not be taken up again out of step either).

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(time sleep);
use VPT::Test;

my $root = repo_root();
my $dir = tmpdir();
my $port = free_port();

mkdir "$dir/www";
write_file("$dir/www/thanks.html",
           "<html><body><h1>Thanks</h1></body></html>\n");

my $rd = start_redis();

# The proxy: forwards both ways until SIGUSR1, then reads and drops the
# client's bytes and forwards nothing (the connection stays open); SIGUSR2
# forwards again.  Each accepted connection adds a line to $dir/accepts.
my $pport = free_port();
my $proxy_pid = fork // die "fork: $!";
if ($proxy_pid == 0) {
    my $mute = 0;
    $SIG{PIPE} = 'IGNORE';
    $SIG{USR1} = sub { $mute = 1 };
    $SIG{USR2} = sub { $mute = 0 };
    my $srv = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1',
                                    LocalPort => $pport, ReuseAddr => 1)
        or POSIX::_exit(1);
    my $sel = IO::Select->new($srv);
    my %peer;
    while (1) {
        for my $s ($sel->can_read(0.05)) {
            if ($s == $srv) {
                my $c = $srv->accept or next;
                my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                              PeerPort => $rd->{port})
                    or do { close $c; next };
                $peer{$c} = $u;
                $peer{$u} = $c;
                $sel->add($c, $u);
                open my $fh, '>>', "$dir/accepts";
                print $fh "accept\n";
                close $fh;
                next;
            }
            my $n = sysread $s, my $buf, 65536;
            my $other = $peer{$s};
            if (!$n) {
                $sel->remove($s, $other);
                delete @peer{$s, $other};
                close $s;
                close $other;
                next;
            }
            syswrite $other, $buf unless $mute;
        }
    }
}

sub accepts { scalar(() = read_file("$dir/accepts") =~ /accept/g) }

my $ng = start_nginx(ports => [$port], http => <<"HTTP");
    vpt_catalog $root/t/data/catalog-redis.json;
    vpt_redis 127.0.0.1:$pport;

    server {
        listen 127.0.0.1:$port;
        root $dir/www;

        location / {
            vpt on;
            vpt_redis_timeout 50ms;
        }

        location = /vpt/status { vpt_status_page; }
    }
HTTP

sub page {
    my $t = time;
    my $r = http_get($port, '/thanks.html', sid => 'alice');
    $r->{took} = time - $t;
    $r->{log} = last_logged($ng);
    return $r;
}

sub metric {
    my ($name) = @_;
    my $s = http_get($port, '/vpt/status')->{body};
    return $s =~ /^\Q$name\E\{worker="0"\} (\d+)$/m ? $1 : undef;
}

redis_cmd($rd, 'SET', 'vpt:ctx:alice',
          encode_json({ user => { id => 'alice' } }));

ok(wait_for(sub { page()->{log}{status} eq 'injected' }, 5),
   'through the proxy: offers');
is(metric('vpt_redis_connected'), 1, 'connected');
is(accepts(), 1, 'one connection to the proxy');

# keepalive: the kernel runs a keepalive timer on nginx's socket to the proxy
SKIP: {
    my $ss = `ss -tno state established '( dport = :$pport )' 2>/dev/null`;
    skip 'no ss (iproute2) to read the socket\'s timers', 1 if $? != 0;
    like($ss, qr/timer:\(keepalive/,
         'TCP keepalive is on for the Redis socket');
}

# the proxy goes mute, the connection stays open
kill 'USR1', $proxy_pid;

my (@status, $slow, $broken, $timed);
my $until = time + 4;
while (time < $until) {
    my $r = page();
    push @status, $r->{log}{status};
    $broken++ unless $r->{status} == 200
                     && $r->{body} =~ m{<h1>Thanks</h1></body></html>\n$};
    # $vpt_redis_time: the lookup never runs past the 50 ms timeout (its
    # timer may fire late on a busy machine: a wide margin); null when no
    # lookup ran (the link dropped: redis_error)
    if (defined $r->{log}{redis_time}) {
        $timed++;
        $slow++ if $r->{log}{redis_time} > 0.5;
    }
    sleep 0.02;
}

ok(!$broken, 'mute Redis: every page complete (' . scalar(@status) . ')');
ok($timed && !$slow, 'mute Redis: no lookup past the timeout ('
                    . ($timed // 0) . ' timed)');
ok(!grep({ $_ !~ /^(redis_timeout|redis_error)$/ } @status),
   'mute Redis: redis_timeout or redis_error, never an offer');
ok(scalar(grep { $_ eq 'redis_timeout' } @status) >= 3,
   'mute Redis: the first lookups ran out of time');
ok(accepts() >= 2, 'the mute link was dropped and made again ('
                   . accepts() . ' connections)');
like(error_log($ng), qr/no reply to the last commands, the link is taken as dead/,
     'the drop is logged with its reason');
like(error_log($ng), qr/no answer to PING in time/,
     'a new link that does not answer is dropped too');
is(metric('vpt_redis_connected'), 0,
   'the status page: not connected while the link is dead');
ok(metric('vpt_redis_timeouts_total') >= 3, 'the status page: timeouts');
ok(defined metric('vpt_redis_commands_in_flight'),
   'the status page: commands in flight');

# the proxy forwards again: a new link answers, offers come back
kill 'USR2', $proxy_pid;

ok(wait_for(sub { page()->{log}{status} eq 'injected' }, 15),
   'Redis answers again: offers are back without a reload');
is(metric('vpt_redis_connected'), 1, 'the status page: connected again');
ok(metric('vpt_redis_reconnects_total') >= 1,
   'the status page: reconnects (' . metric('vpt_redis_reconnects_total')
   . ')');
is(metric('vpt_redis_commands_in_flight'), 0, 'nothing left in flight');

kill 'KILL', $proxy_pid;
waitpid $proxy_pid, 0;

done_testing();
