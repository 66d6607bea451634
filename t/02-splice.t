# The body filter: the offer is spliced into the HTML stream wherever the
# buffer boundaries fall, once, with the right headers; everything it must
# not touch passes byte-identical.  Static files and proxied upstreams
# (chunked and not, one byte per buffer), HTTP/1.0, gzip and gunzip.  An
# anchor in a comment, script, title or attribute value is passed over.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use IO::Compress::Gzip qw(gzip $GzipError);
use IO::Uncompress::Gunzip qw(gunzip $GunzipError);
use Digest::MD5 qw(md5_hex);
use VPT::Test;

my $root = repo_root();
my $dir = tmpdir();
my $port = free_port();

my $page = "<!DOCTYPE html>\n<html><head><title>Thanks</title></head>\n"
         . "<body><p>Order A-1 confirmed. </bod </b> x<</BODY>"
         . "<p>after the anchor</p></body></html>\n";
my $noanchor = "<html><body><p>no anchor here</p></bo";

# "</body>" in a title, a script string, a comment and attribute values
# before the real one: only that one is markup
my $markup = "<!DOCTYPE html>\n<html><head><title>a </body> b</title>\n"
           . "<script>var end = \"</body>\"; if (a <b) {}</script>\n"
           . "<style>/* </body> */</style></head>\n"
           . "<body><!-- the page ends at </body> -->\n"
           . "<p title=\"</body>\" data-x='</BODY>'>text</p>\n"
           . "<a href=/x</body>y>link</a>\n"
           . "</body></html>\n";

my %static = (
    'page.html'      => $page,
    'noanchor.html'  => $noanchor,
    'twice.html'     => "<html><body>a</body>b</body>c</BODY></html>",
    'page.json'      => '{"html": "</body>"}',
    'markup.html'    => $markup,
);
mkdir "$dir/www";
write_file("$dir/www/$_", $static{$_}) for keys %static;

# a 50 MB page: streams through, the anchor at its very end
{
    open my $fh, '>', "$dir/www/big.html" or die;
    my $row = ("<p>" . ("x" x 1017) . "</p>\n");     # 1 KB
    print $fh "<html><body>\n";
    print $fh $row for 1 .. 50 * 1024;
    print $fh "</body></html>\n";
    close $fh;
}

my $gz;
gzip(\$page => \$gz) or die $GzipError;

my $origin = start_origin(sub {
    my ($method, $path) = @_;
    my ($route, $query) = split /\?/, $path, 2;
    my %q = map { split /=/, $_, 2 } split /&/, $query // '';
    my @html = ('Content-Type', 'text/html; charset=utf-8');

    if ($route eq '/split') {
        # two pieces, cut at byte $q{at}
        return { headers => \@html, body => $page,
                 chunks => [ $q{at}, length($page) - $q{at} ],
                 delay => 0.005, chunked => $q{chunked} // 0 };
    }
    if ($route eq '/bytes') {
        return { headers => \@html, body => $page, chunk => 1,
                 delay => 0.0005, chunked => $q{chunked} // 0 };
    }
    if ($route eq '/markup-bytes') {
        return { headers => \@html, body => $markup, chunk => 1,
                 delay => 0.0005, chunked => $q{chunked} // 0 };
    }
    if ($route eq '/gzip') {
        return { headers => [@html, 'Content-Encoding', 'gzip'],
                 body => $gz };
    }
    if ($route eq '/nostore') {
        return { headers => [@html, 'Cache-Control', 'no-store'],
                 body => $page };
    }
    if ($route eq '/public') {
        return { headers => [@html, 'Cache-Control', 'public, max-age=60',
                             'ETag', '"abc"',
                             'Last-Modified', 'Tue, 01 Sep 2026 10:00:00 GMT'],
                 body => $page };
    }
    if ($route eq '/missing') {
        return { status => 404, headers => \@html, body => $page };
    }
    return { headers => \@html, body => $page };
});
my $o = $origin->{port};

my $ng = start_nginx(ports => [$port], http => <<"HTTP");
    vpt_catalog $root/t/data/catalog-min.json;
    sendfile on;

    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        vpt on;
        proxy_read_timeout 5s;
        send_timeout 5s;

        location /off/ { vpt off; alias $dir/www/; }
        location /after/ { vpt_anchor "</BODY>" after; alias $dir/www/; }
        location /replace/ { vpt_anchor "</body>" replace; alias $dir/www/; }
        location /regex/ {
            vpt_anchor "~<p>after\\s+the";
            proxy_pass http://127.0.0.1:$o/;
            proxy_buffering off;
        }
        location /cart/ { vpt_page cart; alias $dir/www/; }
        location /tiny/ {
            # the file read one byte per buffer
            alias $dir/www/;
            sendfile off;
            output_buffers 1 1;
        }
        location /up/ { proxy_pass http://127.0.0.1:$o/; }
        location /unbuffered/ {
            proxy_pass http://127.0.0.1:$o/;
            proxy_buffering off;
        }
        location /gunzip/ { gunzip on; proxy_pass http://127.0.0.1:$o/; }
        location /gzipped/ {
            gzip on; gzip_min_length 1;
            alias $dir/www/;
        }
        location /up-off/ { vpt off; proxy_pass http://127.0.0.1:$o/; }
    }
HTTP

# every request names a shopper: without a session there is no offer
sub get {
    my ($path, %o) = @_;
    return http_get($port, $path, sid => 'shopper-1', %o);
}

sub log_for {
    my ($uri) = @_;
    my @l = grep { index($_, "\"uri\":\"$uri\"") >= 0 } access_log_lines($ng);
    return @l ? decode_json($l[-1]) : {};
}

# the body we expect: the offer block before (or after, or instead of) the
# first case-insensitive "</body>"
sub offer_block {
    my ($offer, $id) = @_;
    my %markup = (
        'confirmation-offer' => qq{<div class="min-confirmation"><a }
            . qq{class="vpt-accept" href="/vpt/accept?d=$id&amp;}
            . qq{o=confirmation-offer">Join</a></div>},
        'cart-offer' => qq{<div class="min-cart"><a class="vpt-accept" }
            . qq{href="/vpt/accept?d=$id&amp;o=cart-offer">Add</a></div>},
    );
    return qq{<div class="vpt-offer" data-vpt-decision="$id" }
         . qq{data-vpt-offer="$offer">$markup{$offer}</div>};
}

sub expect {
    my ($body, $id, %o) = @_;
    my $offer = $o{offer} // 'confirmation-offer';
    my $re = $o{anchor} // qr{</body>}i;
    $body =~ $re or return $body;
    my ($s, $e) = ($-[0], $+[0]);
    my $block = offer_block($offer, $id);
    my $place = $o{place} // 'before';
    return substr($body, 0, $s) . $block . substr($body, $s)
        if $place eq 'before';
    return substr($body, 0, $e) . $block . substr($body, $e)
        if $place eq 'after';
    return substr($body, 0, $s) . $block . substr($body, $e);
}

sub decision_of {
    my ($body) = @_;
    return $body =~ /data-vpt-decision="([0-9a-f]{16})"/ ? $1 : 'none';
}

sub check_injected {
    my ($r, $name, %o) = @_;
    my $id = decision_of($r->{body});
    is($r->{status}, 200, "$name: 200");
    is($r->{body}, expect($o{origin} // $page, $id, %o),
       "$name: the offer is spliced in once, nothing lost");
}

# --- static files --------------------------------------------------------

{
    my $r = get('/page.html');
    check_injected($r, 'static page');
    ok(!exists $r->{headers}{'content-length'}, 'Content-Length removed');
    ok(!exists $r->{headers}{'etag'}, 'ETag cleared');
    ok(!exists $r->{headers}{'last-modified'}, 'Last-Modified cleared');
    is($r->{headers}{'cache-control'}, 'private',
       'personalised page is Cache-Control: private');
    my $l = log_for('/page.html');
    is($l->{status}, 'injected', '$vpt_status is injected');
    is($l->{offer}, 'confirmation-offer', '$vpt_offer names the offer');
    is($l->{decision}, decision_of($r->{body}),
       '$vpt_decision matches data-vpt-decision');
}

{
    my $r = get('/off/page.html');
    is($r->{body}, $page, 'vpt off: byte-identical');
    is($r->{headers}{'content-length'}, length $page,
       'vpt off: Content-Length kept');
    ok(exists $r->{headers}{'etag'}, 'vpt off: ETag kept');
    is(log_for('/off/page.html')->{status}, 'off', '$vpt_status is off');
}

{
    my $r = get('/noanchor.html');
    is($r->{body}, $noanchor,
       'no anchor (body ends in a partial one): byte-identical');
    is(log_for('/noanchor.html')->{status}, 'no_anchor',
       '$vpt_status is no_anchor');
}

{
    my $r = get('/twice.html');
    my $id = decision_of($r->{body});
    is($r->{body}, expect($static{'twice.html'}, $id),
       'only the first anchor gets the offer');
    my $n = () = $r->{body} =~ /class="vpt-offer"/g;
    is($n, 1, 'markup inserted exactly once');
}

check_injected(get('/after/page.html'), 'anchor "after"',
               place => 'after');
check_injected(get('/replace/page.html'), 'anchor "replace"',
               place => 'replace');
check_injected(get('/cart/page.html'), 'cart page',
               offer => 'cart-offer');

{
    my $r = get('/page.html', version => '1.0');
    check_injected($r, 'HTTP/1.0 client');
    ok(!exists $r->{headers}{'transfer-encoding'},
       'HTTP/1.0: no chunked encoding');
}

{
    my $r = get('/page.html', method => 'HEAD');
    is($r->{body}, '', 'HEAD: no body');
    is(log_for('/page.html')->{status}, 'skipped', 'HEAD is skipped');
}

{
    my $r = get('/page.json');
    is($r->{body}, $static{'page.json'}, 'non-HTML: byte-identical');
    is(log_for('/page.json')->{status}, 'skipped', 'non-HTML is skipped');
}

{
    my $r = get('/nothing-here.html');
    is($r->{status}, 404, '404 stays 404');
    unlike($r->{body}, qr/vpt-offer/, '404: no offer');
    is(log_for('/nothing-here.html')->{status}, 'skipped', '404 skipped');
}

{
    my $r = get('/gzipped/page.html',
                     headers => { 'Accept-Encoding' => 'gzip' });
    is($r->{headers}{'content-encoding'}, 'gzip',
       'gzip on: the client still gets a compressed page');
    my $plain;
    gunzip(\$r->{body} => \$plain) or die $GunzipError;
    is($plain, expect($page, decision_of($plain)),
       'gzip on: the compressed page carries the offer');
}

# 50 MB streams through with a bounded worker
{
    my ($worker) = worker_pids($ng);
    my $before = (read_file("/proc/$worker/status") =~ /VmHWM:\s+(\d+)/)[0];
    my $r = get('/big.html', timeout => 60);
    my $big = read_file("$dir/www/big.html");
    my $id = decision_of($r->{body});
    is(length $r->{body}, length($big) + length(offer_block(
        'confirmation-offer', $id)), '50 MB page: complete, plus the offer');
    is(md5_hex(expect($big, $id)), md5_hex($r->{body}),
       '50 MB page: the offer before </body>, nothing else changed');
    my $after = (read_file("/proc/$worker/status") =~ /VmHWM:\s+(\d+)/)[0];
    cmp_ok($after - $before, '<', 8 * 1024,
           "50 MB page: worker peak memory grew by less than 8 MB "
           . "(grew " . ($after - $before) . " kB)");
}

# --- proxied upstreams -----------------------------------------------------

{
    my $ok = 0;
    my $n = length $page;
    for my $at (1 .. $n - 1) {
        for my $chunked (0, 1) {
            my $r = get("/unbuffered/split?at=$at&chunked=$chunked");
            my $want = expect($page, decision_of($r->{body}));
            if ($r->{body} eq $want) {
                $ok++;
            } else {
                diag "split at $at (chunked $chunked): $r->{body}";
            }
        }
    }
    is($ok, 2 * ($n - 1),
       'anchor split across every buffer boundary (chunked and not)');
}

for my $chunked (0, 1) {
    check_injected(get("/unbuffered/bytes?chunked=$chunked"),
                   "upstream sending one byte per buffer (chunked $chunked)");
    check_injected(get("/up/bytes?chunked=$chunked"),
                   "buffered proxy, one byte at a time (chunked $chunked)");
}

{
    my $ok = 0;
    my $n = length $page;
    my $re = qr{<p>after\s+the}i;
    for my $at (1 .. $n - 1) {
        my $r = get("/regex/split?at=$at");
        $ok++ if $r->{body} eq expect($page, decision_of($r->{body}),
                                      anchor => $re);
    }
    is($ok, $n - 1, 'regex anchor split across every buffer boundary');
    check_injected(get('/regex/bytes'),
                   'regex anchor, one byte per buffer', anchor => $re);
}

# --- anchors that are not anchors -------------------------------------------

# the offer before the last "</body>" of $markup, everything else as it was
sub expect_markup {
    my ($body) = @_;
    my $at = rindex $markup, '</body>';
    return substr($markup, 0, $at)
         . offer_block('confirmation-offer', decision_of($body))
         . substr($markup, $at);
}

for my $path ('/markup.html', '/tiny/markup.html',
              '/unbuffered/markup-bytes?chunked=0',
              '/unbuffered/markup-bytes?chunked=1',
              '/up/markup-bytes?chunked=1')
{
    my $r = get($path);
    is($r->{status}, 200, "$path: 200");
    is($r->{body}, expect_markup($r->{body}),
       "$path: the offer before the real </body>, not the ones in a title, "
       . "script, comment or attribute; the rest byte-identical");
}

is(log_for('/tiny/markup.html')->{status}, 'injected',
   'a file read one byte per buffer: injected');

{
    my $r = get('/up/gzip');
    is($r->{body}, $gz, 'gzip-encoded upstream: byte-identical');
    is($r->{headers}{'content-encoding'}, 'gzip', 'and still gzip');
    is(log_for('/up/gzip')->{status}, 'skipped', 'encoded body is skipped');
}

check_injected(get('/gunzip/gzip'),
               'gunzip on: an upstream\'s gzip is undone before us');

{
    my $r = get('/up/nostore');
    is($r->{headers}{'cache-control'}, 'no-store',
       'Cache-Control: no-store is kept');
    $r = get('/up/public');
    is($r->{headers}{'cache-control'}, 'private, max-age=60',
       'Cache-Control: public is made private, other directives kept');
    ok(!exists $r->{headers}{'etag'}, 'upstream ETag cleared');
    ok(!exists $r->{headers}{'last-modified'}, 'upstream Last-Modified cleared');
    $r = get('/up-off/public');
    is($r->{headers}{'cache-control'}, 'public, max-age=60',
       'vpt off: upstream headers untouched');
    is($r->{body}, $page, 'vpt off: upstream body byte-identical');
}

{
    my $r = get('/up/missing');
    is($r->{status}, 404, 'upstream 404 passes');
    is($r->{body}, $page, 'upstream 404: byte-identical');
}

unlike(error_log($ng), qr/\[(alert|crit|emerg)\]|zero size buf/,
       'no alerts in the error log');

done_testing();
