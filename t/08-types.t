# vpt_types: which responses get offers, as sub_filter_types says which
# get replacements.  text/html by default and always; a type not listed
# passes byte for byte and costs no Redis lookup; a listed one gets the
# offer, from a file or an upstream (with parameters); "*" is any type.

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
write_file("$dir/www/thanks.txt", $page);
write_file("$dir/www/thanks.bin", $page);

my $rd = start_redis();
my $origin = start_origin(sub {
    return { headers => ['Content-Type', 'text/plain; charset=utf-8'],
             body => $page };
});

my $ng = start_nginx(ports => [$port], http => <<"HTTP");
    vpt_catalog $root/t/data/catalog-redis.json;
    vpt_redis 127.0.0.1:$rd->{port};
    types { text/html html; text/plain txt; application/octet-stream bin; }

    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        vpt on;
        vpt_redis_timeout 500ms;

        location /plain/ { alias $dir/www/; vpt_types text/plain; }
        location /up/ {
            vpt_types text/plain;
            proxy_pass http://127.0.0.1:$origin->{port}/;
        }
        location /any/ { alias $dir/www/; vpt_types *; }
    }
HTTP

my $n = 0;

# a fresh shopper per request (the catalog caps an offer per shopper)
sub get {
    my ($path) = @_;
    my $sid = 'types-' . ++$n;
    redis_cmd($rd, 'SET', "vpt:ctx:$sid",
              encode_json({ user => { id => $sid } }));
    my $r = http_get($port, $path, sid => $sid);
    return ($r, last_logged($ng), $sid);
}

sub getranges {
    my $info = redis_cmd($rd, 'INFO', 'commandstats');
    my ($calls) = $info =~ /cmdstat_getrange:calls=(\d+)/;
    return $calls // 0;
}

{
    my $before = getranges();
    my ($r, $l) = get('/thanks.txt');
    is($r->{status}, 200, 'a text/plain file where vpt is on: 200');
    is($r->{body}, $page, 'by default it passes byte for byte');
    is($l->{status}, 'skipped', '$vpt_status is skipped');
    is($l->{redis_time}, undef, 'no lookup time is logged (null)');
    is(getranges(), $before, 'and Redis was not asked for its context');
}

{
    my $before = getranges();
    my ($r, $l, $sid) = get('/thanks.html');
    like($r->{body}, qr{<p class="hello">Hi \Q$sid\E</p>},
         'text/html gets the offer by default');
    is($l->{status}, 'injected', 'logged as injected');
    is(getranges(), $before + 1, 'after one lookup of its context');
}

{
    my ($r, $l, $sid) = get('/plain/thanks.txt');
    like($r->{body}, qr{<p class="hello">Hi \Q$sid\E</p></div></body>},
         'a listed type gets the offer at its anchor');
    is($l->{status}, 'injected', 'logged as injected');

    ($r, $l, $sid) = get('/plain/thanks.html');
    like($r->{body}, qr{<p class="hello">Hi \Q$sid\E</p>},
         'text/html still does where other types are listed');

    ($r, $l) = get('/plain/thanks.bin');
    is($r->{body}, $page, 'a type not listed there passes untouched');
    is($l->{status}, 'skipped', 'and is skipped');
}

{
    my ($r, $l, $sid) = get('/up/thanks');
    like($r->{body}, qr{<p class="hello">Hi \Q$sid\E</p>},
         'an upstream\'s listed type with parameters gets the offer');
    is($l->{status}, 'injected', 'logged as injected');
}

{
    my ($r, $l, $sid) = get('/any/thanks.bin');
    like($r->{body}, qr{<p class="hello">Hi \Q$sid\E</p>},
         '"vpt_types *" takes any type');
}

{
    my ($rc, $out) = nginx_test(http => <<"HTTP");
    vpt_catalog $root/t/data/catalog-redis.json;
    server { listen 127.0.0.1:$port; location / { vpt on; vpt_types; } }
HTTP
    isnt($rc, 0, 'vpt_types without a type fails nginx -t');
    like($out, qr/invalid number of arguments in "vpt_types"/,
         'naming the directive');
}

done_testing();
