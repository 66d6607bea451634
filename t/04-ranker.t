# The ranker behind real nginx and Redis: personas get different, sensible
# offers; what was just bought is never offered; members are never asked
# to join; nothing is shown when nothing is worth it; explored decisions
# log true propensities; markup from data is escaped.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use VPT::Test;

my $root = repo_root();
my $dir = tmpdir();
my $port = free_port();

my $page = "<html><body><h1>Thanks</h1></body></html>\n";
mkdir "$dir/www";
write_file("$dir/www/thanks.html", $page);

my $rd = start_redis();

my $ng = start_nginx(ports => [$port], http => <<"HTTP");
    vpt_catalog $root/conf.d/catalog.json;
    vpt_redis 127.0.0.1:$rd->{port};
    vpt_model $root/conf.d/model.json;

    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        vpt on;
        vpt_redis_timeout 100ms;

        location /strict/ { alias $dir/www/; vpt_min_value 5; }
        location /priors/ { alias $dir/www/; vpt_model off; }
        location /explore/ { alias $dir/www/; vpt_explore 0.5; }
        location /two/ { alias $dir/www/; vpt_slots 2; }
    }
HTTP

my %persona = (
    gift => { user => { id => 'u-gift', loyalty_member => JSON::PP::false,
                        orders => 1 },
              device => 'desktop', country => 'US', intent => 'gift',
              cart => [ { sku => 'TOY-1', category => 'toys',
                          price => 29.99, qty => 1 } ],
              order => { id => 'A-1001', total => 29.99 } },
    loyal => { user => { id => 'u-loyal', loyalty_member => JSON::PP::true,
                         orders => 14 },
               device => 'mobile', country => 'US',
               cart => [ { sku => 'PZ-5', category => 'puzzles',
                           price => 18, qty => 1 } ],
               history => { categories => ['toys', 'puzzles'] } },
    first => { user => { id => 'u-new', loyalty_member => JSON::PP::false,
                         orders => 0 },
               device => 'desktop', country => 'DE',
               cart => [ { sku => 'BK-3', category => 'books',
                           price => 12.5, qty => 2 } ] },
    empty => {},
    evil => { user => { id => 'u-evil', loyalty_member => JSON::PP::true },
              order => { id => '<script>alert(1)</script>' },
              device => 'mobile' },
);

# the gift buyer before an order id: each view a decision of its own (an
# order's confirmation page shows one decision however often it is seen)
$persona{'gift-views'} = { %{ $persona{gift} },
                           order => { total => 29.99 } };

for my $sid (keys %persona) {
    redis_cmd($rd, 'SET', "vpt:ctx:$sid", encode_json($persona{$sid}));
}

sub offer_of {
    my ($path, $sid) = @_;
    redis_cmd($rd, 'DEL', "vpt:ctx:$sid:vpt");      # no caps in play
    my $r = http_get($port, $path, sid => $sid);
    my @o = $r->{body} =~ /data-vpt-offer="([^"]+)"/g;
    return wantarray ? @o : ($o[0] // '');
}

sub last_log {
    return last_logged($ng);
}

is(offer_of('/thanks.html', 'gift'), 'party-dress',
   'the gift buyer who bought a toy gets a party dress');
is(offer_of('/thanks.html', 'loyal'), 'app-install',
   'the loyal mobile member gets the app');
is(offer_of('/thanks.html', 'first'), 'loyalty-join',
   'the first-time shopper is invited to join');

for my $path ('/thanks.html', '/priors/thanks.html', '/explore/thanks.html',
              '/two/thanks.html') {
    my %seen;
    for (1 .. 40) {
        $seen{$_}++ for offer_of($path, 'gift-views');
    }
    ok(!$seen{'more-toys'},
       "$path: the gift buyer never gets a toy offer after buying a toy");
    %seen = ();
    for (1 .. 40) {
        $seen{$_}++ for offer_of($path, 'loyal');
    }
    ok(!$seen{'loyalty-join'},
       "$path: the loyal member never gets the loyalty sign-up");
}

{
    my @o = offer_of('/two/thanks.html', 'gift-views');
    is(scalar @o, 2, 'vpt_slots 2: two offers');
    is(last_log()->{offer}, join(',', @o), '$vpt_offer lists both');
}

{
    my $r = http_get($port, '/strict/thanks.html', sid => 'empty');
    is($r->{body}, $page, 'an empty context under vpt_min_value: nothing shown');
    is(last_log()->{status}, 'suppressed', 'status suppressed');
    is(last_log()->{propensity}, 1,
       'showing nothing was certain: propensity 1');
    is(offer_of('/strict/thanks.html', 'gift'), 'party-dress',
       'the same threshold still lets a relevant offer through');
}

{
    my (%shown, %prop);
    my $n = 400;
    for (1 .. $n) {
        my $o = offer_of('/explore/thanks.html', 'gift-views');
        my $l = last_log();
        $shown{$o}++;
        $prop{$o} = $l->{propensity};
    }
    for my $o (sort keys %shown) {
        my $freq = $shown{$o} / $n;
        my $sd = sqrt($prop{$o} * (1 - $prop{$o}) / $n);
        cmp_ok(abs($freq - $prop{$o}), '<=', 4 * $sd + 0.01,
               "explore 0.5: $o shown $shown{$o}/$n times, logged "
               . "propensity $prop{$o}");
    }
    ok(keys %shown > 1, 'exploration shows more than the best offer');
}

{
    my $r = http_get($port, '/thanks.html', sid => 'evil');
    like($r->{body}, qr/data-vpt-offer="app-install"/,
         'an offer whose markup shows {{order.id}}');
    unlike($r->{body}, qr/<script>alert/,
           'a context value "<script>" never reaches the page as markup');
    like($r->{body}, qr/&lt;script&gt;alert\(1\)&lt;\/script&gt;/,
         'it arrives HTML-escaped');
}

{
    redis_cmd($rd, 'DEL', 'vpt:ctx:gift:vpt');
    my $r = http_get($port, '/thanks.html', sid => 'gift');
    my $l = last_log();
    like($l->{value}, qr/^\d+(\.\d+)?$/,
         '$vpt_value is the expected value, a number');
    cmp_ok($l->{value}, '>', 0, 'and positive');
    like($l->{candidates}, qr/party-dress/, '$vpt_candidates lists the choices');
    unlike($l->{candidates}, qr/more-toys/, 'ineligible offers are not candidates');
}

done_testing();
