# Configuration: the module loads into the distro nginx, the demo
# configuration passes nginx -t, and every bad input fails nginx -t with a
# message that names what is wrong and where.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
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
);

for my $case (@bad) {
    my ($name, $http, $re) = @$case;
    my ($rc, $out) = conf_with($http);
    isnt($rc, 0, "$name fails nginx -t");
    like($out, $re, "$name: the message says what and where") or diag $out;
}

done_testing();
