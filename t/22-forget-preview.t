#!/usr/bin/perl
#
# tools/vpt-forget against a real redis-server: shoppers seeded as the
# module and the shop leave them (a context, counters with impressions
# and accept marks), deleted and reported, others untouched; JSON output,
# a custom prefix, session keys from standard input, a Unix socket, a
# database number, a password, and the refusals.  tools/vpt-preview: the
# token it prints is checked against an HMAC computed here with Perl's
# Digest::SHA (not the core's code), and its refusals.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::SHA qw(hmac_sha256);
use File::Temp qw(tempdir);
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use Test::More;

use VPT::Test;

my $root = repo_root();
chdir $root or die "$root: $!";

system("make -s tools") == 0 or BAIL_OUT("make tools failed");

my $tmp = tempdir('vpt-22-XXXXXX', DIR => tmpdir(), CLEANUP => 1);

# runs a command; returns (exit status, stdout, stderr)
sub run {
    my ($cmd, $stdin) = @_;
    my $in = defined $stdin ? "< $stdin" : '< /dev/null';
    my $rc = system("$cmd $in > $tmp/out 2> $tmp/err") >> 8;
    return ($rc, read_file("$tmp/out") // '', read_file("$tmp/err") // '');
}

sub spit {
    my ($path, $content) = @_;
    open my $f, '>', $path or die "$path: $!";
    print $f $content;
    close $f;
}

my $unix = "$tmp/redis.sock";
my $rd = start_redis(unix => $unix);
my $addr = "127.0.0.1:$rd->{port}";

# a shopper as the shop and the module leave one
sub seed {
    my ($prefix, $sid, %o) = @_;
    redis_cmd($rd, 'SET', "$prefix$sid", $o{context}) if defined $o{context};
    redis_cmd($rd, 'HSET', "$prefix$sid:vpt", @{ $o{counters} })
        if $o{counters};
}

sub exists_key { redis_cmd($rd, 'EXISTS', $_[0]) }


# --- a shopper with everything, one with counters only, one unknown -------

{
    my $ctx = '{"user_id":"u-17","device":"mobile","cart":[]}';
    seed('vpt:ctx:', 'alice', context => $ctx,
         counters => [ 'i:gift-card', 3, 'a:gift-card', 1, 'i:app', 2 ]);
    seed('vpt:ctx:', 'bob', counters => [ 'i:app', 1 ]);
    seed('vpt:ctx:', 'dave', context => '{}', counters => [ 'i:app', 1 ]);

    my ($rc, $out, $err) =
        run("tools/vpt-forget --redis $addr alice bob carol");
    is($rc, 0, 'vpt-forget exits 0') or diag($err);

    is($out, join('',
        "alice: deleted vpt:ctx:alice (context, " . length($ctx)
            . " bytes)\n",
        "alice: deleted vpt:ctx:alice:vpt (counters: 5 impressions of 2 "
            . "offers, accepted: gift-card)\n",
        "bob: deleted vpt:ctx:bob:vpt (counters: 1 impression of 1 offer, "
            . "accepted: none)\n",
        "carol: nothing stored\n"),
       'it lists each key it deleted, with what was in it');

    is(exists_key('vpt:ctx:alice'), 0, "alice's context is gone");
    is(exists_key('vpt:ctx:alice:vpt'), 0,
       "alice's counters and accept marks are gone");
    is(exists_key('vpt:ctx:bob:vpt'), 0, "bob's counters are gone");
    is(exists_key('vpt:ctx:dave'), 1, "dave's context is untouched");
    is(exists_key('vpt:ctx:dave:vpt'), 1, "dave's counters are untouched");

    # again: nothing left
    ($rc, $out) = run("tools/vpt-forget --redis $addr alice");
    is($rc, 0, 'a second run exits 0');
    is($out, "alice: nothing stored\n", 'a second run finds nothing');
}


# --- JSON, a custom prefix, keys with odd bytes ----------------------------

{
    seed('shop:', 'x"1', context => '{"a":1}',
         counters => [ 'i:o1', 4, 'a:o1', 1, 'a:o2', 1, 'i:o2', 1 ]);
    seed('vpt:ctx:', 'x"1', context => '{"keep":1}');

    my ($rc, $out, $err) =
        run(qq{tools/vpt-forget --redis $addr --prefix shop: --json 'x"1' y});
    is($rc, 0, '--json exits 0') or diag($err);

    my @lines = split /\n/, $out;
    is(scalar @lines, 2, 'one JSON line per session');

    my $a = eval { decode_json($lines[0]) };
    is_deeply($a, {
        session => 'x"1',
        deleted => [
            { key => 'shop:x"1', what => 'context', bytes => 7 },
            { key => 'shop:x"1:vpt', what => 'counters', impressions => 5,
              offers_shown => 2, accepted => [ 'o1', 'o2' ] },
        ],
    }, 'the JSON names the keys, the impressions and the accepted offers')
        or diag($lines[0]);

    is_deeply(eval { decode_json($lines[1] // '') },
              { session => 'y', deleted => [] },
              'a session with nothing stored has an empty list');

    is(exists_key('shop:x"1'), 0, 'the prefixed context is gone');
    is(exists_key('vpt:ctx:x"1'), 1, 'the same session under another '
       . 'prefix is untouched');
}


# --- session keys from standard input, over the Unix socket ----------------

{
    seed('vpt:ctx:', "s$_", context => '{}') for 1 .. 3;
    spit("$tmp/sids", "s1\n\ns2\r\ns3\n");

    my ($rc, $out, $err) =
        run("tools/vpt-forget --redis unix:$unix - ", "$tmp/sids");
    is($rc, 0, 'sessions from standard input over a Unix socket')
        or diag($err);
    is(scalar(() = $out =~ /^s\d: deleted vpt:ctx:s\d \(context/mg), 3,
       'each line of standard input is a session (blank lines skipped)');
    is(exists_key("vpt:ctx:s$_"), 0, "s$_ is gone") for 1 .. 3;
}


# --- --json with session keys that are not all UTF-8 -----------------------

{
    # a shopper's cookie may carry any byte but a control one: the JSON
    # stays valid, a byte that is not UTF-8 written as its code point
    my $sid = "caf\xc3\xa9-\xff\xc0\xaf\xed\xa0\x80";
    seed('vpt:ctx:', $sid, context => '{}', counters => [ "a:o\xfe", 1 ]);
    spit("$tmp/sids-bytes", "$sid\n");

    my ($rc, $out, $err) =
        run("tools/vpt-forget --redis $addr --json -", "$tmp/sids-bytes");
    is($rc, 0, '--json, a session key that is not all UTF-8: exits 0')
        or diag($err);
    my $e = eval { JSON::PP->new->utf8->decode($out) };
    ok($e, 'the line is valid JSON (strict UTF-8)') or diag($@, $out);
    is($e->{session}, "caf\x{e9}-\x{ff}\x{c0}\x{af}\x{ed}\x{a0}\x{80}",
       'UTF-8 as itself, every other byte as its code point');
    is_deeply($e->{deleted}[1]{accepted}, [ "o\x{fe}" ],
              'a counter\'s name from Redis, the same');
    is(exists_key("vpt:ctx:$sid"), 0, 'and the context is gone');
}


# --- another database ------------------------------------------------------

{
    system("redis-cli -p $rd->{port} -n 3 SET vpt:ctx:db3 '{}' >/dev/null");
    seed('vpt:ctx:', 'db3', context => '{}');

    my ($rc, $out) = run("tools/vpt-forget --redis $addr --db 3 db3");
    is($rc, 0, '--db exits 0');
    like($out, qr/^db3: deleted vpt:ctx:db3 /, '--db 3 deletes there');
    is(exists_key('vpt:ctx:db3'), 1, 'database 0 is untouched');
    is(`redis-cli -p $rd->{port} -n 3 EXISTS vpt:ctx:db3`, "0\n",
       'database 3 has it no more');
}


# --- refusals --------------------------------------------------------------

{
    # --sentinel and --cluster against real servers: t/42 and t/43
    my ($rc, $out, $err) = run("tools/vpt-forget --sentinel mymaster");
    is($rc, 2, '--sentinel without the sentinel\'s address exits 2');
    like($err, qr/--sentinel: expected NAME HOST:PORT/, 'and says so');

    ($rc, $out, $err) =
        run("tools/vpt-forget --cluster 127.0.0.1:7000 --db 1 a");
    is($rc, 2, '--cluster with --db exits 2');
    like($err, qr/a Redis Cluster has only database 0/, 'and says why');

    ($rc, $out, $err) = run("tools/vpt-forget --cluster 127.0.0.1:7000 "
                            . "--redis 127.0.0.1:1 a");
    is($rc, 2, 'two of --redis, --sentinel, --cluster exit 2');

    ($rc, $out, $err) = run("tools/vpt-forget --redis nowhere a");
    is($rc, 2, 'an address without a port exits 2');
    like($err, qr/expected host:port or unix:\/path/, 'and says what it wants');

    ($rc, $out, $err) = run("tools/vpt-forget --redis $addr");
    is($rc, 2, 'no session exits 2');

    # "alice:vpt" would make alice's counters its context
    seed('vpt:ctx:', 'alice', counters => [ 'i:app', 1 ]);
    ($rc, $out, $err) = run("tools/vpt-forget --redis $addr alice:vpt");
    is($rc, 2, 'a session key ending in :vpt exits 2');
    like($err, qr/"alice:vpt" is no session key/, 'and says why');

    spit("$tmp/sids2", "alice:vpt\nnobody\n");
    ($rc, $out, $err) = run("tools/vpt-forget --redis $addr -", "$tmp/sids2");
    is($rc, 1, 'one on standard input: exits 1');
    is($out, "nobody: nothing stored\n", 'after doing the others');
    is(exists_key('vpt:ctx:alice:vpt'), 1, "alice's counters are untouched");

    my $closed = free_port();
    ($rc, $out, $err) = run("tools/vpt-forget --redis 127.0.0.1:$closed a");
    is($rc, 1, 'a server that is not there exits 1');
    like($err, qr/cannot connect to 127\.0\.0\.1:$closed/, 'and names it');

    ($rc, $out) = run("tools/vpt-forget --version");
    is($rc, 0, '--version exits 0');
    like($out, qr/^vpt-forget \S+\n\z/, '--version prints name and release');
}


# --- a password (last: redis_cmd cannot authenticate) ----------------------

{
    seed('vpt:ctx:', 'locked', context => '{}');
    redis_cmd($rd, 'CONFIG', 'SET', 'requirepass', 's3cret-pw');
    spit("$tmp/pw", "s3cret-pw\n");

    my ($rc, $out, $err) = run("tools/vpt-forget --redis $addr locked");
    is($rc, 1, 'without the password: exits 1');
    like($err, qr/NOAUTH/, "and reports Redis's refusal");

    ($rc, $out, $err) =
        run("tools/vpt-forget --redis $addr --password-file $tmp/pw locked");
    is($rc, 0, 'with --password-file: exits 0') or diag($err);
    like($out, qr/^locked: deleted vpt:ctx:locked \(context, 2 bytes\)$/m,
         'and deletes');

    ($rc, $out, $err) = run("tools/vpt-forget --redis $addr --user default "
                            . "--password-file $tmp/pw locked");
    is($rc, 0, 'AUTH with an ACL user') or diag($err);
    is($out, "locked: nothing stored\n", 'and finds it gone');
}


# --- vpt-preview -----------------------------------------------------------

my $secret = 'preview-secret-0123456789-abcdefghijklmn';
spit("$tmp/secret", "$secret\n");

# the token as vpt_sign.h defines it, computed here independently
sub expected_mac {
    my ($mode, $value, $expires) = @_;
    my $msg = "vpt-preview-v1\0" . chr(1) . $mode . chr(length $value)
              . $value . pack('q>', $expires);
    my $b64 = encode_base64(substr(hmac_sha256($msg, $secret), 0, 16), '');
    $b64 =~ tr{+/}{-_};
    $b64 =~ s/=+$//;
    return $b64;
}

{
    my $before = time;
    my ($rc, $out, $err) =
        run("tools/vpt-preview --secret $tmp/secret --offer gift-card");
    my $after = time;
    is($rc, 0, 'vpt-preview exits 0') or diag($err);

    my ($exp, $mac) = $out =~ /^o\.(\d+)\.([A-Za-z0-9_-]{22})\.gift-card\n\z/;
    ok(defined $exp, 'the token is o.EXPIRES.MAC.OFFER') or diag($out);
    ok($exp >= $before + 3600 && $exp <= $after + 3600,
       'it expires in an hour by default');
    is($mac, expected_mac('o', 'gift-card', $exp // 0),
       'its MAC is the HMAC-SHA256 of the preview message');

    ($rc, $out) = run("tools/vpt-preview --secret $tmp/secret "
                      . "--context sess-42 --ttl 60");
    ($exp, $mac) = $out =~ /^c\.(\d+)\.([A-Za-z0-9_-]{22})\.sess-42\n\z/;
    ok(defined $exp && $exp <= time + 60 && $exp >= time + 58,
       '--context and --ttl');
    is($mac, expected_mac('c', 'sess-42', $exp // 0), 'signed too');

    ($rc, $out) = run("tools/vpt-preview --secret $tmp/secret --offer o1 "
                      . "--url 'https://shop.example/done?x=1#top'");
    like($out, qr{^https://shop\.example/done\?x=1&vpt_preview=
                  o\.\d+\.\S{22}\.o1\#top\n\z}x,
         '--url adds the argument before the fragment');

    spit("$tmp/short", "too-short\n");
    ($rc, $out, $err) = run("tools/vpt-preview --secret $tmp/short --offer o");
    is($rc, 1, 'a short secret exits 1');
    like($err, qr{\Q$tmp\E/short: the secret has 9 bytes, at least 32},
         'naming the file and the reason');

    ($rc, $out, $err) =
        run("tools/vpt-preview --secret $tmp/secret --offer 'a b'");
    is($rc, 2, 'an offer id outside the grammar exits 2');
    like($err, qr/not an offer id/, 'and says so');

    ($rc) = run("tools/vpt-preview --secret $tmp/secret --offer o --ttl 0");
    is($rc, 2, '--ttl 0 exits 2');
    ($rc) = run("tools/vpt-preview --secret $tmp/secret --offer o "
                . "--ttl 2592001");
    is($rc, 2, '--ttl beyond 30 days exits 2');
    ($rc) = run("tools/vpt-preview --secret $tmp/secret --offer o "
                . "--context s");
    is($rc, 2, '--offer and --context together exit 2');
    ($rc) = run("tools/vpt-preview --offer o");
    is($rc, 2, 'no --secret exits 2');

    ($rc, $out) = run("tools/vpt-preview --version");
    is($rc, 0, '--version exits 0');
    like($out, qr/^vpt-preview \S+\n\z/, '--version prints name and release');
}

stop_redis($rd);

done_testing();
