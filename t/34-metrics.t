# What an operator reads on the status page beside the outcomes: which
# build, catalog and model are loaded and since when (vpt_info), the
# decisions, accepts and accepted value of each experiment's arms, the
# accepted value per offer, Redis latency buckets fine enough for a local
# Redis, and accepts made by beacons run as subrequests.  The page passes
# promtool's own linter.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Digest::SHA qw(sha256_hex);
use Time::HiRes qw(sleep time);
use VPT::Test;

my $root = repo_root();
my $dir = tmpdir();
my $port = free_port();
my $catalog = "$root/t/data/catalog-redis.json";
my $model = "$root/conf.d/model.json";

mkdir "$dir/www";
write_file("$dir/www/thanks.html",
           "<html><body><h1>Thanks</h1></body></html>\n");

my $rd = start_redis();
for my $i (1 .. 40) {
    redis_cmd($rd, 'SET', "vpt:ctx:s$i", encode_json({ user => { id => "u$i" } }));
}

my $http = <<"HTTP";
    vpt_catalog $catalog;
    vpt_redis 127.0.0.1:$rd->{port};
    vpt_redis_timeout 500ms;

    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        vpt_session_key \$arg_s;

        location /x/ {
            alias $dir/www/;
            vpt on;
            vpt_model $model;
            vpt_split exp1 50%;
        }
        location /plain/ { alias $dir/www/; vpt on; }
        location /landing/ { alias $dir/www/; ssi on; }
        location /page/ { alias $dir/www/; ssi on; vpt on; }
        location = /vpt/accept { vpt_beacon; }
        location = /vpt/status { vpt_status_page; }
    }
HTTP
my $ng = start_nginx(ports => [$port], http => $http);

sub scrape {
    my $r = http_get($port, '/vpt/status');
    is($r->{status}, 200, 'the status page answers') or diag($r->{body});
    return $r->{body};
}

sub value {
    my ($page, $sample) = @_;
    my ($v) = $page =~ /^\Q$sample\E ([-+.\deE]+|\+Inf)$/m;
    return $v;
}

# --- vpt_info and the load time ------------------------------------------

my $t0 = time;
my $page = scrape();
my ($version) = read_file("$root/src/vpt_version.h")
    =~ /#define VPT_VERSION\s+"([^"]+)"/;
my $cat_sha = substr(sha256_hex(read_file($catalog)), 0, 12);
my $model_sha = substr(sha256_hex(read_file($model)), 0, 12);
my $info = "vpt_info{version=\"$version\",catalog=\"redis-tests\","
           . "catalog_sha256=\"$cat_sha\",model_sha256=\"$model_sha\"}";
is(value($page, $info), 1,
   'vpt_info names the version, the catalog (version, sha256) and the model')
    or diag($page);
my $loaded = value($page, 'vpt_config_load_timestamp_seconds');
ok(defined $loaded && $loaded <= time && $loaded >= $t0 - 30,
   "the configuration's load time is a recent unix time ($loaded)");

# --- a linter agrees -------------------------------------------------------

write_file("$dir/page.txt", $page);
my $lint = `promtool check metrics < $dir/page.txt 2>&1`;
is($? >> 8, 0, 'promtool check metrics finds nothing wrong') or diag($lint);

# --- decisions per arm, the latency histogram --------------------------------

my %arm;
wait_for(sub { http_get($port, '/plain/thanks.html?s=s40')->{body} =~ /hello/ }, 5);
my $before = scrape();
for my $i (1 .. 30) {
    http_get($port, "/x/thanks.html?s=s$i");
    my $l = last_logged($ng);
    $arm{ $l->{variant} }++;
}
$page = scrape();
for my $a (qw(treatment control)) {
    my $s = "vpt_experiment_decisions_total{experiment=\"exp1\",arm=\"$a\"}";
    is(value($page, $s) - (value($before, $s) // 0), $arm{$a} // 0,
       "$a: the page counts the decisions the log shows in that arm");
}
ok($arm{treatment} && $arm{control}, 'both arms saw shoppers');

my $first = value($page, 'vpt_redis_latency_seconds_bucket{le="0.0001"}');
ok(defined $first, 'the first latency bucket is 100 us');
my $count = value($page, 'vpt_redis_latency_seconds_count')
            - value($before, 'vpt_redis_latency_seconds_count');
is($count, 30, 'every lookup is in the histogram');
my $fast = value($page, 'vpt_redis_latency_seconds_bucket{le="0.001"}')
           - value($before, 'vpt_redis_latency_seconds_bucket{le="0.001"}');
cmp_ok($fast, '>', 0,
       "a local Redis answers below 1 ms, and the buckets show it ($fast of 30)");
ok(value($page, 'vpt_redis_latency_seconds_sum') > 0,
   'the latency sum counts fractions of a millisecond');

# --- accepts: per offer and per arm, with their value ---------------------

$before = $page;
is(http_get($port, '/vpt/accept?d=0123456789abcdef&o=hello&x=exp1')->{status},
   204, 'an accept from the experiment');
is(http_get($port, '/vpt/accept?d=0123456789abcdef&o=fallback&x=nosuch')
   ->{status}, 400, 'an accept naming no configured experiment is refused');
is(http_get($port, '/vpt/accept?d=0123456789abcdef&o=hello')->{status}, 204,
   'an accept outside any experiment');
$page = scrape();

sub delta {
    my ($s) = @_;
    return value($page, $s) - (value($before, $s) // 0);
}
is(delta('vpt_experiment_accepts_total{experiment="exp1",arm="treatment"}'),
   1, "the experiment's accept is in its treatment arm");
is(delta('vpt_experiment_accepted_value_total{experiment="exp1",arm="treatment"}'),
   10, 'with the offer\'s value');
is(delta('vpt_experiment_accepts_total{experiment="exp1",arm="control"}'),
   0, 'control shoppers see no offer: no accept there');
unlike($page, qr/experiment="nosuch"/,
       'an x= that names no vpt_split makes no label');
is(delta('vpt_accepted_value_total{offer="hello"}'), 20,
   'accepted value per offer');
is(delta('vpt_accepted_value_total{offer="fallback"}') // 0, 0,
   'nothing counted for the refused one');

# --- beacons as subrequests ------------------------------------------------

write_file("$dir/www/landing.html", '<html><body>'
    . '<!--# include virtual="/vpt/accept?d=00000000000000aa&o=hello&x=exp1" -->'
    . '<p>Welcome</p></body></html>');
$before = $page;
my $r = http_get($port, '/landing/landing.html?s=s1');
like($r->{body}, qr/Welcome/, 'the landing page includes the beacon');
$page = scrape();
is(delta('vpt_accepts_total{offer="hello"}'), 1,
   'a beacon run as a subrequest is counted');
is(delta('vpt_status_total{status="accept"}'), 1, 'as an accept');
is(delta('vpt_experiment_accepts_total{experiment="exp1",arm="treatment"}'),
   1, 'in its arm');
my @l = access_log_lines($ng);
my ($line) = grep { m{/landing/landing\.html} } @l;
my $row = decode_json($line);
is($row->{status}, 'accept', "the landing page's log line shows the accept");
is($row->{decision}, '00000000000000aa', 'with its decision');

# a vpt page that runs a beacon keeps its own decision and counts both
$before = $page;
$r = http_get($port, '/page/landing.html?s=s2');
$page = scrape();
is(delta('vpt_accepts_total{offer="hello"}'), 1,
   'a page running a beacon counts the accept');
is(delta('vpt_requests_total'), 2, 'the page and the accept');
@l = access_log_lines($ng);
($line) = grep { m{/page/landing\.html} } @l;
$row = decode_json($line);
isnt($row->{status}, 'accept', "and logs its own outcome ($row->{status})");

# --- a reload -------------------------------------------------------------

sleep 1.1;
reload_nginx($ng);
my $again;
wait_for(sub {
    $again = http_get($port, '/vpt/status')->{body};
    (value($again, 'vpt_config_load_timestamp_seconds') // 0) > $loaded;
}, 5);
cmp_ok(value($again, 'vpt_config_load_timestamp_seconds'), '>', $loaded,
       'a reload sets the load time');
is(value($again, 'vpt_experiment_accepts_total{experiment="exp1",arm="treatment"}'),
   value($page, 'vpt_experiment_accepts_total{experiment="exp1",arm="treatment"}'),
   'and keeps the per-arm counts');

done_testing();
