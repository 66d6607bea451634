# Sentinel for real: 1 master, 1 replica, 3 sentinels (t/lib/VPT/
# Topology.pm), all with a password.  nginx finds the master through the
# sentinels, serves every shopper's own offer, and, under a bounded load,
# follows a failover (the master SIGKILLed, the replica promoted) without
# a reload: every page complete and correct, offers back within a few
# seconds of the promotion.  Then a sentinel naming a master nobody
# answers for: pages fail open, the log says so, and the offers come back
# once the topology heals.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use VPT::Test;
use VPT::Topology;
use VPT::Load;

my $root = repo_root();
my $dir = tmpdir();
my $page = "<html><body><h1>Thanks</h1>" . ("<p>order</p>\n" x 50)
         . "</body></html>\n";
mkdir "$dir/www";
write_file("$dir/www/thanks.html", $page);
write_file("$dir/catalog.json", encode_json({ version => 'sentinel',
    offers => [ { id => 'hello', kind => 'loyalty', value => 10,
                  prior => 0.5, pages => ['confirmation'],
                  markup => '<p class="hello">Hi {{user.id}}</p>' } ] }));

my $pw = 'vpt-sentinel-' . int(rand 1e9);
write_file("$dir/password", "$pw\n");
chmod 0600, "$dir/password";

my $s = start_sentinel_setup(password => $pw);
my @shoppers = map { "shopper$_" } 1 .. 200;
{
    my @cmds = map { ['SET', "vpt:ctx:$_",
                      encode_json({ user => { id => $_ } })] } @shoppers;
    rpipe({ %{ $s->{master} }, password => $pw }, @cmds);
}
ok(wait_for(sub {
    (rcmd({ %{ $s->{replica} }, password => $pw }, 'EXISTS',
          "vpt:ctx:$shoppers[-1]") // 0) == 1 }, 10),
   'the contexts reached the replica');

my $port = free_port();
my $sentinels = join ' ', map { "127.0.0.1:$_->{port}" } @{ $s->{sentinels} };
my $ng = start_nginx(ports => [$port], workers => 2, http => <<"HTTP");
    vpt_catalog $dir/catalog.json;
    vpt_redis_sentinel $s->{name} $sentinels;
    vpt_redis_password_file $dir/password;

    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        vpt on;
        vpt_redis_timeout 100ms;
        location = /status { vpt_status_page; }
    }
HTTP

# whole and correct: the page, with no offer or the shopper's own
sub whole {
    my ($body, $sid) = @_;
    (my $b = $body) =~ s{<div class="vpt-offer" [^>]*><p class="hello">Hi \Q$sid\E</p></div>}{};
    return $b eq $page;
}
sub own { $_[1] =~ m{<p class="hello">Hi \Q$_[0]\E</p>} }

ok(wait_for(sub {
    own('shopper1', http_get($port, '/thanks.html', sid => 'shopper1')->{body})
}, 10), 'through the sentinels: the shopper\'s own offer from the master');
like(error_log($ng), qr/vpt redis sentinel: master "\Q$s->{name}\E" is 127\.0\.0\.1:$s->{master}{port}/,
     'the error log names the master the sentinels gave');

# --- failover under load ------------------------------------------------------

my $load = load_start(port => $port, path => '/thanks.html', dir => $dir,
                      clients => 2, shoppers => \@shoppers, max => 20000,
                      whole => \&whole, own => \&own);
sleep 1.5;
my $t_kill = time;
my $took = sentinel_failover($s);
my $t_promoted = time;
ok(defined $took, "the sentinels promoted the replica ("
                  . sprintf('%.1f', $took // -1) . ' s after the kill)');
# until offers came back, and 1.5 s more
wait_for(sub {
    my $r = load_results($load);
    grep { $_->[0] > $t_kill && $_->[3] } @$r
}, 20);
sleep 1.5;
load_stop($load);

my $r = load_results($load);
# the outage starts at the first page without an offer: a request sent
# between $t_kill and the signal's delivery is still the old master's
my ($outage) = map { $_->[0] } grep { $_->[0] >= $t_kill && !$_->[3] } @$r;
my $sum = load_summary($r, $outage // $t_kill);
my $back = defined $sum->{first_after} ? $sum->{first_after} - $t_promoted
                                       : undef;
diag sprintf("sentinel failover: %d requests in %.1f s (%.0f/s), non-2xx %d, "
             . "broken %d, own offers %d, promotion %.2f s after the kill, "
             . "fail-open window %.2f s (kill to first offer), offers back "
             . "%.2f s after the promotion",
             $sum->{requests}, $sum->{seconds}, $sum->{rate},
             $sum->{non2xx}, $sum->{broken}, $sum->{offers}, $took // -1,
             defined $sum->{first_after} ? $sum->{first_after} - $t_kill : -1,
             $back // -1);
ok($sum->{requests} >= 1000, "a load of $sum->{requests} requests");
is($sum->{non2xx}, 0, 'no page other than 200');
is($sum->{broken}, 0, 'every page complete and correct (no offer, '
   . 'or the shopper\'s own)');
ok(defined $back && $back < 5,
   'offers back within 5 s of the promotion, without a reload');
my $after = grep { $_->[0] > $sum->{first_after} + 0.5 && !$_->[3] }
            @$r if defined $sum->{first_after};
is($after // 0, 0, 'and every page has its offer from then on');
like(error_log($ng), qr/master "\Q$s->{name}\E" is now 127\.0\.0\.1:$s->{master}{port}/,
     'the error log names the new master');

unlike(error_log($ng), qr/\[(alert|crit|emerg)\]/, 'nothing worse than an error logged');
note join "\n", grep { /vpt redis/ } split /\n/, error_log($ng);

{
    my $st = http_get($port, '/status')->{body};
    like($st, qr/^vpt_redis_sentinel_master\{worker="\d+",node="127\.0\.0\.1:$s->{master}{port}"\} 1$/m,
         'status page: the current master, connected') or diag $st;
    like($st, qr/^vpt_redis_sentinel_switches_total\{worker="\d+"\} 2$/m,
         'status page: two masters named (the first and the new one)');
}

SKIP: {
    my $forget = "$root/build/tools/vpt-forget";
    skip "no $forget (make tools)", 2 unless -x $forget;
    my $sp = $s->{sentinels}[1]{port};
    my $out = `$forget --sentinel $s->{name} 127.0.0.1:$sp --password-file $dir/password shopper3 2>&1`;
    like($out, qr/^shopper3: deleted vpt:ctx:shopper3 \(context.*\n^shopper3: deleted vpt:ctx:shopper3:vpt \(counters/m,
         'vpt-forget --sentinel deletes context and counters on the new '
         . 'master') or diag $out;
    is(rcmd({ %{ $s->{master} }, password => $pw }, 'EXISTS',
            'vpt:ctx:shopper3'), 0, 'they are gone');
}

# --- a sentinel naming a master nobody answers for --------------------------

{
    my $dead = free_port();
    my $sp = $s->{sentinels}[0]{port};
    my $name = 'ghost';
    rcmd($s->{sentinels}[0], 'SENTINEL', 'MONITOR', $name, '127.0.0.1',
         $dead, 1);
    my $p2 = free_port();
    my $ng2 = start_nginx(ports => [$p2], http => <<"HTTP");
    vpt_catalog $dir/catalog.json;
    vpt_redis_sentinel $name 127.0.0.1:$sp 127.0.0.1:1;

    server {
        listen 127.0.0.1:$p2;
        root $dir/www;
        vpt on;
        vpt_redis_timeout 100ms;
    }
HTTP
    my ($bad, $offers, $slow) = (0, 0, 0);
    for (1 .. 50) {
        my $t = time;
        my $x = http_get($p2, '/thanks.html', sid => 'shopper1');
        $slow++ if time - $t > 0.5;
        $bad++ unless $x->{status} == 200 && whole($x->{body}, 'shopper1');
        $offers++ if own('shopper1', $x->{body});
    }
    is($bad, 0, 'master unreachable: every page whole');
    is($offers, 0, 'without offers');
    is($slow, 0, 'and none waits');
    like(error_log($ng2), qr/connect failed: .*refused/i,
         'the error log says the master named cannot be reached');

    # healed: a redis at the address the sentinel names
    my $node = start_node(port => $dead);
    rcmd($node, 'SET', 'vpt:ctx:shopper1',
         encode_json({ user => { id => 'shopper1' } }));
    ok(wait_for(sub {
        own('shopper1', http_get($p2, '/thanks.html', sid => 'shopper1')->{body})
    }, 10), 'healed: offers come back without a reload');
    rcmd($s->{sentinels}[0], 'SENTINEL', 'REMOVE', $name);
    stop_nginx($ng2);
    stop_node($node);
}

done_testing();
