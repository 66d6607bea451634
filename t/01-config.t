# Configuration: the module loads into the distro nginx, the demo
# configuration passes nginx -t, and every bad input fails nginx -t with a
# message that names what is wrong and where.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use Time::HiRes qw(time);
use VPT::Test;

my $root = repo_root();

sub conf_with {
    my ($http) = @_;
    return nginx_test(http => $http);
}

# the demo configuration, as tools/vpt-demo writes it
{
    my $demo = read_file("$root/conf.d/vpt-demo.conf");
    $demo =~ s/\@ROOT\@/$root/g;
    $demo =~ s/\@PORT\@/${\ free_port()}/g;
    $demo =~ s/\@REDIS\@/${\ free_port()}/g;
    my $secret = tmpdir() . '/demo-secret';
    write_file($secret, ('s' x 48) . "\n");
    chmod 0600, $secret;
    $demo =~ s/\@SECRET\@/$secret/g;
    $demo =~ s/\@REDIS_TIMEOUT\@/20ms/g;
    my ($rc, $out) = conf_with($demo);
    is($rc, 0, 'the demo configuration passes nginx -t') or diag $out;
}

my @bad = (
    [ 'catalog that is not JSON',
      "vpt_catalog $root/t/data/catalog-bad-syntax.json;",
      qr/catalog "[^"]*catalog-bad-syntax\.json": line \d+, column \d+/ ],
    [ 'catalog with an unknown field',
      "vpt_catalog $root/t/data/catalog-unknown-field.json;",
      qr/catalog-unknown-field\.json": offer #\d+ \("[^"]+"\): unknown field "/ ],
    [ 'catalog with a duplicate id',
      "vpt_catalog $root/t/data/catalog-duplicate-id.json;",
      qr/offer #\d+ \("[^"]+"\): "id": duplicate of offer #\d+/ ],
    [ 'catalog offer without markup',
      "vpt_catalog $root/t/data/catalog-missing-markup.json;",
      qr/offer #\d+ \("[^"]+"\): "markup": missing/ ],
    [ 'catalog with a wrong type',
      "vpt_catalog $root/t/data/catalog-wrong-type.json;",
      qr/offer #\d+ \("[^"]+"\): "value": expected a number/ ],
    [ 'catalog with an unknown placeholder',
      "vpt_catalog $root/t/data/catalog-bad-placeholder.json;",
      qr/offer #\d+ \("[^"]+"\): "markup": .*placeholder/ ],
    [ 'catalog file missing',
      "vpt_catalog $root/t/data/no-such-catalog.json;",
      qr/no-such-catalog\.json": cannot read/ ],
    [ 'invalid regex anchor',
      "vpt_catalog $root/t/data/catalog-min.json;\n"
      . "server { listen 127.0.0.1:1; location / { vpt on; "
      . "vpt_anchor \"~(</body\"; } }",
      qr/vpt_anchor: .*missing closing parenthesis.*offset \d+/ ],
    [ 'regex anchor that matches the empty string',
      "vpt_catalog $root/t/data/catalog-min.json;\n"
      . "server { listen 127.0.0.1:1; location / { vpt on; "
      . "vpt_anchor \"~x*\"; } }",
      qr/vpt_anchor: .*empty/ ],
    [ 'unknown anchor placement',
      "vpt_catalog $root/t/data/catalog-min.json;\n"
      . "server { listen 127.0.0.1:1; location / { vpt on; "
      . "vpt_anchor </body> inside; } }",
      qr/invalid placement "inside"/ ],
    [ 'vpt on without a catalog',
      "server { listen 127.0.0.1:1; location / { vpt on; } }",
      qr/need "vpt_catalog"/ ],
    [ 'slots out of range',
      "vpt_catalog $root/t/data/catalog-min.json;\n"
      . "server { listen 127.0.0.1:1; location / { vpt on; vpt_slots 9; } }",
      qr/must be from 1 to 8/ ],
    [ 'split percent out of range',
      "vpt_catalog $root/t/data/catalog-min.json;\n"
      . "server { listen 127.0.0.1:1; location / { vpt on; "
      . "vpt_split a 120%; } }",
      qr/invalid split "a 120%"/ ],
    [ 'split name the beacon would refuse',
      "vpt_catalog $root/t/data/catalog-min.json;\n"
      . "server { listen 127.0.0.1:1; location / { vpt on; "
      . "vpt_split 'thanks holdout' 10%; } }",
      qr/vpt_split name "thanks holdout" must be 1 to 64 .*beacon/ ],
    [ 'split name over 64 bytes',
      "vpt_catalog $root/t/data/catalog-min.json;\n"
      . "server { listen 127.0.0.1:1; location / { vpt on; "
      . "vpt_split " . ('x' x 65) . " 10%; } }",
      qr/vpt_split name "x{65}" must be/ ],
    [ 'explore above 1',
      "vpt_catalog $root/t/data/catalog-min.json;\n"
      . "server { listen 127.0.0.1:1; location / { vpt on; "
      . "vpt_explore 1.5; } }",
      qr/invalid value "1.5"/ ],
    [ 'unknown page type',
      "vpt_catalog $root/t/data/catalog-min.json;\n"
      . "server { listen 127.0.0.1:1; location / { vpt on; "
      . "vpt_page basket; } }",
      qr/invalid value "basket"/ ],
    [ 'a Redis Cluster seed on a socket path',
      "vpt_redis_cluster 127.0.0.1:7000 unix:/tmp/vpt-no.sock;",
      qr/vpt_redis_cluster "unix:\/tmp\/vpt-no\.sock": a cluster node is host:port/ ],
    [ 'a sentinel on a socket path',
      "vpt_redis_sentinel shop unix:/tmp/vpt-no.sock;",
      qr/vpt_redis_sentinel "unix:\/tmp\/vpt-no\.sock": a sentinel is host:port/ ],
    [ 'a sentinel with a bad port',
      "vpt_redis_sentinel shop 127.0.0.1:99999;",
      qr/invalid port in vpt_redis "127\.0\.0\.1:99999"/ ],
);

for my $case (@bad) {
    my ($name, $http, $re) = @$case;
    my ($rc, $out) = conf_with($http);
    isnt($rc, 0, "$name fails nginx -t");
    like($out, $re, "$name: the message says what and where") or diag $out;
}

# --- catalogs at their worst ---------------------------------------------------

my $dir = tmpdir();

# n offers "o-0" ..., each with rules, features and placeholders; the last
# one's id is "o-$dup" when $dup is given
sub many_offers {
    my ($n, $dup) = @_;
    my @o;
    for my $i (0 .. $n - 1) {
        my $id = defined $dup && $i == $n - 1 ? $dup : $i;
        push @o, qq({"id": "o-$id", "kind": "cross_sell", )
               . qq("markup": "<p>{{user.id}} {{offer}} $i</p>", )
               . qq("pages": ["cart", "confirmation"], "value": $i.5, )
               . qq("prior": 0.0${\ (1 + $i % 9)}, )
               . qq("devices": ["mobile", "d${\ ($i % 50)}"], )
               . qq("hours": [[${\ ($i % 24)}, ${\ (($i + 5) % 24)}]], )
               . qq("categories_any": ["c${\ ($i % 40)}"], )
               . qq("features": {"category": "c${\ ($i % 40)}", "rank": $i}});
    }
    return qq({"version": "many", "offers": [\n) . join(",\n", @o) . "\n]}\n";
}

sub vpt_location {
    my ($catalog) = @_;
    return "vpt_catalog $catalog;\n"
         . "server { listen 127.0.0.1:1; location / { vpt on; "
         . "vpt_model $root/conf.d/model.json; } }";
}

{
    write_file("$dir/catalog-5000.json", many_offers(5000));
    my $t0 = time;
    my ($rc, $out) = conf_with(vpt_location("$dir/catalog-5000.json"));
    my $took = time - $t0;
    is($rc, 0, 'a catalog of 5,000 offers passes nginx -t') or diag $out;
    like($out, qr/status page counts the first 4096 offers of the catalog's 5000/,
         '5,000 offers: nginx -t says the status page counts 4,096');
    note(sprintf 'nginx -t with 5,000 offers and a model: %.2f s', $took);
}

{
    write_file("$dir/catalog-5000-dup.json", many_offers(5000, 17));
    my ($rc, $out) = conf_with(vpt_location("$dir/catalog-5000-dup.json"));
    isnt($rc, 0, 'a duplicate id among 5,000 offers fails nginx -t');
    like($out, qr/catalog "[^"]*catalog-5000-dup\.json": offer #4999 \("o-17"\): "id": duplicate of offer #17 in \S+:\d+$/m,
         'the message names the file, both offers\' indexes and the id')
        or diag $out;

    ($rc, $out) = conf_with("vpt_catalog $root/t/data/catalog-duplicate-id.json;");
    like($out, qr/catalog-duplicate-id\.json": offer #3 \("dup"\): "id": duplicate of offer #1 in \S+:\d+$/m,
         'the fixture\'s duplicate: offer #3 repeats offer #1') or diag $out;
}

{
    my $base = '"kind": "upsell", "markup": "m", "pages": ["cart"]';
    write_file("$dir/catalog-odd-id.json",
               qq({"offers": [{"id": "ok", $base},\n)
               . qq({"id": "a\\r\\n[emerg] forged", $base}]}));
    my ($rc, $out) = conf_with("vpt_catalog $dir/catalog-odd-id.json;");
    isnt($rc, 0, 'an id with CR/LF fails nginx -t');
    like($out, qr/catalog-odd-id\.json": offer #1: "id": byte 1 is not a letter, digit, '\.', '_', ':' or '-'/,
         'the message names the offer and the first bad byte') or diag $out;
    unlike($out, qr/\r|\n\[emerg\] forged/, 'and quotes none of it');

    write_file("$dir/catalog-del.json", qq({"offers": "a\x7f));
    ($rc, $out) = conf_with("vpt_catalog $dir/catalog-del.json;");
    like($out, qr/line 1, column 14: premature end of input near '"a\?'/,
         'a DEL near a syntax error is shown as ?') or diag $out;
}

{
    my $markup = '{{user.id}}' . ('<b>x</b>' x (1024 * 1024)) . '{{offer}}';
    write_file("$dir/catalog-big-markup.json",
               qq({"offers": [{"id": "big", "kind": "upsell", "pages": ["cart"], )
               . qq("markup": "$markup"}]}));
    my $t0 = time;
    my ($rc, $out) = conf_with(vpt_location("$dir/catalog-big-markup.json"));
    is($rc, 0, 'an offer with 8 MB of markup passes nginx -t') or diag $out;
    note(sprintf 'nginx -t with 8 MB of markup: %.2f s', time - $t0);
}

done_testing();
