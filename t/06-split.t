# vpt_split: the holdout is a stable, deterministic hash of the split name
# and the session key; control pages are the origin's, byte for byte, and
# still log the decision the ranker would have made.

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

my %conf = (ports => [$port], http => <<"HTTP");
    vpt_catalog $root/t/data/catalog-min.json;

    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        vpt on;

        location /a/ { alias $dir/www/; vpt_split alpha 20%; }
        location /b/ { alias $dir/www/; vpt_split beta 50%; }
        location /none/ { alias $dir/www/; vpt_split nobody 0%; }
        location /all/ { alias $dir/www/; vpt_split everybody 100%; }
    }
HTTP
my $ng = start_nginx(%conf);

sub arms {
    my ($path, @sids) = @_;
    my %arm;
    for my $sid (@sids) {
        my $r = http_get($port, $path, sid => $sid);
        my $l = last_logged($ng);
        $arm{$sid} = $l->{variant};
        die "unexpected status $l->{status}"
            unless $l->{status} =~ /^(injected|control)$/;
        die "control page changed" if $l->{variant} eq 'control'
                                      && $r->{body} ne $page;
    }
    return \%arm;
}

my $n = 1500;
my @sids = map { "shopper-$_-" . ($_ * 7919 % 1000) } 1 .. $n;

my $a = arms('/a/thanks.html', @sids);
my $b = arms('/b/thanks.html', @sids);

my $ca = grep { $a->{$_} eq 'control' } @sids;
my $cb = grep { $b->{$_} eq 'control' } @sids;
my $sd = sqrt($n * 0.2 * 0.8);
cmp_ok(abs($ca - 0.2 * $n), '<=', 4 * $sd,
       "20% split: $ca of $n shoppers in control");
$sd = sqrt($n * 0.5 * 0.5);
cmp_ok(abs($cb - 0.5 * $n), '<=', 4 * $sd,
       "50% split: $cb of $n shoppers in control");

my $both = grep { $a->{$_} eq 'control' && $b->{$_} eq 'control' } @sids;
my $want = $n * 0.2 * 0.5;
cmp_ok(abs($both - $want), '<=', 4 * sqrt($want) + 5,
       "two split names are independent: $both in both controls "
       . "(expected about $want)");

my $again = arms('/a/thanks.html', @sids[0 .. 299]);
is_deeply($again, { map { $_ => $a->{$_} } @sids[0 .. 299] },
          'the same shopper lands in the same arm every time');

reload_nginx($ng);
my $after = arms('/a/thanks.html', @sids[0 .. 299]);
is_deeply($after, { map { $_ => $a->{$_} } @sids[0 .. 299] },
          'and after a reload');

{
    my ($sid) = grep { $a->{$_} eq 'control' } @sids;
    my $r = http_get($port, '/a/thanks.html', sid => $sid);
    is($r->{body}, $page, 'control: the page is the origin\'s, byte for byte');
    is($r->{headers}{'content-length'}, length $page,
       'control: headers untouched (Content-Length kept)');
    my $l = last_logged($ng);
    is($l->{status}, 'control', 'control: $vpt_status is control');
    is($l->{variant}, 'control', '$vpt_variant is control');
    is($l->{experiment}, 'alpha', '$vpt_experiment names the split');
    is($l->{offer}, 'confirmation-offer',
       'control: the decision the ranker would have made is logged');
    like($l->{decision}, qr/^[0-9a-f]{16}$/, 'control: with a decision id');
}

{
    my ($sid) = grep { $a->{$_} eq 'treatment' } @sids;
    my $r = http_get($port, '/a/thanks.html', sid => $sid);
    like($r->{body}, qr/data-vpt-offer="confirmation-offer"/,
         'treatment: the offer is shown');
    like($r->{body}, qr/x=alpha/, 'treatment: the beacon carries the experiment');
}

my $none = arms('/none/thanks.html', @sids[0 .. 199]);
ok(!grep({ $_ eq 'control' } values %$none), '0%: nobody in control');
my $all = arms('/all/thanks.html', @sids[0 .. 199]);
ok(!grep({ $_ ne 'control' } values %$all), '100%: everybody in control');

done_testing();
