#!/usr/bin/perl
#
# Train here, serve there: a model trained by tools/vpt-train on a
# simulated decision log, loaded by the real nginx with our module, gives
# the same choice and the same expected value for the same context as the
# trainer's side computes (tools/vpt-score, the ranker's own code on the
# same catalog and model file).  Contexts: the demo personas, a context
# with only first-party "features", and contexts drawn from the simulated
# log; every one has a local_hour, so neither side depends on the clock.
# Pages: confirmation, confirmation with vpt_long_term_weight 0.5, cart.
#
# Then numbers: a table with numeric columns (tools/vpt-csv2log), a model
# with the bins vpt-train learned for them and a value per accept; nginx
# scores contexts whose numbers sit on, just below and just above the
# bins' edges, far outside them, negative, like vpt-score; that model also
# has the boosted trees vpt-train grows on the shopper's side, so their
# walk in nginx is checked against the reference too.  And nginx -t
# refuses a model whose bins, values or trees are wrong, naming file and
# field.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP;
use List::Util qw(max);
use Test::More;
use VPT::Test;

my $root = repo_root();
chdir $root or die "$root: $!";

system("make -s tools module") == 0 or BAIL_OUT('make tools module failed');

my $dir = tmpdir();
my $json = JSON::PP->new->canonical;
my $catalog = "$root/conf.d/catalog.json";

sub slurp {
    my ($path) = @_;
    open my $f, '<', $path or die "$path: $!";
    local $/;
    my $s = <$f>;
    return $s // '';
}


# --- a decision log and a model trained on it ------------------------------

my $log = "$dir/decisions.jsonl";
my $model = "$dir/model.json";

is(system("tools/vpt-simulate --catalog $catalog --rows 4000 --seed 21"
          . " > $log 2> $dir/simulate.err"), 0, 'vpt-simulate: 4000 rows')
    or BAIL_OUT('vpt-simulate: ' . slurp("$dir/simulate.err"));

my $train = `tools/vpt-train --catalog $catalog --model-out $model --json $log 2> $dir/train.err`;
is($?, 0, 'vpt-train writes a model') or BAIL_OUT('vpt-train: ' . slurp("$dir/train.err"));
my $tr = decode_json($train);
cmp_ok($tr->{train_rows}, '>', 3000, "trained on $tr->{train_rows} rows");
cmp_ok($tr->{features}, '>', 20, "the model has $tr->{features} features");
note(sprintf 'held-out log-loss %.4f, AUC %.4f', $tr->{logloss}, $tr->{auc});


# --- the contexts ----------------------------------------------------------

# tools/vpt-demo's seed(), each with a local_hour
my @contexts = (
    [ 'gift-buyer', { user => { id => 'u-gift', loyalty_member => JSON::PP::false, orders => 1 },
                      device => 'desktop', referrer => 'search', country => 'US', intent => 'gift',
                      local_hour => 15,
                      cart => [ { sku => 'TOY-1', category => 'toys', price => 29.99, qty => 1 } ],
                      order => { id => 'A-1001', total => 29.99, currency => 'USD' },
                      viewed => [ { sku => 'DR-7', category => 'dresses' } ] } ],
    [ 'loyal-mobile', { user => { id => 'u-loyal', loyalty_member => JSON::PP::true, orders => 14,
                                  lifetime_value => 1240.0 },
                        device => 'mobile', referrer => 'email', country => 'US', local_hour => 20,
                        cart => [ { sku => 'PZ-5', category => 'puzzles', price => 18.0, qty => 1 } ],
                        order => { id => 'A-1002', total => 18.0, currency => 'USD' },
                        history => { categories => [ 'toys', 'puzzles' ], skus => [ 'TOY-9' ] } } ],
    [ 'first-desktop', { user => { id => 'u-new', loyalty_member => JSON::PP::false, orders => 0 },
                         device => 'desktop', referrer => 'ads', country => 'DE', local_hour => 9,
                         cart => [ { sku => 'BK-3', category => 'books', price => 12.5, qty => 2 } ],
                         order => { id => 'A-1003', total => 25.0, currency => 'EUR' } } ],
    # only the shop's own first-party features (a number is bucketed)
    [ 'features-only', { features => { segment => 'premium', age_band => '25-34', visits => 3 },
                         local_hour => 7 } ],
);

# a few shoppers of the simulated log, hour pinned where it had none
{
    open my $f, '<', $log or die "$log: $!";
    my $n = 0;
    while (my $line = <$f>) {
        next unless ++$n % 400 == 0;
        my $row = decode_json($line);
        my $ctx = $row->{context};
        $ctx->{local_hour} //= ($n / 400) % 24;
        push @contexts, [ "sim-$n", $ctx ];
    }
    close $f;
}

# Redis gets the shop's context; vpt-score also what nginx fills in from
# the request where the shop is silent: the test's browser (desktop), no
# Referer (direct), today's weekday in the server's zone
my $weekday = (qw(sun mon tue wed thu fri sat))[(localtime)[6]];

for my $c (@contexts) {
    $c->[2] = $json->encode($c->[1]);
    my %seen = (device => 'desktop', referrer => 'direct',
                weekday => $weekday, %{ $c->[1] });
    write_file("$dir/ctx-$c->[0].json", $json->encode(\%seen));
}


# --- nginx with the trained model, Redis with the contexts ------------------

my $port = free_port();
mkdir "$dir/www";
write_file("$dir/www/page.html",
           "<html><head><title>Thanks</title></head>"
           . "<body><h1>Thank you for your order</h1></body></html>\n");

my $rd = start_redis();

# name => [uri prefix, page, long-term weight]
my %loc = (
    confirmation => [ '/thanks/', 'confirmation', 1 ],
    ltw          => [ '/ltw/', 'confirmation', 0.5 ],
    cart         => [ '/cart/', 'cart', 1 ],
);

my $ng = start_nginx(ports => [$port], http => <<"HTTP");
    vpt_catalog $catalog;
    vpt_model $model;
    vpt_redis 127.0.0.1:$rd->{port};

    server {
        listen 127.0.0.1:$port;
        root $dir/www;

        location /thanks/ {
            alias $dir/www/;
            vpt on;
            vpt_page confirmation;
            vpt_redis_timeout 100ms;
        }

        location /ltw/ {
            alias $dir/www/;
            vpt on;
            vpt_page confirmation;
            vpt_redis_timeout 100ms;
            vpt_long_term_weight 0.5;
        }

        location /cart/ {
            alias $dir/www/;
            vpt on;
            vpt_page cart;
            vpt_redis_timeout 100ms;
        }
    }
HTTP


# --- the trainer's side ----------------------------------------------------

sub score {
    my ($name, $page, $ltw, $with_model) = @_;
    my $m = $with_model ? "--model $model" : '';
    my $out = `tools/vpt-score --catalog $catalog $m --page $page --long-term-weight $ltw --hour 12 --json $dir/ctx-$name.json 2> $dir/score.err`;
    $? == 0 or die "vpt-score $name: " . slurp("$dir/score.err");
    return decode_json($out);
}

sub close_enough {
    my ($x, $y, $tol) = @_;
    return abs($x - $y) <= $tol;
}


# --- compare ---------------------------------------------------------------

my ($maxdiff, $compared, $model_matters, $checked, $choice_differs)
    = (0, 0, 0, 0, 0);

for my $c (@contexts) {
    my ($name, $ctx, $text) = @$c;

    for my $ln (sort keys %loc) {
        my ($prefix, $page, $ltw) = @{ $loc{$ln} };
        my $sc = score($name, $page, $ltw, 1);
        my $pr = score($name, $page, $ltw, 0);

        # sampled shoppers may have nothing eligible on a page: skip those
        next if $name =~ /^sim-/ && !defined $sc->{chosen};
        $checked++;

        # one session per (context, location): no impressions, no caps
        my $sid = "$name-$ln";
        redis_cmd($rd, 'SET', "vpt:ctx:$sid", $text);

        my $r = http_get($port, "${prefix}page.html", sid => $sid);
        my $e = last_logged($ng);
        my $what = "$name on $ln";

        is($e->{uri}, "${prefix}page.html", "$what: logged");
        is($e->{status}, 'injected', "$what: injected");
        is($e->{offer}, $sc->{chosen} // '',
           "$what: nginx shows what vpt-score chooses ("
           . ($sc->{chosen} // 'nothing') . ')');
        like($r->{body}, qr/data-vpt-offer="\Q$sc->{chosen}\E"/,
             "$what: its markup is in the page") if defined $sc->{chosen};

        my $diff = abs($e->{value} - $sc->{value});
        $maxdiff = $diff if $diff > $maxdiff;
        $compared++;
        ok($diff <= 5e-7 + 1e-9 * max(1, abs($sc->{value})),
           sprintf('%s: $vpt_value %s, vpt-score %.17g (difference %.3g)',
                   $what, $e->{value}, $sc->{value}, $diff));

        is(sprintf('%.6f', $e->{value}), sprintf('%.6f', $sc->{value}),
           "$what: \$vpt_value is vpt-score's value to six decimals");

        # what nginx chose among is what vpt-score found eligible
        my @cand = sort split /,/, $e->{candidates};
        my @elig = sort map { $_->{offer} } @{ $sc->{offers} };
        is("@cand", "@elig", "$what: the same candidates (@elig)");

        # the ranker's fast path against the model's reference sum
        for my $o (@{ $sc->{offers} }) {
            ok(close_enough($o->{logit}, $o->{logit_ref},
                            1e-9 * max(1, abs($o->{logit_ref}))),
               "$what: $o->{offer}: ranker logit $o->{logit} = "
               . "reference $o->{logit_ref}");
        }

        # does the model change anything against the catalog priors?
        $choice_differs++ if ($sc->{chosen} // '') ne ($pr->{chosen} // '');
        my %prior_ev = map { $_->{offer} => $_->{ev} } @{ $pr->{offers} };
        if (($sc->{chosen} // '') ne ($pr->{chosen} // '')
            || grep { abs($_->{ev} - $prior_ev{ $_->{offer} }) > 1e-6 }
                    @{ $sc->{offers} })
        {
            $model_matters++;
        }
        note(sprintf '%-24s model: %-15s %.6f   priors: %-15s %.6f',
             $what, $sc->{chosen} // '-', $sc->{value},
             $pr->{chosen} // '-', $pr->{value});
    }
}

cmp_ok($checked, '>=', 4 * 3, "$checked decisions compared");
cmp_ok($model_matters, '>', 0,
       "the model changes the choice or the EV against the priors "
       . "($model_matters of $checked)");
note("the model and the priors choose differently in $choice_differs of "
     . "$checked decisions");

unlike(error_log($ng), qr/\[(?:alert|crit|emerg)\]/,
       'no alert in the error log');

diag(sprintf 'max |$vpt_value - vpt-score value| over %d decisions: %.6g',
     $compared, $maxdiff);


# --- numbers: bins learned at training, binned identically by nginx --------

{
    # a known truth: accepts rise with age above 50 and with income,
    # and depend on the plan
    my $csv = "$dir/numbers.csv";
    open my $f, '>', $csv or die "$csv: $!";
    print $f "age,income,plan,visits,accepted\n";
    srand(21);
    for my $i (1 .. 6000) {
        my $age = 18 + int(rand(62));
        my $income = int(exp(9 + 2 * rand()));
        my $plan = (qw(basic plus pro))[int(rand(3))];
        my $visits = int(rand(20));
        my $z = -3 + 2 * ($age > 50) + 1.2 * ($income > 40000)
                + ($plan eq 'pro' ? 1 : 0) - 0.05 * $visits;
        my $acc = rand() < 1 / (1 + exp(-$z)) ? 'yes' : 'no';
        print $f "$age,$income,$plan,$visits,$acc\n";
    }
    close $f;

    my $ncat = "$dir/numbers-catalog.json";
    my $nlog = "$dir/numbers.jsonl";
    my $nmodel = "$dir/numbers-model.json";
    is(system("tools/vpt-csv2log --label accepted --positive yes"
              . " --offer plan-upgrade --catalog-out $ncat $csv > $nlog"
              . " 2> $dir/csv2log.err"), 0, 'vpt-csv2log: a table becomes a log')
        or diag(slurp("$dir/csv2log.err"));

    my $out = `tools/vpt-train --catalog $ncat --model-out $nmodel --json $nlog 2> $dir/train2.err`;
    is($?, 0, 'vpt-train on the table') or diag(slurp("$dir/train2.err"));
    my $nt = decode_json($out);
    cmp_ok($nt->{auc}, '>', 0.7, "held-out AUC $nt->{auc} from the numbers");
    cmp_ok($nt->{calibration}{ece}, '<', 0.05,
           "calibrated on the held-out part: ECE $nt->{calibration}{ece}");
    is(scalar @{ $nt->{calibration}{deciles} }, 10, 'ten deciles reported');

    my $m = decode_json(slurp($nmodel));
    my @edges = @{ $m->{bins}{'f:age'} // [] };
    cmp_ok(scalar @edges, '>=', 2, 'the model has bins of several'
           . ' resolutions for f:age');
    ok($m->{bins}{'f:income'}, '... and for f:income');
    ok(!$m->{bins}{'f:plan'}, 'a string column has none');
    ok(grep({ /^f:age=#\d+:\d+$/ } keys %{ $m->{features} }),
       'features are named by resolution and bin (f:age=#l:b)');

    # thresholds on age and income: shopper-side trees pay on the
    # held-out part, so the defaults keep them, stacked with the FM
    cmp_ok($nt->{trees}, '>', 0, "the defaults keep $nt->{trees} trees");
    is(scalar @{ $m->{trees} // [] }, $nt->{trees}, '... written into the model');
    is($nt->{calibration}{method}, 'stack', '... stacked with the FM');
    cmp_ok($nt->{calibration}{c}, '>', 0, "... with weight $nt->{calibration}{c}");
    ok(grep({ ($_->{number} // '') =~ /^f:(age|income)$/ } map { @$_ } @{ $m->{trees} }),
       '... and they split on the numbers');

    # numbers on, around and beyond the edges of every resolution
    my @ages = (-5, 0, 17.5, 1e9);
    for my $level (@edges) {
        for my $e (@$level[0, int($#$level / 2), -1]) {
            push @ages, $e, $e - 1e-9, $e + 1e-9;
        }
    }
    my @ctx;
    my $i = 0;
    for my $age (@ages) {
        my $c = { local_hour => 12,
                  features => { age => $age + 0, income => 1000 * (++$i),
                                plan => 'pro', visits => $i % 7 } };
        push @ctx, [ "num-$i", $c, $json->encode($c) ];
        write_file("$dir/ctx-num-$i.json", $ctx[-1][2]);
    }

    my $port2 = free_port();
    my $ng2 = start_nginx(ports => [$port2], http => <<"HTTP");
    vpt_catalog $ncat;
    vpt_model $nmodel;
    vpt_redis 127.0.0.1:$rd->{port};

    server {
        listen 127.0.0.1:$port2;
        root $dir/www;

        location /thanks/ {
            alias $dir/www/;
            vpt on;
            vpt_page confirmation;
            vpt_redis_timeout 100ms;
        }
    }
HTTP

    my ($same, $distinct) = (0, {});
    for my $c (@ctx) {
        my ($name, undef, $text) = @$c;
        redis_cmd($rd, 'SET', "vpt:ctx:$name", $text);
        http_get($port2, '/thanks/page.html', sid => $name);
        my $e = last_logged($ng2);
        my $sc = decode_json(`tools/vpt-score --catalog $ncat --model $nmodel --page confirmation --hour 12 --json $dir/ctx-$name.json`);
        my $o = $sc->{offers}[0];
        $same++ if $e->{status} eq 'injected'
                   && sprintf('%.6f', $e->{value}) eq sprintf('%.6f', $sc->{value})
                   && abs($o->{logit} - $o->{logit_ref})
                      <= 1e-9 * max(1, abs($o->{logit_ref}));
        $distinct->{ $e->{value} } = 1;
    }
    is($same, scalar @ctx, "nginx's \$vpt_value is vpt-score's, and the"
       . " ranker's logit the reference, for all " . scalar(@ctx)
       . ' numbers on and around the edges');
    cmp_ok(scalar keys %$distinct, '>', 5, 'and the numbers change it');

    # bad bins and values fail nginx -t, naming file and field
    my %bad = (
        'edges that do not increase' => [
            sub { $_[0]{bins}{'f:age'}[0] = [30, 30] },
            qr/\Q$dir\E\/bad-model\.json.*"bins": "f:age": resolution 0: element 1/ ],
        'a bin name with "="' => [
            sub { $_[0]{bins}{'f:age=1'} = [[1]] },
            qr/"bins": "f:age=1": expected a feature's name without '='/ ],
        'a negative value per accept' => [
            sub { $_[0]{values}{'plan-upgrade'} = -1 },
            qr/"values": "plan-upgrade": expected a number >= 0/ ],
        'bins that are not arrays' => [
            sub { $_[0]{bins}{'f:age'} = 'x' },
            qr/"bins": "f:age": expected an array/ ],
        'a tree that loops' => [
            sub { $_[0]{trees}[0] = [ { number => 'f:age', below => 30, yes => 0, no => 1 },
                                      { leaf => 0 } ] },
            qr/\Q$dir\E\/bad-model\.json.*"trees"\[0\]\[0\]: "yes" and "no": expected indexes of later nodes/ ],
        'a leaf that is not a number' => [
            sub { $_[-1]{trees}[-1] = [ { leaf => 'x' } ] },
            qr/"trees"\[\d+\]\[0\]: a leaf is \{"leaf": NUMBER\}/ ],
        'a number node without a threshold' => [
            sub { $_[0]{trees}[0] = [ { number => 'f:age', yes => 1, no => 2 },
                                      { leaf => 0 }, { leaf => 1 } ] },
            qr/"trees"\[0\]\[0\]: expected "leaf", "feature" with "yes" and "no"/ ],
    );
    for my $what (sort keys %bad) {
        my $bm = decode_json(slurp($nmodel));
        $bad{$what}[0]->($bm);
        write_file("$dir/bad-model.json", encode_json($bm));
        my ($rc, $o) = nginx_test(http => "vpt_catalog $ncat;\n"
            . "vpt_model $dir/bad-model.json;\n"
            . "server { listen 127.0.0.1:1; location / { vpt on; } }");
        isnt($rc, 0, "a model with $what fails nginx -t");
        like($o, $bad{$what}[1], "... and says where") or diag $o;
    }
}

done_testing();
