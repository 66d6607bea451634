# The module among nginx's other features: internal redirects (try_files,
# error_page) cost one lookup, and add_after_body keeps the page in order
# even while the filter waits for Redis.

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

my $page = "<html><body><h1>Thanks</h1></body></html>\n";
my $footer = "<footer>shop footer</footer>\n";
mkdir "$dir/www";
write_file("$dir/www/thanks.html", $page);
write_file("$dir/www/footer.html", $footer);

my $rd = start_redis();

# an origin whose page starts 50 ms after its headers: Redis answers first
my $origin = start_origin(sub {
    return { headers => ['Content-Type', 'text/html'], body => $page,
             chunks => [ 1, length($page) - 1 ], delay => 0.05 };
});
for my $who ('amy', 'bea') {
    redis_cmd($rd, 'SET', "vpt:ctx:$who",
              encode_json({ user => { id => $who }, device => 'desktop' }));
}

my $ng = start_nginx(ports => [$port], http => <<"HTTP");
    vpt_catalog $root/t/data/catalog-redis.json;
    vpt_redis 127.0.0.1:$rd->{port};

    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        vpt on;
        vpt_redis_timeout 200ms;

        location /tf/ { try_files /nothing.html \@thanks; }
        location /same/ {
            alias $dir/www/;
            try_files \$uri /same/thanks.html;
        }
        location \@thanks { rewrite ^ /thanks.html break; }
        location /footer/ {
            alias $dir/www/;
            add_after_body /footer.html;
        }
        location /slow-footer/ {
            proxy_pass http://127.0.0.1:$origin->{port}/;
            add_after_body /footer.html;
        }
    }
HTTP

sub getranges {
    my $info = redis_cmd($rd, 'INFO', 'commandstats');
    return $info =~ /cmdstat_getrange:calls=(\d+)/ ? $1 : 0;
}

sub last_log {
    my @l = access_log_lines($ng);
    return decode_json($l[-1]);
}

{
    my $r = http_get($port, '/tf/x', sid => 'amy');
    like($r->{body}, qr/Hi amy/, 'try_files to a named location: the offer');
    is(last_log()->{status}, 'injected', 'status injected');

    my $before = getranges();
    $r = http_get($port, '/same/x', sid => 'amy');
    like($r->{body}, qr/Hi amy/,
         'try_files back into the same location: the offer')
        or diag $r->{body}, "\n", join("\n", access_log_lines($ng));
    is(getranges() - $before, 1,
       'and the lookup started before the redirect is reused: one, not two');
}

{
    my $r = http_get($port, '/slow-footer/thanks.html', sid => 'bea');
    my $l = last_log();
    (my $want = $page) =~ s{</body>}{<div class="vpt-offer" data-vpt-decision="$l->{decision}" data-vpt-offer="hello"><p class="hello">Hi bea</p></div></body>};
    is($r->{body}, $want . $footer,
       'add_after_body: the offer in the page, the footer after it');
}

{
    # Redis slower than the page: the filter waits at the anchor when the
    # addition filter ends the page's part; the footer must still come last
    my $pid = fork // die;
    if ($pid == 0) {
        eval { redis_cmd($rd, 'DEBUG', 'SLEEP', '0.1') };
        POSIX::_exit(0);
    }
    sleep 0.02;
    my $r = http_get($port, '/footer/thanks.html', sid => 'amy');
    waitpid $pid, 0;
    is($r->{body}, $page . $footer,
       'add_after_body while waiting for Redis: page, then footer, in order');
    is(last_log()->{status}, 'redis_timeout',
       'and the page did not wait: no offer this time');
}

unlike(error_log($ng), qr/\[(alert|crit|emerg)\]/, 'no alerts');

done_testing();
