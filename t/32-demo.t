# The demo as a person sees it, in a real browser (headless Chromium at
# 1280 x 800): each persona's confirmation page shows their own order (the
# one tools/vpt-demo writes into their context) and their offer right
# under it, inside the first screen, with no broken image, and another
# offer at the page's foot (a second placement); the cart too;
# accepting leads to a landing page that names the offer and the accept
# is counted; the operator page shows the counters and the decisions.
# Screenshots go to build/screenshots/ (docs/demo-gift-buyer.png is one).

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use VPT::Test;
use VPT::Chromium;

plan skip_all => 'chromium is not installed (tools/install-deps --test)'
    unless VPT::Chromium::binary();
# make test-asan runs t/ again with another module: this file would test
# tools/vpt-demo's build/ module instead, once more
plan skip_all => 'runs with make test, not with another VPT_MODULE'
    if $ENV{VPT_MODULE};

my $root = repo_root();
my $dir = tmpdir();
my $port = free_port();
my $rport = free_port();
my $shots = "$root/build/screenshots";
my %env = (VPT_DEMO_PORT => $port, VPT_DEMO_REDIS_PORT => $rport,
           VPT_DEMO_PREFIX => "$dir/demo",
           # the demo's 20 ms is for a quiet machine; CI's is not
           VPT_DEMO_REDIS_TIMEOUT => '500ms');
my $env = join ' ', map { "$_=$env{$_}" } sort keys %env;

system("make -s -C $root module >/dev/null") == 0
    or BAIL_OUT('make module failed');
mkdir $shots;

my $out = `$env $root/tools/vpt-demo start 2>&1`;
is($?, 0, 'tools/vpt-demo starts') or BAIL_OUT($out);
END { system("$env $root/tools/vpt-demo stop >/dev/null 2>&1") if $env }

my $base = "http://127.0.0.1:$port";
my $b = VPT::Chromium->new or BAIL_OUT('chromium does not start');

# what the page shows, measured by the browser
my $measure = <<'JS';
(() => {
    const r = e => e && e.getBoundingClientRect();
    const offer = document.querySelector('.vpt-offer');
    const summary = document.querySelector('.panel');
    const broken = [...document.images]
        .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src);
    return { width: innerWidth, height: innerHeight,
             page: document.documentElement.scrollHeight,
             offer: offer && offer.dataset.vptOffer,
             offers: document.querySelectorAll(
                 '.vpt-offer[data-vpt-placement="summary"]').length,
             foot: [...document.querySelectorAll(
                 '.vpt-offer[data-vpt-placement="foot"]')]
                 .map(e => e.dataset.vptOffer),
             top: offer && r(offer).top, bottom: offer && r(offer).bottom,
             summary_bottom: summary && r(summary).bottom,
             summary: summary ? summary.innerText : '',
             broken: broken };
})()
JS

sub context {
    my ($sid) = @_;
    my $v = `redis-cli -p $rport GET vpt:ctx:$sid`;
    return JSON::PP->new->utf8->decode($v);
}

# the start page's promise for each persona
my %expect = ('gift-buyer' => 'party-dress', 'loyal-mobile' => 'app-install',
              'first-desktop' => 'loyalty-join');

for my $sid (sort keys %expect) {
    my $ctx = context($sid);
    my $tab = $b->open_page("$base/confirmation.html?sid=$sid", 1280, 800);
    my $m = $b->eval($tab, $measure);
    $b->screenshot($tab, "$shots/$sid.png");

    is($m->{width}, 1280, "$sid: the page is 1280 px wide");
    is($m->{offers}, 1, "$sid: one offer after the summary");
    ok(@{ $m->{foot} } == 1 && $m->{foot}[0] ne ($m->{offer} // ''),
       "$sid: another offer at the foot, the second placement "
       . "(@{ $m->{foot} })");
    is($m->{offer}, $expect{$sid}, "$sid: the offer the start page promises");
    ok(defined $m->{bottom} && $m->{bottom} <= $m->{height},
       "$sid: the whole offer is inside the first screen "
       . "(bottom at $m->{bottom} of $m->{height} px)");
    ok(defined $m->{top} && $m->{top} >= $m->{summary_bottom},
       "$sid: ... under the order summary");
    like($m->{summary}, qr/\Q$ctx->{order}{id}\E/,
         "$sid: the page shows their order ($ctx->{order}{id})");
    for my $item (@{ $ctx->{cart} }) {
        like($m->{summary}, qr/\Q$item->{sku}\E/,
             "$sid: ... with $item->{sku} from their context");
    }
    is_deeply($m->{broken}, [], "$sid: every image loads");
    ok($m->{page} < 4000, "$sid: a page of a believable height "
                          . "($m->{page} px)");
}

# the cart: the offer after the cart's summary too
{
    my $tab = $b->open_page("$base/cart.html?sid=gift-buyer", 1280, 800);
    my $m = $b->eval($tab, $measure);
    $b->screenshot($tab, "$shots/cart-gift-buyer.png");
    is($m->{offer}, 'toy-batteries', 'cart: batteries for the toy');
    ok(defined $m->{bottom} && $m->{bottom} <= $m->{height}
       && $m->{top} >= $m->{summary_bottom},
       'cart: under the cart, inside the first screen');
    like($m->{summary}, qr/TOY-1/, 'cart: the shopper\'s cart');
}

# accepting: the landing page names the offer, the accept is counted
{
    my $tab = $b->open_page("$base/confirmation.html?sid=gift-buyer",
                            1280, 800);
    $b->eval($tab, 'document.querySelector(".vpt-accept").click(); 1');
    ok($b->wait_event('Page.loadEventFired', $tab, 15),
       'the accept link leads to a page');
    my $l = $b->eval($tab, '({ path: location.pathname, '
                           . 'h1: document.querySelector("h1").innerText, '
                           . 'img: document.querySelector(".landing-img")'
                           . '.naturalWidth })');
    is($l->{path}, '/welcome.html', '... the offer\'s url, from the catalog');
    is($l->{h1}, 'Party dresses, 20% off today', '... which names the offer');
    ok($l->{img} > 0, '... and shows it');
    $b->screenshot($tab, "$shots/accepted.png");

    my $st;
    wait_for(sub {
        $st = http_get($port, '/vpt/status')->{body};
        $st =~ /^vpt_accepts_total\{offer="party-dress"\} 1$/m;
    }, 5);
    like($st, qr/^vpt_accepts_total\{offer="party-dress"\} 1$/m,
         '... and the accept is counted');
}

# the operator page: counters and decisions, as a person reads them
{
    my $tab = $b->open_page("$base/operator.html", 1280, 800);
    my $o;
    wait_for(sub {
        $o = $b->eval($tab, '({ decisions: document.getElementById('
            . '"c-decisions").innerText, rows: [...document.querySelectorAll('
            . '"#decisions tr")].slice(1).map(r => r.innerText), offers: '
            . '[...document.querySelectorAll("#offers tr")].slice(1)'
            . '.map(r => r.innerText) })');
        @{ $o->{rows} } > 0;
    }, 10);
    $b->screenshot($tab, "$shots/operator.png");
    is($o->{decisions}, 5, 'operator page: the five page decisions');
    like($o->{rows}[0] // '', qr/accept\s+party-dress/,
         '... the latest decision first: the accept');
    is(scalar(grep { /injected/ } @{ $o->{rows} }), 5,
       '... and the five pages before it');
    ok((grep { /^party-dress\s+\d+\s+1\s/ } @{ $o->{offers} }),
       '... party-dress accepted once') or diag(explain $o->{offers});
}

# the start page
{
    my $tab = $b->open_page("$base/", 1280, 800);
    my $m = $b->eval($tab, '({ links: [...document.querySelectorAll('
        . '".persona a")].map(a => a.getAttribute("href")), broken: '
        . '[...document.images].filter(i => i.naturalWidth === 0).length })');
    $b->screenshot($tab, "$shots/start.png");
    is(scalar(grep { m{^/confirmation\.html\?sid=} } @{ $m->{links} }), 3,
       'the start page links each persona\'s confirmation page');
    is($m->{broken}, 0, '... and its images load');
}

done_testing();
