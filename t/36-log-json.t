# The decision log ($vpt_log_json, written with escape=none) stays one
# valid JSON object per line whatever a shopper sends or Redis holds:
# hostile User-Agent, Referer, session cookie, URI, accept beacon offer ids
# and contexts (quotes, backslashes, control bytes, bytes that are not
# UTF-8, U+2028, line breaks between tokens, deep nesting).  Every line is
# decoded by a strict parser and the hostile fields come back as sent.

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

my $rd = start_redis();

# contexts as a shop might write them, and worse; the text goes to Redis
# as it is
my %ctx = (
    # escapes of every kind, and line breaks and tabs between tokens
    'esc' => qq({\n\t"user": {"id": "a\\"b\\\\c\\u0001\\u001f\\u2028"},\r\n)
           . qq( "note": "caf\\u00e9 \xe2\x98\x83 \xf0\x9f\x98\x80 </script>",)
           . qq( "nul": "x\\u0000y"\n}),
    # deeper than the log writes as an object: it goes in as a string
    'deep' => '{"user":{"id":"deep"},"n":' . ('[' x 40) . '1'
              . (']' x 40) . '}',
    # not UTF-8: the module refuses it, the log says null
    'latin1' => qq({"user": {"id": "caf\xe9"}}),
);
redis_cmd($rd, 'SET', "vpt:ctx:$_", $ctx{$_}) for keys %ctx;

my $ng = start_nginx(ports => [$port], http => <<"HTTP");
    vpt_catalog $root/t/data/catalog-redis.json;
    vpt_redis 127.0.0.1:$rd->{port};

    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        vpt on;
        vpt_redis_timeout 2s;

        location = /vpt/accept { vpt_beacon; }
    }
HTTP

my $json = JSON::PP->new->utf8;     # strict: no raw control byte, UTF-8
my $sent = 0;

# one request; -> its log line, decoded (undef when it is not valid JSON)
sub logged {
    my ($path, %o) = @_;
    http_get($port, $path, %o);
    $sent++;
    my @l;
    wait_for(sub { @l = access_log_lines($ng); @l >= $sent }, 5);
    my $e = eval { $json->decode($l[-1] // '') };
    diag("not JSON: $@ in: $l[-1]") unless $e;
    return $e // {};
}

# --- the shopper's headers: none of them can break the line ---------------

my $evil = "\"quoted\" \\back\\slash \x01\x1f\x7f \xff\xfe \xc0\xaf "
         . "\xed\xa0\x80 \xe2\x80\xa8 }{\",\"status\":\"x";

{
    my $e = logged('/thanks.html', sid => 'esc',
                   headers => { 'User-Agent' => "Mozilla/5.0 $evil",
                                'Referer' => "https://evil.example/$evil" });
    is($e->{status}, 'injected', 'hostile User-Agent and Referer: injected');
    is($e->{decision} =~ /^[0-9a-f]{16}$/ ? 1 : 0, 1,
       'the decision id as the module made it');
    is($e->{page}, 'confirmation',
       'and the fields after it are the module\'s');
}

{
    # a bot: nothing personal, still one line
    my $e = logged('/thanks.html',
                   headers => { 'User-Agent' => "curl/8 $evil" });
    is($e->{status}, 'bot', 'a hostile bot\'s line: status bot');
}

# --- the session cookie ----------------------------------------------------

for my $sid ('a"b', 'a\\b', "caf\xc3\xa9", "\xff\xfe", '}{"x":"') {
    my $e = logged('/thanks.html', sid => $sid);
    ok(exists $e->{status} && $e->{status} ne '',
       'session ' . JSON::PP->new->ascii->encode([$sid]) . ': a valid line, '
       . "status $e->{status}");
}

# --- the URI: nginx decodes it, the module escapes it ---------------------

{
    my $e = logged('/thanks%22%5c%0a%01%7f%ff%e2%80%a8%c3%a9.html');
    is($e->{uri}, "/thanks\"\\\n\x01\x7f\x{ff}\x{2028}\x{e9}.html",
       'the decoded URI comes back as it was: escapes, a byte that is not '
       . 'UTF-8 as its code point, UTF-8 as itself');
    is($e->{http_status}, 404, 'with its status, a number');

    $e = logged('/thanks.html%f0%9f%98');
    is($e->{uri}, "/thanks.html\x{f0}\x{9f}\x{98}",
       'a UTF-8 sequence cut short: each byte as its code point');

    $e = logged('/thanks%00.html');
    is($e->{http_status}, 400, 'a NUL in the URI: refused by nginx, and '
                               . 'still a valid line');
}

# --- the context from Redis ------------------------------------------------

{
    my $e = logged('/thanks.html', sid => 'esc');
    is_deeply($e->{context}, $json->decode($ctx{esc}),
              'a context of escapes, line breaks and tabs: the same object');
    is($e->{context}{user}{id}, "a\"b\\c\x01\x1f\x{2028}",
       'its hostile string, decoded');

    $e = logged('/thanks.html', sid => 'deep');
    is($e->{context}, $ctx{deep},
       'a context nested 40 deep: the same text, as a string');

    $e = logged('/thanks.html', sid => 'latin1');
    is($e->{context}, undef, 'a context that is not UTF-8: null');
    is($e->{status}, 'bad_context', 'and said so');
}

# --- the accept beacon: the offer and decision ids a shopper sends --------

{
    my $d = logged('/thanks.html', sid => 'esc')->{decision};
    my $e = logged("/vpt/accept?d=$d&o=hello", sid => 'esc');
    is($e->{status}, 'accept', 'a genuine accept is logged as one');
    is($e->{offer}, 'hello', 'with its offer');

    for my $q ("d=$d&o=%22%5c%0a%ff", "d=%22%0a%ff&o=hello",
               "d=$d&o=hello&x=%22%5c%0a%ff", "d=$d&o=" . ('%ff' x 300)) {
        $e = logged("/vpt/accept?$q", sid => 'esc');
        ok(exists $e->{http_status},
           "a hostile beacon ($q): a valid line, HTTP "
           . ($e->{http_status} // 'none'));
    }
}

# --- the whole file --------------------------------------------------------

my @lines = access_log_lines($ng);
is(scalar @lines, $sent, 'one line per request: nothing split a line');
is((grep { !eval { $json->decode($_); 1 } } @lines), 0,
   'every line is valid JSON');
# a tab between a context's tokens is JSON's whitespace, kept as it was
is((grep { /[\x00-\x08\x0a-\x1f]/ } @lines), 0,
   'no raw control byte but a tab in any line');

done_testing();
