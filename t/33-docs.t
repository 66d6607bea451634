# The documentation an operator copies from stays true: the README's
# minimal configuration and the directive reference's example pass
# nginx -t with the module, every location that proxies with vpt on asks
# the upstream for an identity body, every directive and variable the
# module defines is in docs/directives.md in nginx.org's form, and the
# tools' options in docs/reference.md are the ones their --help lists.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use VPT::Test;

my $root = repo_root();
my $dir = tmpdir();

system("make -s -C $root module tools >/dev/null") == 0
    or BAIL_OUT('make module tools failed');

my $readme = read_file("$root/README.md");
my $directives = read_file("$root/docs/directives.md");
my $reference = read_file("$root/docs/reference.md");

# an nginx block from a document, made runnable here: our files for the
# operator's paths, a free port, an upstream named shop
sub runnable {
    my ($conf) = @_;
    my $port = free_port();
    $conf =~ s{^\s*load_module[^\n]*\n}{}mg;
    $conf =~ s{/etc/nginx/vpt/catalog\.json}{$root/conf.d/catalog.json}g;
    $conf =~ s{/etc/nginx/vpt/model\.json}{$root/conf.d/model.json}g;
    $conf =~ s{snippets/vpt-log\.conf}{$root/conf.d/vpt-log.conf}g;
    $conf =~ s{/var/log/nginx/}{$dir/}g;
    $conf =~ s/server \{/server {\n        listen 127.0.0.1:$port;/g;
    return "upstream shop { server 127.0.0.1:1; }\n$conf";
}

# nginx_conf already includes vpt-log.conf: drop the second include
sub without_log_format {
    my ($conf) = @_;
    $conf =~ s{^\s*include\s+\S*vpt-log\.conf;[^\n]*\n}{}mg;
    return $conf;
}

my ($minimal) = $readme =~ /## A minimal configuration\s+```nginx\n(.*?)```/s;
ok($minimal, 'the README has a minimal configuration');
my ($http) = $minimal =~ /^http \{\n(.*)^\}/ms;
my ($rc, $out) = nginx_test(http => without_log_format(runnable($http)));
is($rc, 0, 'the README\'s minimal configuration passes nginx -t')
    or diag($out);

for my $loc ($minimal =~ /(location[^{]*\{(?:[^{}]*)\})/g) {
    next unless $loc =~ /\bvpt\s+on;/ && $loc =~ /proxy_pass/;
    my ($name) = $loc =~ /location\s+(?:=\s+)?(\S+)/;
    like($loc, qr/proxy_set_header\s+Accept-Encoding\s+"";/,
         "README: $name asks its upstream for an identity body");
}

my ($example) = $directives =~ /## Example configuration\s+```nginx\n(.*?)```/s;
ok($example, 'docs/directives.md starts with an example');
(my $ex_http = $example) =~ s/(# in the shop's server block\n)(.*)/server {\n$2\n}\n/s;
($rc, $out) = nginx_test(http => without_log_format(runnable($ex_http)));
is($rc, 0, 'the reference\'s example passes nginx -t') or diag($out);

# the guide's server block for Debian's layout, with its conf.d settings
my $guide = read_file("$root/docs/guide.md");
my ($site) = $guide =~ /and the server side, in the shop's site:\s+```nginx\n(.*?)```/s;
ok($site, 'the guide has the shop\'s server block');
$site =~ s/shop_backend/shop/g;
$site =~ s/^\s*server_name[^\n]*\n//m;
$site =~ s/^\s*# \.\.\.\n//m;
($rc, $out) = nginx_test(http => runnable(
    "vpt_catalog /etc/nginx/vpt/catalog.json;\nvpt_redis 127.0.0.1:6379;\n"
    . $site));
is($rc, 0, 'the guide\'s server block passes nginx -t') or diag($out);

# --- the directive reference -------------------------------------------------

my %section;
for my $s (split /^### /m, $directives) {
    my ($name) = $s =~ /^(\S+)\n/ or next;
    $section{$name} = $s;
}
my %index = map { $_ => 1 } $directives =~ /^- \[(vpt\w*)\]\(#/mg;
my %vars = map { $_ => 1 } $directives =~ /^\| `\$(vpt_\w+)` \|/mg;

for my $name (sort keys %section) {
    like($section{$name}, qr/^\s+Syntax:\s+\Q$name\E\b.*\n\s+Default:.*\n\s+Context:\s+\S/m,
         "$name: Syntax, Default and Context");
    ok($index{$name}, "$name: in the index at the top");
}

# every name the module registers, as a directive or a variable
my @c = (glob("$root/ngx_vpt_module.c"), glob("$root/src/ngx_*.c"));
my %defined;
for my $f (@c) {
    $defined{$_} = 1 for read_file($f) =~ /ngx_string\("(vpt\w*)"\)/g;
}
ok(keys %defined > 10, 'the module\'s names are found in its source');
for my $name (sort keys %defined) {
    ok($section{$name} || $vars{$name},
       "$name is in docs/directives.md");
}

# --- the tools' options ------------------------------------------------------

my ($block) = $reference =~ /## Logs, reports and the learning loop\s+```sh\n(.*?)```/s;
my %doc;
my $tool;
for my $line (split /\n/, $block // '') {
    if ($line =~ m{^tools/(vpt-[a-z]+)}) {
        $tool = $1;
    } elsif ($line !~ /^\s/) {
        $tool = undef;
        next;
    }
    next unless $tool;
    $doc{$tool}{$_} = 1 for $line =~ /(--[a-z][a-z-]*)/g;
}

for my $bin (glob "$root/build/tools/vpt-*") {
    (my $t = $bin) =~ s{.*/}{};
    next if $t =~ /\./;
    my $help = `$bin --help 2>&1`;
    my %opt = map { $_ => 1 } $help =~ /(--[a-z][a-z-]*)/g;
    delete @opt{qw(--help --version)};
    my @undoc = grep { !$doc{$t}{$_} } sort keys %opt;
    my @gone = grep { !$opt{$_} } sort keys %{ $doc{$t} // {} };
    is("@undoc", '', "$t: every option of --help is in docs/reference.md");
    is("@gone", '', "$t: docs/reference.md lists no option it lacks");
}

done_testing();
