#!/usr/bin/perl
#
# Every shopper, through a real nginx and redis-server: a shopper the shop
# never wrote into Redis decided on the request alone (device, referrer),
# with not one Redis command (MONITOR); bots offered nothing; each consent
# level (none: no Redis traffic and no context in the log; first_party: no
# third-party offer), Sec-GPC: 1 and vpt_gpc off; vpt-forget on a shopper
# the module itself wrote counters for; a QA preview signed, unsigned,
# altered and expired.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);
use VPT::Test;

my $root = repo_root();
my $dir = tmpdir();
my $port = free_port();

system("make -s -C $root tools") == 0 or BAIL_OUT("make tools failed");

my $page = "<html><body><h1>Thanks</h1><!-- vpt --><p>order</p>"
         . "</body></html>\n";
mkdir "$dir/www";
write_file("$dir/www/thanks.html", $page);

my $secret = "$dir/secret";
write_file($secret, 'k' x 48 . "\n");
chmod 0600, $secret;

my $rd = start_redis();
my $raddr = "127.0.0.1:$rd->{port}";

my $ng = start_nginx(ports => [$port], http => <<"HTTP");
    vpt_catalog $root/t/data/catalog-shopper.json;
    vpt_redis $raddr;
    vpt_secret $secret;
    vpt_referrer_hosts search mysearch.example;

    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        vpt on;
        vpt_anchor "<!-- vpt -->";
        vpt_redis_timeout 200ms;
        vpt_consent \$cookie_consent;
        vpt_country \$http_x_country;
        vpt_timezone Europe/Berlin;

        location = /nogpc/thanks.html {
            vpt_gpc off;
            try_files /thanks.html =404;
        }

        location = /strict/thanks.html {
            vpt_consent_default first_party;
            try_files /thanks.html =404;
        }
    }
HTTP

my $iphone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) '
           . 'AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 '
           . 'Mobile/15E148 Safari/604.1';
my $desktop = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 '
            . '(KHTML, like Gecko) Chrome/120.0 Safari/537.36';
my $googlebot = 'Mozilla/5.0 (compatible; Googlebot/2.1; '
              . '+http://www.google.com/bot.html)';

# --- Redis as MONITOR shows it -------------------------------------------------

sub monitor_start {
    # the earlier pages' impressions are written fire and forget: they land
    # before we listen, not in this page's commands (as monitor_cmds waits
    # for this page's own)
    sleep 0.2;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $rd->{port}, Proto => 'tcp',
                                  Timeout => 5) or die "monitor: $!";
    binmode $s;
    print $s "*1\r\n\$7\r\nMONITOR\r\n";
    my $ok = <$s>;
    die "monitor: $ok" unless $ok =~ /^\+OK/;
    return $s;
}

# the commands Redis saw until a marker sent after the page, and for a
# moment more (impressions are written fire and forget)
my $mark = 0;

sub monitor_cmds {
    my ($s) = @_;
    sleep 0.2;
    my $m = 'vpt-23-mark-' . ++$mark;
    redis_cmd($rd, 'ECHO', $m);
    my $buf = '';
    my $sel = IO::Select->new($s);
    my $until = time + 5;
    while (time < $until && index($buf, "\"$m\"") < 0) {
        $sel->can_read(0.1) or next;
        sysread($s, $buf, 65536, length $buf) or last;
    }
    close $s;
    # the link's own PING (a new connection's check) and the advertisers'
    # spend sync are no shopper's: only the commands about one count
    return grep { !/"(ECHO|PING)"/ && !/"vpt:spend:/ }
           grep { /^\+\d/ } split /\r\n/, $buf;
}

# --- pages ------------------------------------------------------------------------

sub view {
    my (%o) = @_;
    my %h = ('User-Agent' => $o{ua} // $desktop);
    $h{Referer} = $o{referer} if defined $o{referer};
    $h{'Sec-GPC'} = $o{gpc} if defined $o{gpc};
    $h{'X-Country'} = $o{country} if defined $o{country};
    my @c;
    push @c, "vpt_sid=$o{sid}" if defined $o{sid};
    push @c, "consent=$o{consent}" if defined $o{consent};
    $h{Cookie} = join '; ', @c if @c;
    my $path = ($o{path} // '/thanks.html')
             . (defined $o{preview} ? "?vpt_preview=$o{preview}" : '');
    my $mon = $o{monitor} ? monitor_start() : undef;
    my $r = http_get($port, $path, headers => \%h);
    $r->{redis} = [ monitor_cmds($mon) ] if $mon;
    ($r->{offer}) = $r->{body} =~ /data-vpt-offer="([^"]+)"/;
    $r->{offer} //= '';
    $r->{log} = last_log();
    return $r;
}

my $lines = 0;

sub last_log {
    wait_for(sub { access_log_lines($ng) > $lines }, 2);
    my @l = access_log_lines($ng);
    $lines = @l;
    return @l ? decode_json($l[-1]) : {};
}

sub ctx_json {
    my ($user) = @_;
    return encode_json({ user => { id => $user }, device => 'desktop',
                         cart => [ { sku => 'A-1', price => 30 } ] });
}

# --- a shopper the shop never wrote ------------------------------------------------

{
    my $r = view(ua => $iphone, referer => 'https://www.google.de/search?q=x',
                 monitor => 1);
    is($r->{offer}, 'mobile-search',
       'cookie-less mobile shopper from a search engine: the offer for '
       . 'mobile search visitors');
    is($r->{log}{status}, 'injected', '... status injected');
    is($r->{log}{basis}, 'request', '... basis request');
    ok(!defined $r->{log}{context}, '... no context logged');
    is_deeply($r->{redis}, [], '... not one Redis command sent');
}

{
    my $r = view(ua => $iphone, referer => 'https://mysearch.example/?q=1');
    is($r->{offer}, 'mobile-search',
       'vpt_referrer_hosts: an operator\'s own search host is search');
    $r = view(ua => $iphone, referer => 'https://news.example/');
    isnt($r->{offer}, 'mobile-search', 'another referrer is not search');
    is($r->{offer}, 'partner',
       'no session: the capped offer is not eligible, the next best shows');
}

{
    my $r = view(ua => $desktop, sid => 'ghost', monitor => 1);
    is($r->{log}{basis}, 'request',
       'a session without a stored context: decided on the request');
    is($r->{offer}, 'partner', '... capped offers left out');
    ok((grep { /"GETRANGE"/ } @{ $r->{redis} }),
       '... after the context was looked for');
}

# --- bots ----------------------------------------------------------------------

for my $ua ($googlebot, 'curl/8.5.0', '') {
    my $r = view(ua => $ua, sid => 'alice', monitor => 1);
    is($r->{body}, $page, "bot \"$ua\": the page as it is, no offer");
    is($r->{log}{status}, 'bot', '... status bot');
    is_deeply($r->{redis}, [], '... nothing asked of Redis');
}

# --- consent -------------------------------------------------------------------

redis_cmd($rd, 'SET', 'vpt:ctx:alice', ctx_json('alice'));
redis_cmd($rd, 'SET', 'vpt:ctx:bob', ctx_json('bob'));
redis_cmd($rd, 'HSET', 'vpt:ctx:bob:vpt', 'i:capped', 3);

{
    my $r = view(sid => 'alice', consent => 'all', monitor => 1);
    is($r->{offer}, 'capped', 'consent all: the personal decision');
    is($r->{log}{basis}, 'personal', '... basis personal');
    is($r->{log}{consent}, 'all', '... $vpt_consent all');
    is(ref $r->{log}{context} && $r->{log}{context}{user}{id}, 'alice',
       '... the context logged');
    ok((grep { /"GETRANGE"/ } @{ $r->{redis} }), '... Redis read');
    ok((grep { /"HINCRBY"/ } @{ $r->{redis} }), '... the impression written');
}

{
    my $r = view(sid => 'alice', monitor => 1);
    is($r->{log}{consent}, 'all', 'no consent value: vpt_consent_default, all');
}

{
    my $r = view(sid => 'bob', consent => 'all');
    is($r->{offer}, 'partner', 'bob capped at all: the third-party offer');
    $r = view(sid => 'bob', consent => 'first_party', monitor => 1);
    is($r->{offer}, 'own', 'consent first_party: no third-party offer');
    is($r->{log}{consent}, 'first_party', '... $vpt_consent first_party');
    is($r->{log}{basis}, 'personal', '... still personal');
    ok((grep { /"GETRANGE"/ } @{ $r->{redis} }), '... Redis read');
    my @cand = split /,/, $r->{log}{candidates};
    ok(!grep({ $_ eq 'partner' } @cand),
       '... the third party is not among the candidates');
    cmp_ok($r->{log}{propensity}, '==', 1,
       '... propensity over what was eligible');
}

for my $value ('none', 'nonsense') {
    my $r = view(sid => 'alice', consent => $value, ua => $iphone,
                 referer => 'https://www.bing.com/', monitor => 1);
    is_deeply($r->{redis}, [],
              "consent \"$value\": not one Redis command for the shopper");
    is($r->{offer}, 'mobile-search', '... decided on the request alone');
    is($r->{log}{basis}, 'request', '... basis request');
    is($r->{log}{consent}, 'none', '... $vpt_consent none');
    ok(!defined $r->{log}{context}, '... no context in the log');
    unlike(read_file("$ng->{dir}/access.log"), qr/alice.*"consent":"none"/,
           '... the session\'s data nowhere in its line');
}

{
    my $r = view(sid => 'bob', consent => 'all', gpc => 1);
    is($r->{offer}, 'own', 'Sec-GPC: 1 lowers all to first_party');
    is($r->{log}{consent}, 'first_party', '... $vpt_consent first_party');

    $r = view(sid => 'bob', consent => 'none', gpc => 1, monitor => 1);
    is_deeply($r->{redis}, [], 'Sec-GPC: 1 never raises none');

    $r = view(sid => 'bob', consent => 'all', gpc => 0);
    is($r->{offer}, 'partner', 'Sec-GPC: 0 changes nothing');

    $r = view(sid => 'bob', consent => 'all', gpc => 1,
              path => '/nogpc/thanks.html');
    is($r->{offer}, 'partner', 'vpt_gpc off: Sec-GPC is not read');

    $r = view(sid => 'bob', path => '/strict/thanks.html');
    is($r->{offer}, 'own', 'vpt_consent_default first_party: empty value');
}

# --- the shopper's data deleted ---------------------------------------------------

{
    ok(redis_cmd($rd, 'EXISTS', 'vpt:ctx:alice:vpt'),
       'the module wrote alice\'s counters');
    my $out = `$root/build/tools/vpt-forget --redis $raddr alice 2>&1`;
    is($? >> 8, 0, 'vpt-forget alice succeeds') or diag $out;
    like($out, qr/alice/, '... and says what it removed');
    ok(!redis_cmd($rd, 'EXISTS', 'vpt:ctx:alice'), '... her context is gone');
    ok(!redis_cmd($rd, 'EXISTS', 'vpt:ctx:alice:vpt'),
       '... her counters are gone');
    ok(redis_cmd($rd, 'EXISTS', 'vpt:ctx:bob'), '... bob\'s stay');
    my $r = view(sid => 'alice', consent => 'all');
    is($r->{log}{basis}, 'request', 'alice is now unknown to the module');
}

# --- QA preview -----------------------------------------------------------------

sub token {
    my (@args) = @_;
    my $t = `$root/build/tools/vpt-preview --secret $secret @args`;
    chomp $t;
    return $t;
}

{
    my $tok = token('--offer', 'own');
    like($tok, qr/^o\.\d+\.[A-Za-z0-9_-]{22}\.own$/, 'vpt-preview prints a token');

    my $r = view(ua => $googlebot, preview => $tok, monitor => 1);
    is($r->{offer}, 'own', 'a signed preview forces its offer (even for curl-'
       . 'like QA tools)');
    like($r->{body}, qr/data-vpt-offer="own" data-vpt-preview="1"/,
         '... the wrapper marked data-vpt-preview="1"');
    is($r->{log}{status}, 'preview', '... $vpt_status preview');
    is_deeply($r->{redis}, [], '... nothing counted in Redis');

    (my $bad = $tok) =~ s/\.own$/.partner/;
    $r = view(preview => $bad, sid => 'bob', consent => 'all');
    is($r->{offer}, 'partner', 'an altered preview is ignored: the decision');
    is($r->{log}{status}, 'injected', '... status injected');
    unlike($r->{body}, qr/data-vpt-preview/, '... not marked');

    $r = view(preview => 'o.9999999999.AAAAAAAAAAAAAAAAAAAAAA.own');
    is($r->{log}{status}, 'injected', 'an unsigned preview is ignored');

    my $ctok = token('--context', 'bob');
    $r = view(preview => $ctok, monitor => 1);
    is($r->{offer}, 'partner', 'a context preview: the decision for bob\'s '
       . 'stored context');
    is($r->{log}{status}, 'preview', '... status preview');
    ok(!grep({ /"HINCRBY"/ } @{ $r->{redis} }), '... no impression written');

    my $short = token('--offer', 'own', '--ttl', 1);
    sleep 2.2;
    $r = view(preview => $short, sid => 'bob', consent => 'all');
    is($r->{log}{status}, 'injected', 'an expired preview is ignored');
    is($r->{offer}, 'partner', '... the normal decision');
}

# --- configuration -------------------------------------------------------------

{
    my ($rc, $out) = nginx_test(http => <<"HTTP");
    vpt_catalog $root/t/data/catalog-shopper.json;
    server { listen 127.0.0.1:1; vpt on; vpt_timezone Mars/Olympus_Mons; }
HTTP
    isnt($rc, 0, 'nginx -t fails on a zone it cannot read');
    like($out, qr/vpt_timezone "Mars\/Olympus_Mons"/, '... naming it');

    ($rc, $out) = nginx_test(http => <<"HTTP");
    vpt_catalog $root/t/data/catalog-shopper.json;
    vpt_referrer_hosts gossip example.com;
HTTP
    isnt($rc, 0, 'nginx -t fails on an unknown referrer class');
    like($out, qr/unknown class "gossip"/, '... naming it');

    ($rc, $out) = nginx_test(http => <<"HTTP");
    vpt_catalog $root/t/data/catalog-shopper.json;
    server { listen 127.0.0.1:1; vpt_consent_default some; }
HTTP
    isnt($rc, 0, 'nginx -t fails on an unknown consent level');
}

done_testing();
