# Several placements on one page (vpt_placement): one decision, no offer
# twice, the best offers to the first placement; each anchor found in one
# streaming pass wherever it is on the page and however the body is cut;
# a missing anchor leaves the others, and its offers are no impressions;
# the markup, $vpt_offer, $vpt_placement and the decision log say which
# placement each offer went to; a reloaded order shows them again where
# they were; a bad vpt_placement fails nginx -t naming what is wrong.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(sleep);
use VPT::Test;

my $root = repo_root();
my $dir = tmpdir();
my $port = free_port();
my $catalog = "$root/t/data/catalog-placements.json";

my $head = "<!DOCTYPE html>\n<html><head><title>Order</title>"
         . "<script>var s = '<aside id=\"side\">';</script></head><body>\n";
my $main = "<main><div id=\"summary\">Dress, 89.00</div><p>Thanks!</p>"
         . "</main>\n";
my $side = "<aside id=\"side\"><h2>More for you</h2></aside>\n";
my $tail = "<footer>bye</footer></body></html>\n";

my %pages = (
    'both.html'     => $head . $main . $side . $tail,
    'reversed.html' => $head . $side . $main . $tail,
    'noside.html'   => $head . $main . $tail,
    'none.html'     => $head . "<p>nothing to anchor to</p>" . $tail,
);
mkdir "$dir/www";
write_file("$dir/www/$_", $pages{$_}) for keys %pages;

my $rd = start_redis();

my $origin = start_origin(sub {
    my ($method, $path) = @_;
    my ($name) = $path =~ m{^/(?:bytes|slow)/(\w+\.html)};
    my $body = $pages{$name // ''} // 'none';
    my @html = ('Content-Type', 'text/html');
    return { headers => \@html, body => $body, chunk => 1,
             delay => 0.0002, chunked => 1 } if $path =~ m{^/bytes/};
    # the first anchor in the first piece, the rest 20 ms later each
    return { headers => \@html, body => $body,
             chunks => [ length($head) + 30, 40, 40,
                         length($body) - length($head) - 110 ],
             delay => 0.02, chunked => 1 };
});
my $o = $origin->{port};

my $placements = <<'PL';
        vpt_placement main '<div id="summary">' after kinds=upsell;
        vpt_placement side '<aside id="side">' after slots=2
                      kinds=loyalty,gift_card,upsell;
PL

my $ng = start_nginx(ports => [$port], http => <<"HTTP");
    vpt_catalog $catalog;
    vpt_redis 127.0.0.1:$rd->{port};
    log_format offers '\$vpt_decision \$vpt_offer \$vpt_placement';
    access_log $dir/offers.log offers;

    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        vpt on;
        vpt_redis_timeout 300ms;
$placements
        location /bytes/ { proxy_pass http://127.0.0.1:$o; }
        location /slow/ { proxy_pass http://127.0.0.1:$o; }
        location /replace/ {
            vpt_placement top '<div id="summary">' replace;
            vpt_placement foot '</footer>' before kinds=loyalty;
            alias $dir/www/;
        }
    }
HTTP

sub ctx_json {
    my (%extra) = @_;
    return encode_json({ user => { id => 'u1' }, device => 'desktop',
                         %extra });
}

sub log_of {
    my ($decision) = @_;
    my $j;
    wait_for(sub {
        for my $l (reverse access_log_lines($ng)) {
            my $x = eval { decode_json($l) } or next;
            if (($x->{decision} // '') eq $decision) { $j = $x; return 1 }
        }
        return 0;
    }, 2);
    return $j // {};
}

# the offers in the page, in page order: [placement, offer]
sub shown {
    my ($body) = @_;
    my @o;
    while ($body =~ /<div class="vpt-offer" data-vpt-decision="[0-9a-f]{16}" data-vpt-offer="([^"]+)" data-vpt-placement="([^"]+)">/g) {
        push @o, "$2:$1";
    }
    return join ',', @o;
}

sub strip {
    my ($body) = @_;
    $body =~ s{<div class="vpt-offer" [^>]*><p class="o">[^<]*</p></div>}{}g;
    return $body;
}

sub decision_of {
    my ($body) = @_;
    my ($d) = $body =~ /data-vpt-decision="([0-9a-f]{16})"/;
    return $d // '';
}

redis_cmd($rd, 'SET', "vpt:ctx:s$_", ctx_json()) for 1 .. 20;
my $sid = 0;

# --- two placements, three offers --------------------------------------------

{
    my $r = http_get($port, '/both.html', sid => 's' . ++$sid);
    is(shown($r->{body}), 'main:up-a,side:loy,side:up-b',
       'the best offer of its kinds to the first placement, the next two '
       . 'to the second, none twice');
    like($r->{body}, qr{<div id="summary"><div class="vpt-offer" [^>]*data-vpt-offer="up-a" data-vpt-placement="main">},
         'main\'s offer right after its anchor');
    like($r->{body}, qr{<aside id="side"><div class="vpt-offer" [^>]*"loy" data-vpt-placement="side"><p class="o">loy</p></div><div class="vpt-offer" [^>]*"up-b" data-vpt-placement="side">},
         'side\'s two offers after its anchor, in slot order');
    unlike($r->{body}, qr/data-vpt-offer="app"/,
           'an offer of no placement\'s kinds is never shown');
    is(strip($r->{body}), $pages{'both.html'},
       'the rest of the page intact (the anchor in a script string too)');

    my $l = log_of(decision_of($r->{body}));
    is($l->{status}, 'injected', 'log: injected');
    is($l->{offer}, 'up-a,loy,up-b', 'log: offer holds the catalog ids');
    is($l->{placement}, 'main,side,side', 'log: each offer\'s placement');
    is(scalar(split /,/, $l->{propensity}), 3, 'log: one propensity each');
    my $d = decision_of($r->{body});
    my ($line) = grep { /^$d / } split /\n/, read_file("$dir/offers.log");
    is($line, "$d main:up-a,side:loy,side:up-b main,side,side",
       '$vpt_offer is NAME:offer in slot order, $vpt_placement the names');
    ok(wait_for(sub {
           my %h = @{ redis_cmd($rd, 'HGETALL', "vpt:ctx:s$sid:vpt") // [] };
           ($h{'i:up-a'} // 0) == 1 && ($h{'i:loy'} // 0) == 1
               && ($h{'i:up-b'} // 0) == 1;
       }, 2), 'one impression for each offer shown');
}

{
    my $r = http_get($port, '/reversed.html', sid => 's' . ++$sid);
    is(shown($r->{body}), 'side:loy,side:up-b,main:up-a',
       'anchors against config order: each placement still gets its own');
    is(strip($r->{body}), $pages{'reversed.html'}, 'and the page intact');
}

# --- cut anywhere --------------------------------------------------------------

for my $page ('both.html', 'reversed.html') {
    my $r = http_get($port, "/bytes/$page", sid => 's' . ++$sid);
    my $want = $page eq 'both.html' ? 'main:up-a,side:loy,side:up-b'
                                    : 'side:loy,side:up-b,main:up-a';
    is(shown($r->{body}), $want, "$page one byte per buffer: the same offers");
    is(strip($r->{body}), $pages{$page}, "$page one byte per buffer: intact");
}

# --- a missing anchor ----------------------------------------------------------

{
    my $s = ++$sid;
    my $r = http_get($port, '/noside.html', sid => "s$s");
    is(shown($r->{body}), 'main:up-a', 'no side anchor: main still shown');
    is(strip($r->{body}), $pages{'noside.html'}, 'no side anchor: intact');
    my $l = log_of(decision_of($r->{body}));
    is($l->{status}, 'injected', 'no side anchor: injected');
    is($l->{offer}, 'up-a', 'no side anchor: the log has main\'s offer only');
    is($l->{placement}, 'main', 'no side anchor: and its placement');
    ok(wait_for(sub {
           (redis_cmd($rd, 'HGET', "vpt:ctx:s$s:vpt", 'i:up-a') // 0) == 1
       }, 2), 'no side anchor: main\'s impression');
    sleep 0.2;
    my %h = @{ redis_cmd($rd, 'HGETALL', "vpt:ctx:s$s:vpt") // [] };
    ok(!exists $h{'i:loy'} && !exists $h{'i:up-b'},
       'no side anchor: side\'s offers are no impressions');
}

{
    my $r = http_get($port, '/none.html', sid => 's' . ++$sid);
    is($r->{body}, $pages{'none.html'}, 'no anchor at all: the page as it was');
    my @l = access_log_lines($ng);
    is(decode_json($l[-1])->{status}, 'no_anchor', 'no anchor at all: no_anchor');
}

# --- the decision arrives after the first anchor -----------------------------

{
    my $pid = fork // die;
    if ($pid == 0) {
        eval { redis_cmd($rd, 'DEBUG', 'SLEEP', '0.08') };
        POSIX::_exit(0);
    }
    sleep 0.01;
    my $r = http_get($port, '/slow/both.html', sid => 's' . ++$sid);
    waitpid $pid, 0;
    is(shown($r->{body}), 'main:up-a,side:loy,side:up-b',
       'anchors seen before the reply: both gaps filled once it comes');
    is(strip($r->{body}), $pages{'both.html'},
       'and the page that streamed in meanwhile is complete, in order');
}

# --- replace, before, and a kind no offer left has -------------------------------

{
    my $r = http_get($port, '/replace/both.html', sid => 's' . ++$sid);
    is(shown($r->{body}), 'top:app,foot:loy',
       'replace and before: the best overall on top, foot\'s only kind');
    unlike($r->{body}, qr/<div id="summary">/, 'replace: the anchor is gone');
    like($r->{body}, qr{data-vpt-placement="foot"><p class="o">loy</p></div></footer>},
         'before: the offer before its anchor');
}

# --- one decision per order, shown where it was ------------------------------

{
    redis_cmd($rd, 'SET', 'vpt:ctx:order', ctx_json(order => { id => 'A-7' }));
    my $first = http_get($port, '/both.html', sid => 'order');
    my $again = http_get($port, '/reversed.html', sid => 'order');
    is(decision_of($again->{body}), decision_of($first->{body}),
       'an order reloaded: the same decision');
    is(shown($again->{body}), 'side:loy,side:up-b,main:up-a',
       'its offers in the placements they were in');
}

# --- nginx -t --------------------------------------------------------------------

for my $case (
    [ "vpt_placement a '<p>' kinds=upsell,coupon;", qr/unknown kind "coupon"/ ],
    [ "vpt_placement a '<p>'; vpt_placement a '<b>';",
      qr/vpt_placement "a" is duplicate/ ],
    [ "vpt_placement a '<p>'; vpt_placement b '~<b\\s*>';",
      qr/vpt_placement: a regex anchor cannot be one of several/ ],
    [ "vpt_placement a '<p>' slots=5; vpt_placement b '<b>' slots=4;",
      qr/vpt_placement "b": the placements have more than 8 slots/ ],
    [ "vpt_placement a:b '<p>';", qr/vpt_placement: invalid name "a:b"/ ],
    [ "vpt_placement a '<p>' slots=0;", qr/invalid "slots=0"/ ],
    [ "vpt_placement a '<p>' middle;", qr/invalid parameter "middle"/ ],
) {
    my ($conf, $want) = @$case;
    my ($rc, $out) = nginx_test(http => <<"HTTP");
    vpt_catalog $catalog;
    server { listen 127.0.0.1:$port; location / { vpt on; $conf } }
HTTP
    isnt($rc, 0, "nginx -t fails: $conf");
    like($out, $want, "and names it: $conf");
    like($out, qr/nginx\.conf:\d+/, "and the file and line: $conf");
}

done_testing();
