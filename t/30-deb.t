#!/usr/bin/perl
#
# The Debian packages as an operator gets them: make deb builds them, apt
# installs them into the distro's own /etc/nginx layout, nginx -t accepts
# the module with a catalog configured from conf.d/, and purging them
# leaves a configuration nginx still accepts.  It changes the machine's
# packages and /etc/nginx, so it needs root and apt, runs one at a time
# (a lock), and never touches a machine where the packages were already
# installed by someone else.

use strict;
use warnings;

use Fcntl qw(:flock);
use FindBin;
use File::Temp qw(tempdir);
use Test::More;

my $root = "$FindBin::Bin/..";
chdir $root or die "$root: $!";

plan skip_all => 'needs root: installs packages and writes /etc/nginx'
    if $> != 0;
# make test-asan runs t/ again with another module: this file would test
# the packages' own build instead, once more
plan skip_all => 'runs with make test, not with another VPT_MODULE'
    if $ENV{VPT_MODULE};
plan skip_all => 'needs apt-get and dpkg (a Debian machine)'
    if system('command -v apt-get >/dev/null && command -v dpkg >/dev/null');

sub installed {
    my ($pkg) = @_;
    my $s = `dpkg-query -W -f='\${Status}' $pkg 2>/dev/null`;
    return $s =~ /ok installed/;
}

for my $pkg (qw(libnginx-mod-http-vpt vpt-tools)) {
    plan skip_all => "$pkg is already installed on this machine: this test "
                   . "would remove it"
        if installed($pkg);
}

# another checkout's make test may run this at the same time
open my $lock, '>', '/run/lock/vpt-deb-test.lock' or die "lock: $!";
flock $lock, LOCK_EX or die "lock: $!";

my $apt = 'DEBIAN_FRONTEND=noninteractive apt-get -y -q '
        . '-o DPkg::Lock::Timeout=300';
my $conf = '/etc/nginx/conf.d/vpt-test-30.conf';
my $catdir = '/etc/nginx/vpt-test-30';
my $vptlog = '/var/log/nginx/vpt-test-30.log';
my $tmp = tempdir(CLEANUP => 1);

# whatever happens, the machine is left as it was found
END {
    local $?;
    unlink $conf, $vptlog;
    system("rm -rf $catdir");
    system("$apt purge libnginx-mod-http-vpt vpt-tools >/dev/null 2>&1")
        if installed('libnginx-mod-http-vpt') || installed('vpt-tools');
}

# --- build -------------------------------------------------------------------

is(system("make -s deb > $tmp/make.log 2>&1"), 0, 'make deb builds')
    or diag(`tail -30 $tmp/make.log`);
my ($mod) = glob 'build/deb/libnginx-mod-http-vpt_*_*.deb';
my ($tools) = glob 'build/deb/vpt-tools_*_*.deb';
ok($mod && $tools, 'both packages are in build/deb/')
    or BAIL_OUT('no packages to install');

my $version = `dpkg-parsechangelog -S Version`;
chomp $version;
like($mod, qr/_\Q$version\E_/, "the module's version is the changelog's "
                              . "($version)");

my $depends = `dpkg-deb -f $mod Depends`;
like($depends, qr/\bnginx-abi-[\d.]+-\d+\b/,
     'the module depends on the exact nginx ABI');
my $abi = `cat /usr/share/nginx/src/debian/libnginx-mod.abisubstvars`;
my ($want) = $abi =~ /^nginx:abi=(\S+)/m;
like($depends, qr/\b\Q$want\E\b/, "... the one nginx-dev names ($want)");

my %files = map { (split ' ', $_)[-1] => 1 } split /\n/, `dpkg-deb -c $mod`;
ok($files{$_}, "the module package has $_")
    for qw(./usr/lib/nginx/modules/ngx_http_vpt_module.so
           ./usr/share/nginx/modules-available/mod-http-vpt.conf
           ./etc/nginx/snippets/vpt-log.conf
           ./usr/share/doc/libnginx-mod-http-vpt/examples/catalog.json
           ./usr/share/doc/libnginx-mod-http-vpt/examples/vpt.conf);
%files = map { (split ' ', $_)[-1] => 1 } split /\n/, `dpkg-deb -c $tools`;
for my $t (qw(vpt-report vpt-join vpt-train vpt-eval vpt-score
              vpt-simulate)) {
    ok($files{"./usr/bin/$t"} && $files{"./usr/share/man/man1/$t.1.gz"},
       "the tools package has $t and its man page");
}

# the distro's hardening: BIND_NOW, relro, fortified calls, stack protector
system("dpkg-deb -x $mod $tmp/x") == 0 or die;
my $so = "$tmp/x/usr/lib/nginx/modules/ngx_http_vpt_module.so";
like(`readelf -d $so`, qr/\(FLAGS\)\s+BIND_NOW|FLAGS_1.*\bNOW\b/,
     'the module is linked with BIND_NOW');
like(`readelf -lW $so`, qr/GNU_RELRO/, '... with relro');
my $syms = `nm -D $so`;
like($syms, qr/__\w+_chk\b/, '... with fortified calls');
like($syms, qr/__stack_chk_fail/, '... with the stack protector');

# --- install -----------------------------------------------------------------

my $out = `$apt install ./$mod ./$tools 2>&1`;
is($?, 0, 'apt-get installs both packages') or diag($out);
ok(installed('libnginx-mod-http-vpt') && installed('vpt-tools'),
   'dpkg lists them as installed');

my $link = '/etc/nginx/modules-enabled/50-mod-http-vpt.conf';
is(readlink($link), '/usr/share/nginx/modules-available/mod-http-vpt.conf',
   'the module is enabled through modules-enabled');
like(`cat $link`, qr{^load_module modules/ngx_http_vpt_module\.so;$}m,
     '... loading it from /usr/lib/nginx/modules');

$out = `nginx -t 2>&1`;
is($?, 0, 'nginx -t accepts the distro layout with the module loaded')
    or diag($out);

# the packaged example, as its header tells an operator to install it
system("mkdir -p $catdir && cp "
       . "/usr/share/doc/libnginx-mod-http-vpt/examples/catalog.json "
       . "$catdir/") == 0 or die;
my $example = `cat /usr/share/doc/libnginx-mod-http-vpt/examples/vpt.conf`;
$example =~ s{/etc/nginx/vpt/}{$catdir/}g;
$example =~ s{/var/log/nginx/vpt\.log}{$vptlog}g;
open my $fh, '>', $conf or die "$conf: $!";
print $fh $example;
close $fh;

$out = `nginx -t 2>&1`;
is($?, 0, 'nginx -t accepts the example conf.d file with a catalog')
    or diag($out);
like(`nginx -T 2>/dev/null`, qr/vpt_catalog\s+\Q$catdir\E/,
     '... which nginx read');

# a broken catalog fails nginx -t naming it: the module really reads it
open $fh, '>', "$catdir/catalog.json" or die;
print $fh '{"offers": [';
close $fh;
$out = `nginx -t 2>&1`;
isnt($?, 0, 'nginx -t refuses a broken catalog');
like($out, qr/\Q$catdir\E\/catalog\.json/, '... naming the file');

$out = `/usr/bin/vpt-report --help 2>&1`;
like($out, qr/Usage: vpt-report/, 'the installed vpt-report runs');

# --- remove ------------------------------------------------------------------

unlink $conf;
$out = `$apt purge libnginx-mod-http-vpt vpt-tools 2>&1`;
is($?, 0, 'apt-get purges both packages') or diag($out);
ok(!-e $link && !-e "$link.removed", 'the modules-enabled link is gone');
ok(!-e '/usr/lib/nginx/modules/ngx_http_vpt_module.so'
   && !-e '/usr/bin/vpt-report', 'the module and the tools are gone');
$out = `nginx -t 2>&1`;
is($?, 0, 'nginx -t still accepts the configuration') or diag($out);

done_testing();
