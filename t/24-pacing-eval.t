#!/usr/bin/perl
#
# Off-policy estimates of pacing policies on simulated data (no nginx).
# vpt-simulate runs a shop whose advertisers are paced as nginx paces
# them (even pacing's throttle on a simulated clock, each page's draw,
# budgets) and logs the ranker's propensities, summed over the draws.
# From that one log, vpt-eval --pass estimates other pacing policies (a
# throttle held at P); vpt-simulate --pass runs each of them for real on
# the same shoppers, and the truth's expected value per page must fall
# in the estimate's 95% interval.  Everything is seeded: a run is
# reproducible.

use strict;
use warnings;

use FindBin;
use File::Temp qw(tempdir);
use JSON::PP;
use Test::More;

my $root = "$FindBin::Bin/..";
chdir $root or die "$root: $!";

system("make -s tools") == 0 or BAIL_OUT("make tools failed");

my $tmp = tempdir(CLEANUP => 1);
my $json = JSON::PP->new->canonical;
my $catalog = 't/data/tools-advertisers-catalog.json';
my $rows = 60000;

# runs a command; returns (exit status, stdout, stderr)
sub run {
    my ($cmd, $stdout) = @_;
    my $out = $stdout // "$tmp/out";
    my $rc = system("$cmd < /dev/null > $out 2> $tmp/err") >> 8;
    return ($rc, slurp($out), slurp("$tmp/err"));
}

sub slurp {
    my ($path) = @_;
    open my $f, '<', $path or return '';
    local $/;
    return scalar(<$f>) // '';
}

sub within {
    my ($x, $ci, $name) = @_;
    ok(defined $ci && $ci->[0] <= $x && $x <= $ci->[1],
       sprintf('%s: %.4f in [%s]', $name, $x,
               $ci ? join(', ', map { sprintf '%.4f', $_ } @$ci) : 'none'));
}

my %adv = map { $_->{id} => $_ }
          @{ $json->decode(slurp($catalog))->{advertisers} };

# --- the logging policy: even pacing, exploration 0.3 ----------------------

my $log = "$tmp/paced.jsonl";
my ($rc, undef, $err) = run("tools/vpt-simulate --catalog $catalog"
                            . " --rows $rows --explore 0.3 --seed 5", $log);
is($rc, 0, 'vpt-simulate runs a shop with advertisers');
my $sum = $json->decode($err);

is($sum->{propensity_mismatches}, 0,
   'every logged propensity is the paced policy\'s probability of what'
   . ' was shown');

my %got = map { $_->{id} => $_ } @{ $sum->{advertisers} };
for my $id (qw(sunway cardco)) {
    my ($a, $g) = ($adv{$id}, $got{$id});
    ok($g->{spend_per_day} <= $a->{daily_budget} + $a->{price}
       && $g->{spend_per_day} >= 0.9 * $a->{daily_budget},
       sprintf('%s: even pacing spends %.0f a day of %.0f (at most one'
               . ' accept over)', $id, $g->{spend_per_day},
               $a->{daily_budget}));
    ok($g->{mean_pass} > 0.1 && $g->{mean_pass} < 0.9,
       sprintf('%s: its throttle is at work (mean pass %.3f)', $id,
               $g->{mean_pass}));
    ok($g->{accepts} > 0 && $g->{impressions} > $g->{accepts},
       "$id: impressions and accepts are reported");
}
is($got{fastbank}{mean_pass}, 1, 'asap without a budget is never throttled');
is($got{fastbank}{daily_budget}, undef, '... and has no budget to report');

# --- other pacing policies: estimated from the log, then run for real ------

my %est;
for my $p (qw(0.1 0.3 0.6 1)) {
    my $pass = "--pass sunway=$p --pass cardco=$p";
    my (undef, undef, $e) = run("tools/vpt-simulate --catalog $catalog"
        . " --rows $rows --explore 0.1 --seed 5 $pass", "$tmp/on-$p.jsonl");
    my $on = $json->decode($e);
    is($on->{propensity_mismatches}, 0, "pass $p: run on-policy");

    my ($rc2, $out) = run("tools/vpt-eval --catalog $catalog --explore 0.1"
                          . " $pass --json $log");
    is($rc2, 0, "pass $p: vpt-eval --pass exits 0");
    my $r = $json->decode($out);
    is($r->{rows}, $rows, "pass $p: every row is evaluated");

    my $truth = $on->{expected}{logging}{value};
    within($truth, $r->{snips}{ci95},
           "pass $p: SNIPS holds the policy's true value per page");
    within($truth, $r->{ips}{ci95},
           "pass $p: IPS holds the policy's true value per page");
    ok(abs($r->{dr}{value} - $truth) < 0.03,
       sprintf('pass %s: DR %.4f is within 0.03 of %.4f', $p,
               $r->{dr}{value}, $truth));
    $est{$p} = { truth => $truth, snips => $r->{snips} };
}

# the estimates tell the policies apart, in the truth's order
my ($lo, $hi) = sort { $est{$a}{truth} <=> $est{$b}{truth} } qw(0.1 1);
ok($est{$hi}{truth} - $est{$lo}{truth} > 0.2
   && $est{$hi}{snips}{ci95}[0] > $est{$lo}{snips}{ci95}[1],
   sprintf('pass %s is truly worth more than pass %s (%.3f, %.3f), and'
           . ' the estimates\' intervals say so apart (%.3f, %.3f)', $hi,
           $lo, $est{$hi}{truth}, $est{$lo}{truth},
           $est{$hi}{snips}{value}, $est{$lo}{snips}{value}));

# the same log read as if nothing were paced: the estimate of pass 1
# differs from the paced candidate's, so --pass is not a no-op
my (undef, $plain) = run("tools/vpt-eval --catalog $catalog --explore 0.1"
                         . " --json $log");
my $pr = $json->decode($plain);
ok(abs($pr->{snips}{value} - $est{1}{snips}{value}) < 1e-9,
   'pass 1 for every advertiser is the policy without --pass');

# --- bad --pass ------------------------------------------------------------

for my $bad ('nobody=0.5', 'sunway=1.5', 'sunway', '=0.3', 'travel=0.5') {
    my ($rc3, undef, $e3) = run("tools/vpt-eval --catalog $catalog"
                                . " --pass $bad $log");
    is($rc3, 2, "--pass $bad: refused with exit 2");
    like($e3, qr/--pass/, "--pass $bad: the message names the option");
}

my ($rc4) = run("tools/vpt-eval --catalog $catalog --pass sunway=0.5"
                . " --compare $catalog $log");
is($rc4, 2, '--pass does not go with --compare');

my ($rc5, undef, $e5) = run("tools/vpt-simulate --catalog"
                            . " t/data/tools-catalog.json --rows 10"
                            . " --pass sunway=0.5");
is($rc5, 2, 'vpt-simulate --pass needs a catalog with advertisers');
like($e5, qr/no advertisers/, '... and says so');

done_testing();
