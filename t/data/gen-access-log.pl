#!/usr/bin/perl
#
# Writes an access log in the vpt log_format (conf.d/vpt-log.conf) with a
# known truth, for t/20-tools.t and for measuring vpt-report:
#
#   gen-access-log.pl [--decisions N] [--seed S] [--bad N]
#                     [--experiment NAME] [--control-share F]
#
# Each decision is a confirmation page.  A share of them (--control-share)
# is the control arm (no offer); the treatment arm shows one offer of the
# table below, accepted with its probability, and the accept beacon line
# follows.  Every 50th page is "skipped" (not a decision).  --bad N writes
# N malformed lines at known places (their line numbers go to stderr as
# "bad: N").  The true treatment VPT is printed to stderr as "vpt: X".

use strict;
use warnings;
use Getopt::Long;

my ($n, $seed, $bad, $exp, $control) = (10000, 1, 0, 'checkout', 0.2);
GetOptions('decisions=i' => \$n, 'seed=i' => \$seed, 'bad=i' => \$bad,
           'experiment=s' => \$exp, 'control-share=f' => \$control)
    or die "bad options\n";

# offer id => [share of impressions, acceptance probability, value]
my @offers = (['loyalty', 0.5, 0.10, 40], ['phone-case', 0.3, 0.05, 15],
              ['gift-card', 0.2, 0.02, 100]);

my $vpt = 0;
$vpt += $_->[1] * $_->[2] * $_->[3] for @offers;
print STDERR "vpt: $vpt\n";

srand($seed);

my $line = 0;
my %bad_at;
if ($bad) {
    my $every = int(($n * 1.1) / ($bad + 1)) || 1;
    $bad_at{$_ * $every} = 1 for 1 .. $bad;
}

sub out {
    my (%f) = @_;
    $line++;
    if ($bad_at{$line}) {
        my $k = $line % 3;
        print $k == 0 ? "this is not json\n"
            : $k == 1 ? "{\"time\":\"x\",\"status\":\"injected\"}\n"
            : "{\"decision\":\"broken\n";
        print STDERR "bad: $line\n";
        $line++;
    }
    my $ctx = $f{context} // '';
    $ctx =~ s/(["\\])/\\$1/g;
    printf '{"time":"%s","decision":"%s","status":"%s","page":"%s",'
        . '"offer":"%s","value":"%s","propensity":"%s","variant":"%s",'
        . '"experiment":"%s","candidates":"%s","context":"%s",'
        . '"redis_time":"%s","uri":"%s","http_status":"%s"}' . "\n",
        $f{time}, $f{decision}, $f{status}, $f{page} // 'confirmation',
        $f{offer} // '', $f{value} // '', $f{propensity} // '',
        $f{variant} // '', $f{experiment} // '', $f{candidates} // '',
        $ctx, $f{redis_time} // '0.001', $f{uri} // '/order/done',
        $f{http_status} // '200';
}

my @devices = qw(mobile desktop tablet);
my $cands = join ',', map { $_->[0] } @offers;

for my $i (1 .. $n) {
    my $t = sprintf '2026-11-25T%02d:%02d:%02d+00:00', int($i / 3600) % 24,
        int($i / 60) % 60, $i % 60;
    my $d = sprintf '%08x%08x', $seed, $i;
    my $ctx = sprintf '{"device":"%s","user":{"orders":%d},'
        . '"features":{"segment":"s%d"},"note":"a \\"quoted\\" word"}',
        $devices[$i % 3], $i % 7, $i % 5;

    if ($i % 50 == 0) {
        out(time => $t, decision => $d, status => 'skipped',
            uri => '/img/logo.png', variant => '', experiment => '');
        next;
    }

    if (rand() < $control) {
        out(time => $t, decision => $d, status => 'control', offer => 'loyalty',
            value => '4.0000', propensity => '1', variant => 'control',
            experiment => $exp, candidates => $cands, context => $ctx);
        next;
    }

    my $u = rand();
    my $o = $offers[-1];
    for my $x (@offers) {
        if ($u < $x->[1]) { $o = $x; last }
        $u -= $x->[1];
    }

    out(time => $t, decision => $d, status => 'injected', offer => $o->[0],
        value => sprintf('%.4f', $o->[2] * $o->[3]), propensity => '0.9',
        variant => 'treatment', experiment => $exp, candidates => $cands,
        context => $ctx);

    if (rand() < $o->[2]) {
        out(time => $t, decision => $d, status => 'accept', offer => $o->[0],
            value => $o->[3], variant => 'treatment', experiment => $exp,
            uri => '/vpt/accept', http_status => '204', redis_time => '');
    }
}
