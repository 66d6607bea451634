package VPT::Load;

# A bounded load on loopback for the failover tests: a few client
# processes, each sending GETs one after the other (a new connection each)
# for shoppers of its own, until a stop file appears or a count is
# reached, and writing one line per response: its time, its status,
# whether the page came whole, and whether it carried the shopper's own
# offer.  The test then reads the lines and makes the table.

use strict;
use warnings;
use Exporter 'import';
use IO::Socket::INET;
use Time::HiRes qw(time);
use VPT::Test ();

our @EXPORT = qw(load_start load_stop load_results load_summary);

# load_start(port => P, path => '/thanks.html', dir => D, clients => 2,
#            shoppers => [sids], max => N, whole => sub { ($body, $sid) -> 0|1 },
#            own => sub { ($sid, $body) -> 0|1 }, ports => [P, ...])
sub load_start {
    my (%o) = @_;
    my @pids;
    my $n = $o{clients} // 2;
    my $stop = "$o{dir}/load.stop";
    unlink $stop;
    my @ports = @{ $o{ports} // [ $o{port} ] };

    for my $c (0 .. $n - 1) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            open my $out, '>', "$o{dir}/load.$c" or die $!;
            my @sids = grep { $_ % $n == $c } 0 .. $#{ $o{shoppers} };
            my $i = 0;
            while ($i < ($o{max} // 5000) && !-e $stop) {
                my $sid = $o{shoppers}[ $sids[$i % @sids] ];
                my $port = $ports[$i % @ports];
                $i++;
                my $t = time;
                my ($status, $body) = _get($port, $o{path}, $sid);
                printf $out "%.4f\t%s\t%d\t%d\t%s\t%d\n", $t, $status,
                       $o{whole}->($body, $sid) ? 1 : 0,
                       $o{own}->($sid, $body) ? 1 : 0, $sid, $port;
            }
            close $out;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }

    return { pids => \@pids, dir => $o{dir}, n => $n, stop => $stop };
}

sub _get {
    my ($port, $path, $sid) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Timeout => 5)
        or return (0, '');
    print $s "GET $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
           . "User-Agent: $VPT::Test::BROWSER\r\n"
           . "Cookie: vpt_sid=$sid\r\n\r\n";
    local $/;
    my $raw = <$s> // '';
    close $s;
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    my ($status) = ($head // '') =~ m{^HTTP/1\.\d (\d+)};
    $body //= '';
    if (($head // '') =~ /^Transfer-Encoding: chunked/mi) {
        my $b = '';
        while ($body =~ s/^([0-9a-fA-F]+)\r\n//) {
            my $len = hex $1;
            last if $len == 0;
            $b .= substr($body, 0, $len, '');
            $body =~ s/^\r\n//;
        }
        $body = $b;
    }
    return ($status // 0, $body);
}

sub load_stop {
    my ($l) = @_;
    open my $f, '>', $l->{stop} or die $!;
    close $f;
    waitpid $_, 0 for @{ $l->{pids} };
}

# -> [ [time, status, whole, own, sid, port], ... ] sorted by time
sub load_results {
    my ($l) = @_;
    my @r;
    for my $c (0 .. $l->{n} - 1) {
        open my $f, '<', "$l->{dir}/load.$c" or next;
        push @r, map { chomp; [ split /\t/ ] } <$f>;
    }
    return [ sort { $a->[0] <=> $b->[0] } @r ];
}

# the table's row: requests, non-2xx, broken pages, offers, and the
# fail-open window: the longest run of time without an own offer
# after $from (the fault)
sub load_summary {
    my ($r, $from) = @_;
    my %s = (requests => scalar @$r, non2xx => 0, broken => 0, offers => 0,
             window => 0, first_after => undef, last_before => undef);
    for my $x (@$r) {
        $s{non2xx}++ unless $x->[1] =~ /^2/;
        $s{broken}++ unless $x->[2];
        $s{offers}++ if $x->[3];
        if ($x->[3]) {
            $s{last_before} = $x->[0] if $x->[0] < $from;
            $s{first_after} //= $x->[0] if $x->[0] >= $from;
        }
    }
    if (defined $s{first_after}) {
        $s{window} = $s{first_after} - ($s{last_before} // $from);
    }
    my $t0 = @$r ? $r->[0][0] : 0;
    my $t1 = @$r ? $r->[-1][0] : 0;
    $s{seconds} = $t1 - $t0;
    $s{rate} = $s{seconds} > 0 ? $s{requests} / $s{seconds} : 0;
    return \%s;
}

1;
