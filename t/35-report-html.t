# vpt-report --html as a person reads it, in a real browser (headless
# Chromium, as t/32-demo.t): one self-contained page (nothing fetched, no
# script), a chart for the lift with its interval, accept rate and VPT per
# arm and per offer, and every figure the one the JSON report gives.
# A log line with markup in its names shows that markup as text.  The
# screenshot goes to build/screenshots/report.png (docs/report.png is one).

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use VPT::Test;
use VPT::Chromium;

plan skip_all => 'chromium is not installed (tools/install-deps --test)'
    unless VPT::Chromium::binary();

my $root = repo_root();
my $dir = tmpdir();
my $shots = "$root/build/screenshots";
mkdir $shots;

system("make -s -C $root tools >/dev/null") == 0
    or BAIL_OUT('make tools failed');

my $log = "$dir/access.log";
system("perl $root/t/data/gen-access-log.pl --decisions 4000 --seed 7"
       . " --experiment checkout --control-share 0.25 > $log 2>/dev/null") == 0
    or BAIL_OUT('gen-access-log.pl failed');

# the screenshot, of the log as the module writes it
my $report = "$root/build/tools/vpt-report";
system("cd $dir && $report --html clean.html access.log >/dev/null") == 0
    or BAIL_OUT('vpt-report --html failed');
my $b = VPT::Chromium->new or BAIL_OUT('chromium does not start');
my $tab = $b->open_page("file://$dir/clean.html", 1100, 880);
$b->screenshot($tab, "$shots/report.png");
ok(-s "$shots/report.png", 'a screenshot of the report');

# names are the log's, not ours: markup in them must stay text
open my $fh, '>>', $log or die $!;
print $fh encode_json({ time => '2026-11-25T10:00:00+00:00',
    decision => '00000000000000ff', status => 'injected',
    page => 'confirmation', offer => 'odd<img src=x onerror=alert(1)>',
    value => 1, propensity => 1, variant => 'treatment',
    experiment => '<script>alert(1)</script>', candidates => '',
    context => undef, redis_time => 0.001, uri => '/', http_status => 200,
    request_time => 0.001, bytes => 1 }), "\n";
close $fh;

my $json = `$report --json $log`;
is($? >> 8, 0, 'vpt-report --json reads the log');
my $r = decode_json($json);

my $html = "$dir/report.html";
my $text = `$report --html $html $log`;
is($? >> 8, 0, 'vpt-report --html writes the page');
like($text, qr/experiment checkout/, '... and still prints the text report');
my $page = read_file($html);

# self-contained: nothing to fetch, nothing to run
unlike($page, qr/\burl\(|https?:\/\//i, 'no URL in the page');
like($page, qr/<style>.*<\/style>/s, 'the styles are inline');
like($page, qr/<svg /, 'the charts are inline SVG');

my $stdout = `$report --html - $log`;
like($stdout, qr/^<!DOCTYPE html>/, '--html - writes the page to stdout');

# --- in the browser ---------------------------------------------------------

$tab = $b->open_page("file://$html", 1100, 1500);

is($b->eval($tab, 'document.querySelectorAll("script, img").length'), 0,
   'markup from the log stays text: no script or img element');
is($b->eval($tab, 'document.querySelectorAll("[src], [href], link, iframe, '
                  . 'object, embed").length'), 0,
   'no element that loads anything');
is($b->eval($tab, 'performance.getEntriesByType("resource").length'), 0,
   'the browser fetched nothing but the page');
my $h2 = $b->eval($tab, 'Array.from(document.querySelectorAll("h2"))'
                        . '.map(h => h.textContent).join("|")');
like($h2, qr/<script>alert\(1\)<\/script>/, '... shown as the text it is');

# every bar of a chart: [metric, arm, offer, value, width in px]
my $bars = $b->eval($tab, <<'JS');
Array.from(document.querySelectorAll('section.experiment')).map(s => [
    s.dataset.experiment,
    Array.from(s.querySelectorAll('g.bar')).map(g => {
        const r = g.querySelector('rect');
        return [g.dataset.metric, g.dataset.arm, g.dataset.offer,
                g.dataset.value, r ? r.getBoundingClientRect().width : -1];
    })])
JS
my %sec = map { $_->[0] => $_->[1] } @$bars;
ok($sec{checkout}, 'the experiment has its section');

sub near {
    my ($got, $want, $name) = @_;
    if (!defined $want) {
        is($got, '', "$name: no figure, as in the JSON");
        return;
    }
    ok(defined $got && $got ne ''
       && abs($got - $want) <= 1e-6 * (1 + abs($want)),
       "$name: $got in the page, $want in the JSON");
}

sub bar {
    my ($exp, $metric, $arm, $offer) = @_;
    my ($g) = grep { $_->[0] eq $metric && $_->[1] eq $arm
                     && $_->[2] eq ($offer // '') } @{ $sec{$exp} // [] };
    return $g;
}

my ($e) = grep { $_->{experiment} eq 'checkout' } @{ $r->{experiments} };
my $lift = $b->eval($tab, 'document.querySelector('
    . '"section[data-experiment=checkout] b[data-metric=lift]")'
    . '.dataset.value');
near($lift, $e->{lift}{vpt_diff}, 'the lift');
my $lc = bar('checkout', 'lift_chart', '');
ok($lc && $lc->[4] > 20, 'the lift is drawn as a bar');
my $whiskers = $b->eval($tab, 'document.querySelectorAll('
    . '"section[data-experiment=checkout] svg[data-metric=lift_chart] path")'
    . '.length');
is($whiskers, 1, '... with its interval');

for my $a (@{ $e->{arms} }) {
    my $arm = $a->{arm};
    near(bar('checkout', 'accept_rate', $arm)->[3], $a->{accept_rate},
         "$arm accept rate");
    near(bar('checkout', 'vpt', $arm)->[3], $a->{vpt}, "$arm VPT");
    for my $o (@{ $a->{offers} }) {
        my $g = bar('checkout', 'offer_accept_rate', $arm, $o->{offer});
        near($g && $g->[3], $o->{accept_rate},
             "$arm $o->{offer} accept rate");
        my $v = bar('checkout', 'offer_value', $arm, $o->{offer});
        near($v && $v->[3], $o->{accepted_value} / $o->{impressions},
             "$arm $o->{offer} value per impression");
    }
}

my $t = bar('checkout', 'vpt', 'treatment');
my $c = bar('checkout', 'vpt', 'control');
ok($t->[4] > 50 && $t->[4] > $c->[4],
   "treatment's VPT bar ($t->[4] px) is visibly longer than control's "
   . "($c->[4] px)");

# the page fits the screen's width: nothing to scroll sideways
ok($b->eval($tab, 'document.documentElement.scrollWidth <= 1100'),
   'the page fits 1100 px');

done_testing();
