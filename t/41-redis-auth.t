# Authentication and the database on a real redis-server with a password
# and an ACL user (t/lib/VPT/Topology.pm): the right password gives
# offers, a wrong one starts nginx all the same, every page fails open and
# the error log says why (once, not once a request); vpt_redis_db reads
# the shopper's context from that database; nginx -t refuses what cannot
# work, naming the file or the directive.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use VPT::Test;
use VPT::Topology;

my $root = repo_root();
my $dir = tmpdir();
my $page = "<html><body><h1>Thanks</h1><p>order</p></body></html>\n";
mkdir "$dir/www";
write_file("$dir/www/thanks.html", $page);

my $rd = start_redis_auth();
my ($pw) = split /\n/, read_file($rd->{password_file});

sub ctx_json { encode_json({ user => { id => $_[0] }, device => 'desktop' }) }

sub http_block {
    my ($port, $redis) = @_;
    return <<"HTTP";
    vpt_catalog $root/t/data/catalog-redis.json;
$redis
    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        vpt on;
        vpt_redis_timeout 200ms;
    }
HTTP
}

sub run_nginx {
    my ($redis) = @_;
    my $port = free_port();
    my $ng = start_nginx(ports => [$port], http => http_block($port, $redis));
    return ($ng, $port);
}

sub statuses {
    my ($ng) = @_;
    return map { (eval { decode_json($_) } // {})->{status} // '' }
           access_log_lines($ng);
}

sub intact {
    my ($body) = @_;
    (my $b = $body) =~ s{<div class="vpt-offer" [^>]*>.*?</div>}{}s;
    return $b eq $page;
}

rcmd({ %$rd, password => $pw }, 'SET', 'vpt:ctx:alice', ctx_json('alice'));
# the same key in database 3: another shopper's context
rpipe({ %$rd, password => $pw }, ['SELECT', 3],
      ['SET', 'vpt:ctx:alice', ctx_json('alice-in-db3')]);

# --- the right password, the default user --------------------------------

{
    my ($ng, $port) = run_nginx(
        "    vpt_redis 127.0.0.1:$rd->{port};\n"
        . "    vpt_redis_password_file $rd->{password_file};\n");
    my $r;
    wait_for(sub {
        $r = http_get($port, '/thanks.html', sid => 'alice');
        $r->{body} =~ /Hi alice</;
    }, 5);
    like($r->{body}, qr{<p class="hello">Hi alice</p>},
         'right password: the shopper\'s offer');
    ok(intact($r->{body}), 'and the page intact');
    stop_nginx($ng);
}

# --- an ACL user, and a database -----------------------------------------

{
    rcmd({ %$rd, password => $pw }, 'DEL', 'vpt:ctx:alice:vpt');
    my ($ng, $port) = run_nginx(
        "    vpt_redis 127.0.0.1:$rd->{port};\n"
        . "    vpt_redis_user $rd->{user_name};\n"
        . "    vpt_redis_password_file $rd->{user_password_file};\n"
        . "    vpt_redis_db 3;\n");
    my $r;
    wait_for(sub {
        $r = http_get($port, '/thanks.html', sid => 'alice');
        $r->{body} =~ /Hi alice/;
    }, 5);
    like($r->{body}, qr{<p class="hello">Hi alice-in-db3</p>},
         'AUTH user password and SELECT 3: the context of database 3');
    ok(wait_for(sub {
        ((rpipe({ %$rd, password => $pw }, ['SELECT', 3],
                ['HGET', 'vpt:ctx:alice:vpt', 'i:hello']))[1] // '') eq '1'
    }, 3), 'the impression is counted in database 3 too');
    is(rcmd({ %$rd, password => $pw }, 'EXISTS', 'vpt:ctx:alice:vpt'), 0,
       'and not in database 0');
    stop_nginx($ng);
}

# --- a wrong password: nginx starts, pages fail open, the log says why ----

{
    write_file("$dir/wrong", "not-the-password\n");
    chmod 0600, "$dir/wrong";
    my ($ng, $port) = run_nginx(
        "    vpt_redis 127.0.0.1:$rd->{port};\n"
        . "    vpt_redis_password_file $dir/wrong;\n");
    my ($bad, $offers) = (0, 0);
    for my $i (1 .. 200) {
        my $r = http_get($port, '/thanks.html', sid => 'alice');
        $bad++ unless $r->{status} == 200 && intact($r->{body});
        $offers++ if $r->{body} =~ /vpt-offer/;
    }
    is($bad, 0, 'wrong password: 200 pages, every one complete');
    is($offers, 0, 'and none with an offer');
    my %st;
    $st{$_}++ for statuses($ng);
    ok(($st{redis_error} // 0) > 0, 'they say redis_error')
        or diag explain \%st;
    my @why = grep { /AUTH refused: "WRONGPASS/ } split /\n/, error_log($ng);
    note $why[0] // "";
    ok(@why >= 1, 'the error log says AUTH was refused with WRONGPASS')
        or diag error_log($ng);
    ok(@why <= 2, 'rate limited: ' . scalar(@why) . ' such lines for 200 '
                  . 'pages and their reconnects');
    unlike(error_log($ng), qr/not-the-password/, 'the password is not logged');
    stop_nginx($ng);
}

# --- nginx -t ---------------------------------------------------------------

{
    my ($rc, $out) = nginx_test(http => http_block(free_port(),
        "    vpt_redis 127.0.0.1:1;\n"
        . "    vpt_redis_password_file $dir/nonexistent;\n"));
    isnt($rc, 0, 'an unreadable password file fails nginx -t');
    like($out, qr{vpt_redis_password_file: cannot open "\Q$dir\E/nonexistent"},
         'naming the file');

    write_file("$dir/empty", "\n");
    ($rc, $out) = nginx_test(http => http_block(free_port(),
        "    vpt_redis 127.0.0.1:1;\n"
        . "    vpt_redis_password_file $dir/empty;\n"));
    isnt($rc, 0, 'an empty first line fails nginx -t');
    like($out, qr{first line of "\Q$dir\E/empty" is empty}, 'saying so');

    ($rc, $out) = nginx_test(http => http_block(free_port(),
        "    vpt_redis 127.0.0.1:1;\n"
        . "    vpt_redis_sentinel m 127.0.0.1:2;\n"));
    isnt($rc, 0, 'vpt_redis and vpt_redis_sentinel together fail nginx -t');
    like($out, qr/only one of vpt_redis, vpt_redis_sentinel and vpt_redis_cluster/,
         'saying only one may be set');

    ($rc, $out) = nginx_test(http => http_block(free_port(),
        "    vpt_redis_cluster 127.0.0.1:1;\n"
        . "    vpt_redis_sentinel m 127.0.0.1:2;\n"));
    isnt($rc, 0, 'vpt_redis_cluster and vpt_redis_sentinel together fail '
                 . 'nginx -t');

    ($rc, $out) = nginx_test(http => http_block(free_port(),
        "    vpt_redis_cluster 127.0.0.1:1 127.0.0.1:2;\n"
        . "    vpt_redis_db 2;\n"));
    isnt($rc, 0, 'vpt_redis_db 2 with vpt_redis_cluster fails nginx -t');
    like($out, qr/a Redis Cluster has only database 0/, 'saying why');

    ($rc, $out) = nginx_test(http => http_block(free_port(),
        "    vpt_redis_cluster 127.0.0.1:1 unix:/tmp/x.sock;\n"));
    isnt($rc, 0, 'a unix socket as a cluster seed fails nginx -t');

    ($rc, $out) = nginx_test(http => http_block(free_port(),
        "    vpt_redis_sentinel m;\n"));
    isnt($rc, 0, 'vpt_redis_sentinel without a sentinel fails nginx -t');

    ($rc, $out) = nginx_test(http => http_block(free_port(),
        "    vpt_redis_cluster 127.0.0.1:7000 127.0.0.1:7001;\n"
        . "    vpt_redis_password_file $dir/wrong;\n"));
    is($rc, 0, 'vpt_redis_cluster with a password file passes nginx -t')
        or diag $out;

    ($rc, $out) = nginx_test(http => http_block(free_port(),
        "    vpt_redis 127.0.0.1:1;\n    vpt_redis_user u;\n"));
    isnt($rc, 0, 'vpt_redis_user without a password file fails nginx -t');

    ($rc, $out) = nginx_test(http => http_block(free_port(),
        "    vpt_redis 127.0.0.1:1;\n    vpt_redis_db x;\n"));
    isnt($rc, 0, 'vpt_redis_db x fails nginx -t');
}

done_testing();
