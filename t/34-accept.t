# The accept (issue 15): a signed link that leads to the offer's catalog
# url (302, never a URL of the request) or answers 204; forged, altered and
# made-up links refused (403, nothing counted); expired genuine links lead
# on without counting; one count per decision however often it is clicked;
# secrets rotate; no Redis key for shoppers the store does not know; HEAD
# changes nothing; realized value through vpt_conversion into vpt-report.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use VPT::Test;

my $root = repo_root();
my $dir = tmpdir();
my $rd = start_redis();
my $prefix = 'vpt:ctx:';
my $old = 'old-secret-0123456789-abcdefghijklmnopqrstuv';
my $new = 'new-secret-9876543210-zyxwvutsrqponmlkjihgfe';
my $key = 'conversion-key-0123456789abcdef';

write_file("$dir/old", "$old\n");
write_file("$dir/new", "$new\n");
write_file("$dir/conv", "$key\n");
chmod 0600, "$dir/old", "$dir/new", "$dir/conv";
mkdir "$dir/www";
write_file("$dir/www/cart.html",
           "<html><body><h1>Cart</h1><!-- vpt --></body></html>\n");
write_file("$dir/www/thanks.html",
           "<html><body><h1>Thanks</h1><!-- vpt --></body></html>\n");

sub http_conf {
    my (%o) = @_;
    my $secret = $o{secret} // "vpt_secret $dir/new $dir/old;";
    return <<"HTTP";
vpt_catalog $root/t/data/catalog-accept.json;
vpt_redis   127.0.0.1:$rd->{port};
$secret

server {
    listen 127.0.0.1:$o{port};
    root   $dir/www;
    vpt_redis_timeout 2s;

    location = /cart.html {
        vpt        on;
        vpt_page   cart;
        vpt_slots  3;
        vpt_split  spring 0%;
    }

    location = /thanks.html {
        vpt        on;
        vpt_page   confirmation;
        vpt_slots  2;
        vpt_explore 0.5;
    }

    location = /vpt/accept {
        vpt_beacon;
    }

    location = /vpt/conversion {
        vpt_conversion;
        vpt_conversion_key $dir/conv;
    }
}
HTTP
}

sub entries {
    my ($ng) = @_;
    return map { decode_json($_) } access_log_lines($ng);
}

sub last_entry {
    my ($ng, $before) = @_;
    my @e;
    wait_for(sub { @e = entries($ng); @e > $before }, 5);
    return @e > $before ? $e[-1] : {};
}

sub accept_get {
    my ($port, $query, %o) = @_;
    return http_get($port, "/vpt/accept?$query", %o);
}

sub links {
    my ($body) = @_;
    my %l;
    while ($body =~ m{href="/vpt/accept\?([^"]+)"}g) {
        (my $q = $1) =~ s/&amp;/&/g;
        my ($o) = $q =~ /(?:^|&)o=([^&]+)/;
        $l{$o} = $q;
    }
    return \%l;
}

my $port = free_port();
my $ng = start_nginx(http => http_conf(port => $port), ports => [$port]);

redis_cmd($rd, 'SET', "${prefix}$_", '{"device": "desktop"}')
    for qw(alice bob carol dave erin);

# --- the link and where it leads ----------------------------------------------
my $page = http_get($port, '/cart.html', sid => 'alice');
my $links = links($page->{body});
is_deeply([sort keys %$links], [qw(app dress points)],
          'the page links all three offers to the beacon');
my ($d) = $page->{body} =~ /data-vpt-decision="([0-9a-f]{16})"/;
like($links->{dress}, qr/^d=$d&o=dress&x=spring&s=\d+\.[A-Za-z0-9_-]{22}$/,
     '{{beacon}} renders d, o, x and the signature');
ok(wait_for(sub { (redis_cmd($rd, 'HGET', "${prefix}alice:vpt", 'i:dress')
                   // '') eq '1' }), 'the impression is recorded')
    or diag error_log($ng);

my $n = entries($ng);
my $r = accept_get($port, $links->{dress}, sid => 'alice');
is($r->{status}, 302, 'accept of an offer with a url: 302');
like($r->{headers}{location}, qr{^http://[^/]+/landing/dress\.html\?from=vpt$},
     'Location: the catalog url');
is($r->{headers}{'cache-control'}, 'no-store', 'the redirect is not cached');
my $e = last_entry($ng, $n);
is($e->{status}, 'accept', 'the accept is logged as accept');
is($e->{decision}, $d, 'with its decision');
is($e->{offer}, 'dress', 'with its offer');
is($e->{experiment}, 'spring', 'with its experiment');
is($e->{variant}, 'treatment', 'in the arm the decision was made in');
is(redis_cmd($rd, 'HGET', "${prefix}alice:vpt", 'a:dress'), '1',
   'the shopper\'s counters say accepted');

# a double click, a replay with another cookie: the redirect, no count
for my $sid ('alice', 'mallory', undef) {
    my $who = $sid // 'no cookie';
    $n = entries($ng);
    $r = accept_get($port, $links->{dress}, defined $sid ? (sid => $sid) : ());
    is($r->{status}, 302, "replay ($who): still 302");
    is(last_entry($ng, $n)->{status}, 'accept_uncounted',
       "replay ($who): not counted again");
}

$n = entries($ng);
$r = accept_get($port, $links->{app}, sid => 'alice');
is($r->{status}, 302, 'absolute url: 302');
is($r->{headers}{location}, 'https://apps.example.com/get?ref=shop',
   'absolute url: Location as in the catalog');
is(last_entry($ng, $n)->{status}, 'accept_uncounted',
   'a second offer of an accepted decision is not counted either');

# an offer without url: 204
$page = http_get($port, '/cart.html', sid => 'alice');
$links = links($page->{body});
ok($links->{points}, 'a new page view links the offer without url');
$r = accept_get($port, $links->{points}, sid => 'alice');
is($r->{status}, 204, 'an offer without url: 204');
ok(!exists $r->{headers}{location}, 'an offer without url: no Location');

# the request names no destination: an added url= changes nothing
$page = http_get($port, '/cart.html', sid => 'alice');
$links = links($page->{body});
$r = accept_get($port, "$links->{app}&url=https://evil.example/",
                sid => 'alice');
is($r->{headers}{location}, 'https://apps.example.com/get?ref=shop',
   'no open redirect: the Location is always the catalog\'s');

# --- refused links ----------------------------------------------------------------
$page = http_get($port, '/cart.html', sid => 'bob');
$links = links($page->{body});
my $q = $links->{dress};
my ($sig) = $q =~ /s=([^&]+)/;
my ($exp, $mac) = split /\./, $sig;
(my $flipped = $mac) =~ s/^(.)/$1 eq 'A' ? 'B' : 'A'/e;
my $d2 = ($q =~ /d=([0-9a-f]{16})/)[0];
my $other = $d2 =~ /^0/ ? "1" . substr($d2, 1) : "0" . substr($d2, 1);

my @forged = (
    [ 'forged signature', "d=$d2&o=dress&x=spring&s=$exp.$flipped" ],
    [ 'altered offer',    "d=$d2&o=app&x=spring&s=$sig" ],
    [ 'altered decision', "d=$other&o=dress&x=spring&s=$sig" ],
    [ 'altered expiry',   "d=$d2&o=dress&x=spring&s=" . ($exp + 1) . ".$mac" ],
    [ 'no experiment',    "d=$d2&o=dress&s=$sig" ],
    [ 'no signature',     "d=$d2&o=dress&x=spring" ],
    [ 'a made-up secret', "d=$d2&o=dress&x=spring&s="
                          . sign_accept('x' x 40, $d2, 'dress', 'spring') ],
    [ 'garbage',          "d=$d2&o=dress&x=spring&s=abc" ],
);
wait_for(sub { redis_cmd($rd, 'EXISTS', "${prefix}bob:vpt") });
my $keys = redis_cmd($rd, 'DBSIZE');
for my $c (@forged) {
    my ($name, $query) = @$c;
    $n = entries($ng);
    $r = accept_get($port, $query, sid => 'bob');
    is($r->{status}, 403, "$name: 403");
    is(last_entry($ng, $n)->{status}, 'off', "$name: not logged as accept");
}
is(redis_cmd($rd, 'HGET', "${prefix}bob:vpt", 'a:dress'), undef,
   'refused links changed no counter');
is(redis_cmd($rd, 'DBSIZE'), $keys, 'refused links made no key');
like(error_log($ng), qr/vpt beacon: refused a forged link/,
     'the error log says why');

# altered experiment: a made-up x is 400, another real one 403
$r = accept_get($port, "d=$d2&o=dress&x=autumn&s=$sig", sid => 'bob');
is($r->{status}, 400, 'a made-up experiment: 400');
$r = accept_get($port, "d=$d2&o=dress&x=autumn&s="
                . sign_accept($new, $d2, 'dress', 'autumn'), sid => 'bob');
is($r->{status}, 400, 'a made-up experiment, even signed: 400');

# expired: genuine, so it still leads on, but counts nothing
my $past = time() - 10;
$n = entries($ng);
$r = accept_get($port, "d=$d2&o=dress&x=spring&s="
                . sign_accept($new, $d2, 'dress', 'spring', $past),
                sid => 'bob');
is($r->{status}, 302, 'expired link: still 302');
is(last_entry($ng, $n)->{status}, 'accept_uncounted',
   'expired link: not counted');

# HEAD: the answer, nothing else
$n = entries($ng);
$r = accept_get($port, $q, sid => 'bob', method => 'HEAD');
is($r->{status}, 302, 'HEAD: 302');
is(last_entry($ng, $n)->{status}, 'off', 'HEAD: not logged as an accept');
is(redis_cmd($rd, 'EXISTS', "${prefix}vpt:accepted:$d2"), 0,
   'HEAD: the decision is not marked accepted');
$n = entries($ng);
$r = accept_get($port, $q, sid => 'bob');
is(last_entry($ng, $n)->{status}, 'accept', 'GET after HEAD: counted');

# --- rotation: links signed by the old secret pass until it is removed ------------
my $dr = 'abcdef0123456789';
my $by_old = "d=$dr&o=points&s=" . sign_accept($old, $dr, 'points', '');
$r = accept_get($port, $by_old, sid => 'alice');
is($r->{status}, 204, 'a link signed by the second secret is accepted');

write_file($ng->{conf}, nginx_conf(http => http_conf(
    port => $port, secret => "vpt_secret $dir/new;"), dir => $ng->{dir}));
reload_nginx($ng);
my $dr2 = 'bbcdef0123456789';
ok(wait_for(sub {
       accept_get($port, "d=$dr2&o=points&s="
                  . sign_accept($old, $dr2, 'points', ''))->{status} == 403 }),
   'once the old secret is removed, its links are refused');
$r = accept_get($port, "d=$dr2&o=points&s="
                . sign_accept($new, $dr2, 'points', ''));
is($r->{status}, 204, 'the new secret still signs');

# --- the issue's scenario: forged accepts cannot lift the reports -------------
{
    my $log = "$dir/forge.log";
    my $n0 = entries($ng);
    http_get($port, '/cart.html', sid => 'carol');
    for my $o (qw(dress app points dress dress)) {
        accept_get($port, "d=0123456789abcdef&o=$o", sid => 'alice');
        accept_get($port, "d=0123456789abcdef&o=$o&s=1.AAAAAAAAAAAAAAAAAAAAAA",
                   sid => 'alice');
    }
    wait_for(sub { entries($ng) >= $n0 + 11 });
    my @lines = access_log_lines($ng);
    write_file($log, join("\n", @lines[$n0 .. $#lines]) . "\n");
    my $out = `$root/build/tools/vpt-report --json $log 2>&1`;
    my $rep = eval { decode_json($out) } // {};
    my ($accepts, $decisions) = (0, 0);
    for my $x (@{ $rep->{experiments} // [] }) {
        for my $a (@{ $x->{arms} }) {
            $accepts += $a->{accepts};
            $decisions += $a->{decisions};
        }
    }
    ok($decisions == 1 && $accepts == 0,
       'forged accepts add nothing to vpt-report: 1 decision, 0 accepts')
        or diag $out;
}

# --- vpt-report: an accept counts once, and only for a logged decision -----
{
    my $line = sub {
        my (%f) = @_;
        my %l = (decision => '', status => 'injected', page => 'cart',
                 offer => '', value => '', propensity => '', variant => '',
                 experiment => '', candidates => '', context => '{}',
                 redis_time => '-', repeat => '0', uri => '/', %f);
        return encode_json(\%l);
    };
    my ($a, $b, $c) = ('a' x 16, 'b' x 16, 'c' x 16);
    my @l = (
        $line->(decision => $a, offer => 'dress', value => '5.0',
                propensity => '1'),
        $line->(decision => $b, offer => 'app', value => '1.0',
                propensity => '1'),
        $line->(decision => $a, status => 'accept', offer => 'dress',
                value => '10.000000', repeat => ''),
        $line->(decision => $a, status => 'accept', offer => 'dress',
                value => '10.000000', repeat => ''),      # a replay
        $line->(decision => $b, status => 'accept', offer => 'dress',
                value => '10.000000', repeat => ''),      # never shown
        $line->(decision => $c, status => 'accept', offer => 'dress',
                value => '10.000000', repeat => ''),      # no decision
        $line->(decision => $a, status => 'conversion', value => '30.000000',
                repeat => ''),
        $line->(decision => $c, status => 'conversion', value => '99.000000',
                repeat => ''),
    );
    write_file("$dir/match.log", join("\n", @l) . "\n");
    my $out = `$root/build/tools/vpt-report --json $dir/match.log 2>&1`;
    my $rep = eval { decode_json($out) } // do { diag $out; {} };
    my ($arm) = map { @{ $_->{arms} } } @{ $rep->{experiments} // [] };
    is($arm->{decisions}, 2, 'report: two decisions');
    is($arm->{accepts}, 1, 'report: one accept (no replay, no forgery)');
    is($rep->{unmatched_accepts}, 3, 'report: three accepts not counted');
    ok(abs($arm->{vpt} - 5) < 1e-9, 'report: VPT 10 / 2');
    ok(abs($arm->{realized_vpt} - 15) < 1e-9,
       'report: realized VPT 30 / 2 (the conversion of no decision left out)');
}

# --- no key for shoppers the store does not know --------------------------------
{
    my $before = redis_cmd($rd, 'DBSIZE');
    my $page = http_get($port, '/cart.html', sid => 'dave');
    my $l = links($page->{body})->{dress};
    accept_get($port, $l, sid => 'dave');
    $before = redis_cmd($rd, 'DBSIZE');
    my $sock_ok = 0;
    for my $i (1 .. 5000) {
        my $r = accept_get($port, $i % 2 ? $l : "d=0123456789abcdef&o=dress",
                           sid => "fresh-$i");
        $sock_ok++ if $r->{status} == 302 || $r->{status} == 403;
    }
    is($sock_ok, 5000, '5,000 beacons with fresh cookies answered');
    is(redis_cmd($rd, 'DBSIZE'), $before,
       '5,000 beacons with fresh cookies created no Redis key');
}

# --- no secret: nginx -t warns -------------------------------------------------------
{
    my ($rc, $out) = nginx_test(http => http_conf(port => free_port(),
                                                  secret => ''));
    is($rc, 0, 'without vpt_secret nginx -t passes');
    like($out, qr/no "vpt_secret": accept links are not signed, so anyone can forge accepts/,
         'and warns that accepts can be forged');
    ($rc, $out) = nginx_test(http => http_conf(port => free_port()));
    unlike($out, qr/no "vpt_secret"/, 'with vpt_secret: no warning');

    write_file("$dir/short", "short\n");
    ($rc, $out) = nginx_test(http => http_conf(port => free_port(),
                             secret => "vpt_secret $dir/short;"));
    isnt($rc, 0, 'a short secret fails nginx -t');
    like($out, qr{vpt_secret: \S*short}, 'naming its file');
}

# --- catalog urls are checked at nginx -t ----------------------------------------
for my $c ([ 'javascript:alert(1)', 'a javascript: url' ],
           [ '//evil.example/x',    'a scheme-relative url' ],
           [ "/a\r\nSet-Cookie: x", 'a url with CR LF' ],
           [ 'https:///path',       'a url without host' ],
           [ 'landing.html',        'a relative path' ]) {
    my ($url, $name) = @$c;
    my $cat = decode_json(read_file("$root/t/data/catalog-accept.json"));
    $cat->{offers}[0]{url} = $url;
    write_file("$dir/bad.json", encode_json($cat));
    my ($rc, $out) = nginx_test(http => "vpt_catalog $dir/bad.json;");
    isnt($rc, 0, "$name fails nginx -t");
    like($out, qr/"dress".*"url"|url.*dress/, "$name: the offer and field are named")
        or diag $out;
}

# --- once per order: a reloaded confirmation page is one decision ----------
{
    redis_cmd($rd, 'SET', "${prefix}frank",
              '{"device": "desktop", "order": {"id": "ord-1001", '
              . '"total": 80, "currency": "EUR"}}');
    my $n0 = entries($ng);
    my (%ids, %shown);
    for (1 .. 10) {
        my $p = http_get($port, '/thanks.html', sid => 'frank');
        my ($id) = $p->{body} =~ /data-vpt-decision="([0-9a-f]{16})"/;
        $ids{$id // ''}++;
        $shown{join ',', $p->{body} =~ /data-vpt-offer="([^"]+)"/g}++;
    }
    is(scalar keys %ids, 1, '10 views of an order\'s page: one decision id');
    is(scalar keys %shown, 1, '10 views of an order\'s page: the same offers');
    wait_for(sub { entries($ng) >= $n0 + 10 });
    my @all = entries($ng);
    my @v = grep { $_->{uri} eq '/thanks.html' } @all[$n0 .. $#all];
    is(scalar @v, 10, 'ten page views logged');
    is(scalar(grep { $_->{repeat} eq '0' && $_->{status} eq 'injected' } @v), 1,
       'one is the decision');
    is(scalar(grep { $_->{repeat} eq '1' && $_->{status} eq 'injected' } @v), 9,
       'nine are repeats, $vpt_status injected, $vpt_repeat 1');
    my ($first) = (keys %shown)[0] =~ /^([^,]+)/;
    is(redis_cmd($rd, 'HGET', "${prefix}frank:vpt", "i:$first"), '1',
       'one impression recorded');

    my @lines = access_log_lines($ng);
    write_file("$dir/order.log", join("\n", @lines[$n0 .. $#lines]) . "\n");
    my $out = `$root/build/tools/vpt-report --json $dir/order.log 2>&1`;
    my $rep = eval { decode_json($out) } // do { diag $out; {} };
    my $dec = 0;
    $dec += $_->{decisions} for map { @{ $_->{arms} } } @{ $rep->{experiments} };
    is($dec, 1, 'vpt-report counts the order once');
    my $joined = `$root/build/tools/vpt-join $dir/order.log 2>/dev/null`;
    is(scalar(split /\n/, $joined), 1, 'vpt-join writes the order once');

    # another order of the same shopper: a new decision
    redis_cmd($rd, 'SET', "${prefix}frank",
              '{"device": "desktop", "order": {"id": "ord-1002"}}');
    my $p = http_get($port, '/thanks.html', sid => 'frank');
    my ($id) = $p->{body} =~ /data-vpt-decision="([0-9a-f]{16})"/;
    ok($id && !$ids{$id}, 'another order: another decision');
}

# --- realized value ------------------------------------------------------------------
{
    my $n0 = entries($ng);
    my $page = http_get($port, '/cart.html', sid => 'erin');
    my ($dv) = $page->{body} =~ /data-vpt-decision="([0-9a-f]{16})"/;
    my $l = links($page->{body})->{dress};
    accept_get($port, $l, sid => 'erin');

    my $post = sub {
        my ($body, %h) = @_;
        my $raw = "POST /vpt/conversion HTTP/1.1\r\nHost: localhost\r\n"
                  . "Connection: close\r\n"
                  . "Content-Type: application/x-www-form-urlencoded\r\n"
                  . "Content-Length: " . length($body) . "\r\n";
        $raw .= "Authorization: $h{auth}\r\n" if $h{auth};
        return http_request($port, "$raw\r\n$body");
    };
    is($post->("d=$dv&v=42.50&c=EUR", auth => "Bearer $key")->{status}, 204,
       'conversion with the key: 204');
    is($post->("d=$dv&v=1")->{status}, 401, 'conversion without a key: 401');
    is($post->("d=$dv&v=1", auth => "Bearer ${key}x")->{status}, 401,
       'conversion with a wrong key: 401');
    is($post->("d=$dv&v=1", auth => "Basic $key")->{status}, 401,
       'conversion with another scheme: 401');
    is($post->("d=$dv&v=-1", auth => "Bearer $key")->{status}, 400,
       'a negative amount: 400');
    is($post->("d=nothex&v=1", auth => "Bearer $key")->{status}, 400,
       'a bad decision: 400');
    is($post->("v=1", auth => "Bearer $key")->{status}, 400,
       'no decision: 400');
    $r = http_get($port, "/vpt/conversion?d=$dv&v=7.5",
                  headers => { Authorization => "Bearer $key" });
    is($r->{status}, 204, 'GET works too');

    my @conv = grep { $_->{status} eq 'conversion' } entries($ng);
    is(scalar @conv, 2, 'two conversions logged');
    is($conv[0]{decision}, $dv, 'with the decision');
    cmp_ok($conv[0]{value}, '==', 42.5, 'with the amount as $vpt_value');

    my @lines = access_log_lines($ng);
    write_file("$dir/conv.log", join("\n", @lines[$n0 .. $#lines]) . "\n");
    system("$root/build/tools/vpt-join $dir/conv.log > $dir/joined.log 2>&1");
    my ($rec) = grep { ($_->{decision} // '') eq $dv }
                map { eval { decode_json($_) } // {} }
                split /\n/, read_file("$dir/joined.log");
    ok($rec && abs(($rec->{realized_value} // -1) - 50) < 1e-6,
       'vpt-join carries the realized value (42.50 + 7.50)')
        or diag read_file("$dir/joined.log");
    my $out = `$root/build/tools/vpt-report $dir/conv.log 2>&1`;
    like($out, qr/realized/i, 'vpt-report shows realized VPT') or diag $out;
}

done_testing();
