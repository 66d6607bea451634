# Markup safety: an offer whose markup would break pages or run a shopper's
# value as script fails nginx -t, naming the file, the offer, the field and
# why; a value in a URL or a script string renders inert on a real page.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use VPT::Test;

my $root = repo_root();

# the reproductions of issue 17, each its own catalog
my @refused = (
    [ 'comment', 'pixel-note',
      qr/leaves a comment open \("<!-- tracking pixel below" at byte 29\)/,
      'an offer ending in "<!-- tracking pixel below"' ],
    [ 'script-open', 'join-script', qr/leaves <script> open/,
      'an offer that leaves <script> open' ],
    [ 'textarea-open', 'feedback-box', qr/leaves <textarea> open/,
      'an offer that leaves <textarea> open' ],
    [ 'script-code', 'script-user',
      qr/"\{\{user\.id\}\}" at byte \d+ is in a <script> outside a string/,
      'a placeholder in a script, outside a string' ],
    [ 'onclick', 'track-click',
      qr/"\{\{user\.id\}\}" at byte \d+ is in the event handler attribute "onclick"/,
      'a placeholder in an onclick attribute' ],
    [ 'style', 'styled',
      qr/"\{\{features\.color\}\}" at byte \d+ is in the attribute "style"/,
      'a placeholder in a style attribute' ],
    [ 'js-url', 'js-link',
      qr/"\{\{user\.id\}\}" at byte \d+ is in a "javascript:" URL/,
      'a placeholder in a javascript: URL' ],
);

for my $case (@refused) {
    my ($file, $id, $why, $what) = @$case;
    my ($rc, $out) = nginx_test(
        http => "vpt_catalog $root/t/data/catalog-unsafe-$file.json;");
    isnt($rc, 0, "$what fails nginx -t");
    like($out, qr/catalog "[^"]*catalog-unsafe-\Q$file\E\.json": offer #1 \("\Q$id\E"\): "markup": /,
         "$what: the message names the file, the offer and the field")
        or diag $out;
    like($out, $why, "$what: and says why") or diag $out;
}

# the same markup, fixed, passes
{
    my ($rc, $out) = nginx_test(
        http => "vpt_catalog $root/t/data/catalog-markup-safe.json;");
    is($rc, 0, 'placeholders in a URL, a script string and text pass nginx -t')
        or diag $out;
}

# on a real page, with Redis
my $dir = tmpdir();
my $port = free_port();
mkdir "$dir/www";
write_file("$dir/www/thanks.html",
           "<html><body><h1>Thanks</h1><footer>shop footer</footer>"
           . "</body></html>\n");

my $rd = start_redis();
start_nginx(ports => [$port], http => <<"HTTP");
    vpt_catalog $root/t/data/catalog-markup-safe.json;
    vpt_redis 127.0.0.1:$rd->{port};

    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        vpt on;
        vpt_redis_timeout 500ms;
    }
HTTP

sub page_for {
    my ($sid, $ctx) = @_;
    redis_cmd($rd, 'SET', "vpt:ctx:$sid", encode_json($ctx));
    my $r = http_get($port, '/thanks.html', sid => $sid);
    like($r->{body}, qr/data-vpt-offer="safe-link"/, "$sid: the offer is in")
        or diag $r->{body};
    like($r->{body},
         qr{</footer><div class="vpt-offer".*</section></div></body></html>\n\z}s,
         "$sid: the page ends as it did, after the offer");
    return $r->{body};
}

{
    my $b = page_for('evil', {
        user => { id => "u-1\\" },
        intent => "a&b=\"><script>alert(2)</script>",
        features => { link => 'javascript:alert(document.cookie)' } });

    like($b, qr/<a class="vpt-link" href="">See it<\/a>/,
         'a javascript: link from the context renders as an empty href');
    unlike($b, qr/javascript:alert/, 'no javascript: URL reaches the page');
    like($b,
         qr{href="/search\?q=a%26b%3D%22%3E%3Cscript%3Ealert%282%29%3C%2Fscript%3E">},
         'a value later in a URL is percent-encoded whole');
    like($b, qr/window\.vptUser = 'u-1\\\\';/,
         "a trailing backslash in a script string is escaped ('u-1\\\\')");
    like($b, qr/window\.vptAccept = '\/vpt\/accept\?d=[0-9a-f]+\\u0026o=safe-link';/,
         'the beacon in a script string joins with \u0026, not &amp;');
    like($b, qr{href="/vpt/accept\?d=[0-9a-f]+&amp;o=safe-link"},
         'the beacon in an attribute keeps &amp;');
    unlike($b, qr/<script>alert/, 'no context value opens a script');
}

{
    my $b = page_for('fine', {
        user => { id => "u-2" },
        features => { link => 'https://shop.example/sale?a=1&b=2' } });
    like($b, qr{href="https://shop\.example/sale\?a=1&amp;b=2">See it},
         'an https link from the context is kept');
    like($b, qr/window\.vptUser = 'u-2';/, 'a plain id is as it is');
}

done_testing();
