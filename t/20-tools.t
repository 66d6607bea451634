#!/usr/bin/perl
#
# The offline tools on generated data (no nginx): vpt-report, vpt-join,
# vpt-simulate, vpt-train and vpt-eval, run as an operator runs them.
# Everything is seeded, so a run is reproducible; intervals are 95% ones
# checked against the truth the generators know.

use strict;
use warnings;

use FindBin;
use File::Temp qw(tempdir);
use IO::Compress::Gzip qw(gzip $GzipError);
use JSON::PP;
use Test::More;

my $root = "$FindBin::Bin/..";
chdir $root or die "$root: $!";

system("make -s tools") == 0 or BAIL_OUT("make tools failed");

my $tmp = tempdir(CLEANUP => 1);
my $json = JSON::PP->new->canonical;
my $catalog = 't/data/tools-catalog.json';

# runs a command; returns (exit status, stdout, stderr); stdout goes to
# $stdout instead when given
sub run {
    my ($cmd, $stdin, $stdout) = @_;
    my $in = defined $stdin ? "< $stdin" : '< /dev/null';
    my $out = $stdout // "$tmp/out";
    unlink "$tmp/out";
    my $rc = system("$cmd $in > $out 2> $tmp/err") >> 8;
    return ($rc, -e "$tmp/out" ? slurp("$tmp/out") : '', slurp("$tmp/err"));
}

sub slurp {
    my ($path) = @_;
    open my $f, '<', $path or die "$path: $!";
    local $/;
    my $s = <$f>;
    return $s // '';
}

sub spit {
    my ($path, @lines) = @_;
    open my $f, '>', $path or die "$path: $!";
    print $f @lines;
    close $f;
}

sub within {
    my ($x, $ci, $name) = @_;
    ok(defined $ci && $ci->[0] <= $x && $x <= $ci->[1],
       sprintf('%s: %.4f in [%s]', $name, $x,
               $ci ? join(', ', map { sprintf '%.4f', $_ } @$ci) : 'none'));
}

# bad lines without their file's name, to compare reports of copies
sub nameless {
    my ($r) = @_;
    $r->{bad_lines}{first} = [ map { s/^[^:]*://r }
                               @{ $r->{bad_lines}{first} } ];
}

sub arm {
    my ($report, $exp, $arm) = @_;
    for my $e (@{ $report->{experiments} }) {
        next unless $e->{experiment} eq $exp;
        return ($e, grep { $_->{arm} eq $arm } @{ $e->{arms} });
    }
    return;
}


# --- vpt-report -----------------------------------------------------------

my $alog = "$tmp/access.log";
system("perl t/data/gen-access-log.pl --decisions 20000 --bad 3 --seed 5"
       . " > $alog 2> $tmp/gen.err") == 0 or BAIL_OUT('gen-access-log');

my $gen = slurp("$tmp/gen.err");
my ($true_vpt) = $gen =~ /^vpt: (\S+)/m;
my @bad_at = $gen =~ /^bad: (\d+)/mg;
is(scalar @bad_at, 3, 'the generator wrote 3 bad lines');

{
    my ($rc, $out, $err) = run("tools/vpt-report --json $alog");
    is($rc, 0, 'vpt-report exits 0 on a log with bad lines');
    my $r = $json->decode($out);

    my ($exp, $t) = arm($r, 'checkout', 'treatment');
    my (undef, $c) = arm($r, 'checkout', 'control');
    ok($t && $c, 'experiment "checkout" has a treatment and a control arm');

    within($true_vpt, $t->{vpt_ci95},
           'treatment VPT interval holds the true VPT');
    within($true_vpt, $exp->{lift}{ci95}, 'lift interval holds the true lift');
    ok($exp->{lift}{ci95}[0] > 0, 'the lift is significant');
    ok(!defined $exp->{lift}{relative},
       'relative lift is undefined while control earns nothing');

    my %p = ('loyalty' => 0.10, 'phone-case' => 0.05, 'gift-card' => 0.02);
    for my $o (@{ $t->{offers} }) {
        within($p{ $o->{offer} }, $o->{accept_rate_ci95},
               "accept rate of $o->{offer} holds its truth");
    }

    # every 50th page is "skipped": not a decision
    is($t->{decisions} + $c->{decisions}, 20000 - 400,
       'decisions leave out skipped pages');
    is($t->{impressions}, $t->{statuses}{injected},
       'one impression per injected page');

    is($r->{bad_lines}{count}, 3, 'bad lines are counted');
    is_deeply([ map { /:(\d+):/ ? $1 : -1 } @{ $r->{bad_lines}{first} } ],
              \@bad_at, 'bad lines are reported with their line numbers');

    my $gz = "$tmp/access.log.gz";
    gzip($alog => $gz) or die $GzipError;
    my ($rc2, $out2) = run("tools/vpt-report --json $gz");
    my $r2 = $json->decode($out2);
    nameless($_) for $r, $r2;
    is_deeply($r2, $r, 'a gzip log gives the same report');

    my ($rc3, $out3) = run("tools/vpt-report --json -", $gz);
    my $r3 = $json->decode($out3);
    nameless($r3);
    is_deeply($r3, $r, 'stdin ("-") gives the same report');

    my ($rc4, undef, $err4) = run("tools/vpt-report $tmp/no-such.log");
    is($rc4, 1, 'an unreadable log exits 1');
    like($err4, qr/no-such\.log/, '... naming the file');

    my ($rc5) = run("tools/vpt-report --frobnicate $alog");
    is($rc5, 2, 'a bad option exits 2');
}


# --- vpt-join -------------------------------------------------------------

sub access_line {
    my (%f) = @_;
    my %line = (time => '2026-11-25T10:15:02+00:00', decision => '',
                status => '', page => 'confirmation', offer => '',
                value => '', propensity => '', variant => '',
                experiment => '', candidates => '', context => '',
                redis_time => '0.001', uri => '/done', http_status => '200',
                %f);
    $line{context} = $json->encode($line{context}) if ref $line{context};
    return $json->encode(\%line) . "\n";
}

{
    my $ctx = { device => 'mobile', features => { segment => "new \"q\"" } };

    spit("$tmp/a1.log",
        access_line(decision => 'd1', status => 'injected', offer => 'loyalty',
                    value => '4.5', propensity => '0.9',
                    candidates => 'loyalty,wrapping', context => $ctx,
                    experiment => 'x', variant => 'treatment'),
        access_line(decision => 'd2', status => 'suppressed', propensity => '1',
                    candidates => 'wrapping', context => $ctx,
                    time => '2026-11-25T23:59:59+00:00'),
        "not json at all\n",
        access_line(decision => 'd3', status => 'injected', offer => 'wrapping',
                    value => '0.4', propensity => '0.05',
                    candidates => 'loyalty,wrapping',
                    context => { local_hour => 5, intent => 'gift' }),
        access_line(decision => 'd4', status => 'control', offer => 'loyalty',
                    value => '4.5', propensity => '1', variant => 'control',
                    experiment => 'x', context => $ctx));

    # the accepts come in the next file, as after a log rotation
    spit("$tmp/a2.log",
        access_line(decision => 'd1', status => 'accept', offer => 'loyalty',
                    value => '5', experiment => 'x', variant => 'treatment'),
        access_line(decision => 'd9', status => 'accept', offer => 'loyalty',
                    value => '5'));

    my ($rc, $out, $err) = run("tools/vpt-join $tmp/a1.log $tmp/a2.log");
    is($rc, 0, 'vpt-join exits 0');
    my @rows = map { $json->decode($_) } split /\n/, $out;
    is_deeply([ map { $_->{decision} } @rows ], [qw(d1 d2 d3)],
              'one row per injected or suppressed decision, control left out');

    my ($d1, $d2, $d3) = @rows;
    ok($d1->{accepted} && $d1->{value} == 5,
       'an accept in a later file is joined to its decision');
    is($d1->{context}{local_hour}, 10,
       'a context without local_hour gets the hour of the time');
    is($d1->{context}{features}{segment}, "new \"q\"",
       'the context is the shop\'s JSON, parsed back');
    is_deeply($d1->{candidates}, [qw(loyalty wrapping)], 'candidates');
    is($d1->{propensity}, 0.9, 'propensity of the shown offer');
    is($d1->{experiment}, 'x', 'experiment');
    ok(!defined $d2->{shown} && $d2->{propensity} == 1 && !$d2->{accepted},
       'a suppressed decision shows null with the propensity of nothing');
    is($d2->{context}{local_hour}, 23, '... and the hour of its own time');
    is($d3->{context}{local_hour}, 5, 'a context\'s own local_hour is kept');
    ok(!$d3->{accepted} && $d3->{value} == 0, 'no accept: false and 0');

    like($err, qr/2 accepts, 1 matching no injected decision/,
         'an accept without its decision is reported');
    like($err, qr/a1\.log:3: not a JSON object/,
         'a bad line is reported with file:line');

    # a local_hour of the wrong type is replaced; an empty context gets one
    spit("$tmp/a3.log",
        access_line(decision => 'd5', status => 'suppressed', propensity => '1',
                    context => { local_hour => '7', device => 'tablet' }),
        access_line(decision => 'd6', status => 'suppressed', propensity => '1',
                    context => '{} '));
    my (undef, $out4) = run("tools/vpt-join $tmp/a3.log");
    my ($d5, $d6) = map { $json->decode($_) } split /\n/, $out4;
    is_deeply($d5->{context}, { local_hour => 10, device => 'tablet' },
              'a local_hour that is not an integer is replaced');
    is_deeply($d6->{context}, { local_hour => 10 },
              'an empty context gets the local hour');

    my ($rc2, $out2) = run("tools/vpt-join -", "$tmp/a1.log");
    my @rows2 = map { $json->decode($_) } split /\n/, $out2;
    is(scalar @rows2, 3, 'stdin is joined too (read twice via a spool)');

    # the generated log: every accept finds its decision
    my ($rc3, $out3, $err3) = run("tools/vpt-join $alog");
    my @all = split /\n/, $out3;
    my $accepted = grep { /"accepted": true/ } @all;
    my $accepts = () = slurp($alog) =~ /"status":"accept"/g;
    is($accepted, $accepts, 'every accept of the generated log is joined');
    like($err3, qr/0 matching no injected decision/, '... none left over');
}


# --- the access log as $vpt_log_json writes it ------------------------------

# the context once, as an object; numbers bare; null where the old form
# had "" (conf.d/vpt-log.conf)
sub access_line_json {
    my (%f) = @_;
    my %line = (time => '2026-11-25T10:15:02+00:00', decision => '',
                status => '', page => 'confirmation', offer => '',
                value => undef, propensity => undef, variant => '',
                experiment => '', candidates => '', context => undef,
                redis_time => 0.001, uri => '/done', http_status => 200,
                %f);
    for my $k (qw(value propensity)) {
        $line{$k} = 0 + $line{$k} if defined $line{$k} && $line{$k} ne '';
        $line{$k} = undef if defined $line{$k} && $line{$k} eq '';
    }
    $line{context} = $json->decode($line{context})
        if defined $line{context} && !ref $line{context};
    return $json->canonical->encode(\%line) . "\n";
}

{
    my $ctx = { device => 'mobile', features => { segment => "new \"q\"" } };
    my @lines = (
        [ decision => 'd1', status => 'injected', offer => 'loyalty',
          value => '4.5', propensity => '0.9',
          candidates => 'loyalty,wrapping', context => $ctx,
          experiment => 'x', variant => 'treatment' ],
        [ decision => 'd2', status => 'suppressed', propensity => '1',
          candidates => 'wrapping', context => $ctx,
          time => '2026-11-25T23:59:59+00:00' ],
        [ decision => 'd3', status => 'no_session', redis_time => undef ],
        [ decision => 'd1', status => 'accept', offer => 'loyalty',
          value => '5', experiment => 'x', variant => 'treatment' ],
    );
    spit("$tmp/old.log", map { access_line(@$_, redis_time =>
                                   defined({@$_}->{redis_time}) ? '0.001' : '')
                             } @lines);
    spit("$tmp/new.log", map { access_line_json(@$_) } @lines);
    like(slurp("$tmp/new.log"), qr/"context":\{"device"/,
         'the new form has the context as an object');
    like(slurp("$tmp/new.log"), qr/"context":null/, '... or null');

    my ($rc_o, $old) = run("tools/vpt-join $tmp/old.log");
    my ($rc_n, $new, $err_n) = run("tools/vpt-join $tmp/new.log");
    is($rc_n, 0, 'vpt-join reads the new form');
    unlike($err_n, qr/bad lines/, '... without a bad line') or diag($err_n);
    is($new, $old, '... and writes what it wrote from the old form');
    my ($d1) = map { $json->decode($_) } grep { /"d1"/ } split /\n/, $new;
    is($d1->{context}{features}{segment}, "new \"q\"",
       '... the context parsed from the object');

    my (undef, $rep_o) = run("tools/vpt-report --json $tmp/old.log");
    my ($rc_r, $rep_n) = run("tools/vpt-report --json $tmp/new.log");
    is($rc_r, 0, 'vpt-report reads the new form');
    my ($ro, $rn) = map { $json->decode($_) } $rep_o, $rep_n;
    nameless($_) for $ro, $rn;
    is_deeply($rn, $ro, '... and reports what it did from the old form');

    # a decision log whose context is still the quoted text: vpt-eval
    # reads it as the object
    my @dl = map { $json->decode($_) } split /\n/, $new;
    spit("$tmp/dl-obj.jsonl", map { $json->canonical->encode($_) . "\n" } @dl);
    spit("$tmp/dl-str.jsonl", map {
        my %r = %$_;
        $r{context} = $json->canonical->encode($r{context});
        $json->canonical->encode(\%r) . "\n";
    } @dl);
    my ($rc_e1, $e1) = run("tools/vpt-eval --catalog $catalog --json "
                           . "$tmp/dl-obj.jsonl");
    my ($rc_e2, $e2, $err_e2) = run("tools/vpt-eval --catalog $catalog --json "
                                    . "$tmp/dl-str.jsonl");
    is($rc_e2, 0, 'vpt-eval reads a context given as a string');
    my ($j1, $j2) = map { $json->decode($_) } $e1, $e2;
    ok($j2->{rows} == @dl && $j2->{rows} == $j1->{rows},
       "... every row ($j2->{rows}), as with objects") or diag($err_e2);
    is_deeply($j2, $j1, '... to the same estimate');
}


# --- vpt-simulate, vpt-train ----------------------------------------------

my $sim = "$tmp/sim.jsonl";
my $truth = "$tmp/truth.json";
my $model = "$tmp/model.json";

my ($srun, $sout, $serr) = run("tools/vpt-simulate --catalog $catalog"
    . " --rows 40000 --explore 0.5 --seed 3 --truth-out $truth", undef, $sim);
is($srun, 0, 'vpt-simulate exits 0');
my $s = $json->decode($serr);
is($s->{propensity_mismatches}, 0,
   'vpt_decide\'s propensities are the policy vpt-eval assumes');
ok(-s $truth, 'the truth model is written');

my ($trc, $tout) = run("tools/vpt-train --catalog $catalog --model-out $model"
                       . " --holdout 0.1 --json $sim");
is($trc, 0, 'vpt-train exits 0');
my $t = $json->decode($tout);
ok($t->{rows} > 3000 && $t->{train_rows} > 30000, 'held-out and training rows');
ok(-s $model, 'the model is written');
cmp_ok($t->{epochs}, '>', 3, "early stopping lets it train $t->{epochs} epochs");
is(scalar @{ $t->{search} }, 6, 'k and L2 searched on the held-out part');
is($t->{calibration}{method}, $t->{trees} ? 'stack' : 'platt',
   "a calibrated model ($t->{trees} shopper-side trees stacked with the FM)");
cmp_ok($t->{calibration}{ece}, '<', 0.02,
       "held-out ECE $t->{calibration}{ece}");
ok($t->{logloss} <= $t->{logloss_uncalibrated} + 1e-9,
   'calibration does not worsen the held-out log-loss');
is(scalar @{ $t->{calibration}{deciles} }, 10, 'ten deciles of p');

{
    my (undef, $out) = run("tools/vpt-eval --catalog $catalog --model $truth"
                           . " --holdout 0.1 --json $sim");
    my $tr = $json->decode($out);
    is($tr->{rows}, $t->{rows},
       'vpt-eval --holdout picks the same held-out rows');
    ok($t->{auc} > $tr->{model}{auc} - 0.02,
       sprintf('trained AUC %.4f is near the truth\'s %.4f on the same rows',
               $t->{auc}, $tr->{model}{auc}));

    my (undef, $out2) = run("tools/vpt-eval --catalog $catalog --model $model"
                            . " --holdout 0.1 --compare $truth --json $sim");
    my $m = $json->decode($out2);
    ok(abs($m->{model}{auc} - $t->{auc}) < 1e-3,
       'the model file scores like the trainer said');
    ok($m->{compare}{top_agreement} > 0.8,
       sprintf('trained model picks the truth\'s best offer on %.1f%% of'
               . ' contexts', 100 * $m->{compare}{top_agreement}));
    ok($m->{compare}{spearman} > 0.85,
       sprintf('... and ranks offers like it (Spearman %.3f)',
               $m->{compare}{spearman}));

    my (undef, $out3) = run("tools/vpt-eval --catalog $catalog --holdout 0.1"
                            . " --compare $truth --json $sim");
    my $p = $json->decode($out3);
    ok($p->{compare}{top_agreement} < $m->{compare}{top_agreement} - 0.2,
       sprintf('catalog priors agree far less (%.1f%%)',
               100 * $p->{compare}{top_agreement}));
}


# --- value-aware: one offer brings more per accept than the catalog says ---

{
    my $vcat = "$tmp/value-catalog.json";
    spit($vcat, $json->encode({ version => 'value-test', offers => [
        map { { id => $_, kind => 'cross_sell', markup => "<p>$_</p>",
                value => 1, prior => 0.1, pages => ['confirmation'],
                features => { category => "cat-$_" } } } qw(a b c) ] }));

    # uniform logging (explore 1); c's accepts are worth 5, not 1
    my $vlog = "$tmp/value.jsonl";
    my ($rc) = run("tools/vpt-simulate --catalog $vcat --rows 30000"
                   . " --explore 1 --seed 5", undef, "$tmp/value-raw.jsonl");
    is($rc, 0, 'vpt-simulate: a uniformly logged 3-offer log');
    my (%wv, %w);
    spit($vlog, map {
        my $d = $json->decode($_);
        $d->{value} = 5 if $d->{accepted} && ($d->{shown} // '') eq 'c';

        # SNIPS of "always o when eligible" for each offer o: the row
        # counts when it shows what that policy shows (o, or nothing)
        for my $o (qw(a b c)) {
            my $pick = (grep { $_ eq $o } @{ $d->{candidates} }) ? $o : '';
            next unless ($d->{shown} // '') eq $pick;
            $w{$o} += 1 / $d->{propensity};
            $wv{$o} += $d->{value} / $d->{propensity};
        }
        $json->encode($d) . "\n";
    } split /^/, slurp("$tmp/value-raw.jsonl"));

    my ($best) = sort { $wv{$b} / $w{$b} <=> $wv{$a} / $w{$a} } keys %w;
    my $best_value = $wv{$best} / $w{$best};

    my $vmodel = "$tmp/value-model.json";
    my ($trc2, $tout2) = run("tools/vpt-train --catalog $vcat"
                             . " --model-out $vmodel --json $vlog");
    is($trc2, 0, 'vpt-train on the value log');
    my $vm = $json->decode(slurp($vmodel));
    ok(abs($vm->{values}{c} - 5) < 0.1 && abs($vm->{values}{a} - 1) < 1e-9,
       "the model learns c's value per accept ($vm->{values}{c}) and keeps"
       . " a's ($vm->{values}{a})");

    my (undef, $eout) = run("tools/vpt-eval --catalog $vcat --model $vmodel"
                            . " --long-term-weight 0 --json $vlog");
    my $ev = $json->decode($eout);
    ok($ev->{snips}{value} >= $best_value,
       sprintf('the learned policy\'s SNIPS value %.4f >= the best single'
               . ' offer\'s (%s, %.4f)', $ev->{snips}{value}, $best,
               $best_value));

    # the same model ranking by the catalog's values is worth less
    delete $vm->{values};
    spit("$tmp/value-blind.json", $json->encode($vm));
    my (undef, $bout) = run("tools/vpt-eval --catalog $vcat --model"
                            . " $tmp/value-blind.json --long-term-weight 0"
                            . " --json $vlog");
    my $bv = $json->decode($bout);
    ok($bv->{snips}{value} < $ev->{snips}{value},
       sprintf('ranking by the catalog values instead: %.4f',
               $bv->{snips}{value}));
}


# --- realized value: what accepts turned into, from vpt_conversion ---------

{
    # the value log above, where b's accepts are logged at 1 but three in
    # four turned into a purchase of 8 (vpt-join's "realized_value"), the
    # fourth into nothing; a's carry none, c's are null
    my ($n, $k, @lines) = (0, 0);
    for (split /^/, slurp("$tmp/value.jsonl")) {
        my $d = $json->decode($_);
        my $s = $d->{shown} // '';
        if ($d->{accepted} && $s eq 'b') {
            $n++;
            $d->{realized_value} = 8 if $k++ % 4 != 3;
        }
        $d->{realized_value} = undef if $d->{accepted} && $s eq 'c';
        push @lines, $json->encode($d) . "\n";
    }
    push @lines, '{"decision":"bad-realized","context":{},"shown":"b",'
                 . '"propensity":0.5,"accepted":true,"value":1,'
                 . '"realized_value":"8"}' . "\n";
    spit("$tmp/realized.jsonl", @lines);

    my $rmodel = "$tmp/realized-model.json";
    my ($rc, $out) = run("tools/vpt-train --catalog $tmp/value-catalog.json"
                         . " --model-out $rmodel --json --holdout 0"
                         . " $tmp/realized.jsonl");
    is($rc, 0, 'vpt-train on a log with realized values');
    my $r = $json->decode($out);
    is($r->{realized_values}, 1, 'one offer is valued by what its accepts'
       . ' turned into');
    is($r->{bad_lines}, 1, 'a realized_value that is not a number is a bad'
       . ' line');
    my $m = $json->decode(slurp($rmodel));
    my $want = (8 * ($k - int(($k + 1) / 4)) + 10 * 1) / ($n + 10);
    ok(abs($m->{values}{b} - $want) < 1e-6,
       sprintf('b: %.4f per accept, the realized mean (%.4f), not the'
               . ' logged 1', $m->{values}{b}, $want));
    ok(abs($m->{values}{c} - 5) < 0.1 && abs($m->{values}{a} - 1) < 1e-9,
       'c (null realized values) and a (none) keep their logged values');
}


# --- vpt-eval ---------------------------------------------------------------

{
    # the logging policy evaluated as a candidate is what was observed
    my $log = "$tmp/prior.jsonl";
    my (undef, undef, $e) = run("tools/vpt-simulate --catalog $catalog"
        . " --rows 30000 --explore 0.2 --seed 4 --long-term-weight 0"
        . " --truth-out $tmp/truth4.json", undef, $log);
    my $ls = $json->decode($e);

    my ($rc, $out) = run("tools/vpt-eval --catalog $catalog --explore 0.2"
                         . " --long-term-weight 0 --json $log");
    is($rc, 0, 'vpt-eval exits 0');
    my $r = $json->decode($out);
    is($r->{rows}, 30000, 'every row is evaluated');
    within($r->{logging}{accept_rate}, $r->{ips}{accept_rate_ci95},
           'IPS of the logging policy holds the observed accept rate');
    within($r->{logging}{accept_rate}, $r->{dr}{accept_rate_ci95},
           'DR of the logging policy holds the observed accept rate');
    within($r->{logging}{value}, $r->{snips}{ci95},
           'SNIPS of the logging policy holds the observed value');
    ok(abs($r->{ess} - 30000) < 1, 'its weights are all 1 (ESS = rows)');

    # the truth model as candidate: better, and by what the truth says
    my (undef, $out3) = run("tools/vpt-eval --catalog $catalog"
        . " --model $tmp/truth4.json --long-term-weight 0 --json $log");
    my $c = $json->decode($out3);
    within($ls->{expected}{truth_greedy}{value}, $c->{dr}{ci95},
           'DR of the truth policy holds its true value');
    within($ls->{expected}{truth_greedy}{value}, $c->{ips}{ci95},
           'IPS of the truth policy holds its true value');
    ok($c->{dr}{ci95}[0] > $r->{dr}{ci95}[1],
       sprintf('the truth policy (%.3f) is estimated better than the'
               . ' logging one (%.3f)', $c->{dr}{value}, $r->{dr}{value}));
    ok($c->{ess} < $r->{ess}, 'a different policy has a smaller ESS');

    # propensities it cannot use: refused, naming file and line
    my @lines = split /^/, slurp($log);
    my %broken = (
        zero    => sub { $_[0] =~ s/"propensity": [^,]+/"propensity": 0/r },
        over    => sub { $_[0] =~ s/"propensity": [^,]+/"propensity": 1.5/r },
        missing => sub { $_[0] =~ s/"propensity": [^,]+, //r },
        null    => sub { $_[0] =~ s/"propensity": [^,]+/"propensity": null/r },
    );
    for my $k (sort keys %broken) {
        my $f = "$tmp/prop-$k.jsonl";
        spit($f, @lines[0 .. 1], $broken{$k}->($lines[2]), @lines[3 .. 9]);
        my ($rc2, undef, $err) = run("tools/vpt-eval --catalog $catalog $f");
        is($rc2, 2, "propensity $k: refused with exit 2");
        like($err, qr/\Q$f\E:3: /, "propensity $k: the message names file:3");
    }

    # malformed lines: counted with their numbers, skipped
    my $f = "$tmp/malformed.jsonl";
    spit($f, @lines[0 .. 3], "{\"decision\": \"x\", oops\n", @lines[4 .. 5],
         $lines[6] =~ s/"shown": [^,]+, //r, @lines[7 .. 19]);
    my ($rc3, $out4) = run("tools/vpt-eval --catalog $catalog --json $f");
    my $mr = $json->decode($out4);
    is($rc3, 0, 'malformed lines are not fatal');
    is($mr->{bad_lines}{count}, 2, 'malformed lines are counted');
    like($mr->{bad_lines}{first}[0], qr/:5: not a JSON object/, '... line 5');
    like($mr->{bad_lines}{first}[1], qr/:8: no "shown"/, '... line 8');
    is($mr->{rows}, 19, '... and skipped');

    # a context of first-party features only
    $f = "$tmp/features-only.jsonl";
    spit($f, map {
        my $d = $json->decode($_);
        $d->{context} = { features => $d->{context}{features} };
        $json->encode($d) . "\n";
    } @lines[0 .. 99]);
    my ($rc4, $out5) = run("tools/vpt-eval --catalog $catalog --model"
                           . " $tmp/truth4.json --json $f");
    my $fr = $json->decode($out5);
    ok($rc4 == 0 && $fr->{rows} == 100 && $fr->{bad_lines}{count} == 0,
       'a log whose contexts carry only "features" is evaluated');

    my ($rc5, undef, $err5) = run("tools/vpt-eval --catalog $catalog"
                                  . " --model $tmp/no-model.json $log");
    is($rc5, 2, 'a missing model exits 2');
}


# --- --version ------------------------------------------------------------

{
    my ($version) = slurp('src/vpt_version.h')
        =~ /^#define VPT_VERSION\s+"([^"]+)"/m;
    like($version // '', qr/^\d+\.\d+\.\d+$/,
         'src/vpt_version.h defines the release');

    my @tools = map { s{^tools/}{}r } grep { !/\.c$/ } glob('tools/vpt-*');
    my %runner = map { $_ => 1 } @tools;
    my @compiled = map { m{^tools/(vpt-[\w-]+)\.c$} } glob('tools/vpt-*.c');
    is_deeply([ grep { !$runner{$_} } @compiled ], [],
              'every compiled tool has its runner in tools/: '
              . join(' ', @tools));
    is(scalar @tools, @compiled + 2,
       'and two scripts besides (vpt-csv2log, vpt-demo)');
    for my $t (@tools) {
        my ($rc, $out, $err) = run("tools/$t --version");
        is($rc, 0, "$t --version exits 0");
        is($out, "$t $version\n", "$t --version prints its name and release");
    }

    # the package's version is the same release (when debian/ is there)
    SKIP: {
        skip 'no debian/changelog', 1 unless -e 'debian/changelog';
        my ($deb) = slurp('debian/changelog') =~ /^\S+ \(([^)-]+)/;
        is($deb, $version, 'debian/changelog names the same release');
    }
}

done_testing();
