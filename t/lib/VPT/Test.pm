package VPT::Test;

# The integration tests' harness: the real distro nginx loading our built
# module, a real redis-server and real upstreams, all on loopback ports of
# their own, in a temporary prefix that is removed at exit.

use strict;
use warnings;

use Exporter 'import';
use File::Temp qw(tempdir);
use File::Basename qw(dirname);
use File::Spec;
use IO::Socket::INET;
use IO::Socket::UNIX;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);
use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64);
use JSON::PP ();

our @EXPORT = qw(repo_root module_path free_port tmpdir
                 nginx_conf nginx_test start_nginx stop_nginx reload_nginx
                 start_redis stop_redis redis_cmd redis_pipe
                 start_origin http_request http_get
                 access_log_lines last_logged error_log wait_for
                 worker_pids write_file read_file sign_accept
                 $BROWSER);

# what http_get() sends as User-Agent: a desktop browser (the module offers
# nothing to a request without one, as to a bot)
our $BROWSER = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 '
             . 'Firefox/128.0';

my $ROOT = abs_path(dirname(__FILE__) . '/../../..');
my @CHILDREN;

sub repo_root { $ROOT }

# An accept link's token ("s=") as src/vpt_sign.h defines it, computed here
# independently: sign_accept(SECRET, D, O, X, EXPIRES); X may be ''.
sub sign_accept {
    my ($secret, $d, $o, $x, $expires) = @_;
    $x //= '';
    $expires //= time() + 3600;
    $expires = int($expires);
    my $msg = "vpt-accept-v1\0" . chr(length $d) . $d . chr(length $o) . $o
              . chr(length $x) . $x . pack('q>', $expires);
    my $b64 = encode_base64(substr(hmac_sha256($msg, $secret), 0, 16), '');
    $b64 =~ tr{+/}{-_};
    $b64 =~ s/=+$//;
    return "$expires.$b64";
}

# The module and the nginx command come from the environment when set (make
# test-asan: VPT_MODULE=build-asan/ngx_http_vpt_module.so and
# VPT_NGINX=t/asan/nginx, a wrapper that preloads the sanitizer runtimes);
# relative paths are taken from the repository's root.
sub module_path {
    return $ENV{VPT_MODULE} ? File::Spec->rel2abs($ENV{VPT_MODULE}, $ROOT)
                            : "$ROOT/build/ngx_http_vpt_module.so";
}

sub nginx_bin {
    return $ENV{VPT_NGINX} ? File::Spec->rel2abs($ENV{VPT_NGINX}, $ROOT)
                           : '/usr/sbin/nginx';
}

my $TMP;

sub tmpdir {
    $TMP //= tempdir('vpt-test-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    chmod 0755, $TMP;
    return $TMP;
}

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp')
        or die "no free port: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

sub write_file {
    my ($path, $data) = @_;
    open my $fh, '>', $path or die "$path: $!";
    binmode $fh;
    print $fh $data;
    close $fh;
}

sub read_file {
    my ($path) = @_;
    open my $fh, '<', $path or return '';
    binmode $fh;
    local $/;
    my $d = <$fh>;
    close $fh;
    return $d // '';
}

sub wait_for {
    my ($cond, $timeout) = @_;
    my $until = time + ($timeout // 5);
    while (time < $until) {
        return 1 if $cond->();
        sleep 0.02;
    }
    return 0;
}

sub _port_open {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 1);
    return 0 unless $s;
    close $s;
    return 1;
}

# --- nginx -------------------------------------------------------------------

# nginx_conf(http => '...', main => '...') returns a full nginx.conf text.
sub nginx_conf {
    my (%o) = @_;
    my $dir = $o{dir} // tmpdir();
    my $module = module_path();
    my $user = $> == 0 ? "user root;\n" : '';
    my $workers = $o{workers} // 1;
    my $log = $o{log_format} // 'vpt';
    my $main = $o{main} // '';
    $o{loglevel} //= 'info';
    my $http = $o{http} // '';

    return <<"CONF";
load_module $module;
${user}worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/error.log $o{loglevel};
$main
events { worker_connections 1024; }

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;

    include $ROOT/conf.d/vpt-log.conf;
    access_log $dir/access.log $log;

$http
}
CONF
}

# nginx -t on a configuration: (exit code, output)
sub nginx_test {
    my (%o) = @_;
    my $dir = tempdir('vpt-conf-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
    chmod 0755, $dir;
    my $conf = "$dir/nginx.conf";
    write_file($conf, nginx_conf(%o, dir => $dir));
    my $nginx = nginx_bin();
    my $out = `$nginx -t -p $dir -c $conf -e $dir/error.log 2>&1`;
    return ($? >> 8, $out);
}

# start_nginx(http => '...') -> { dir, port?, pid }
sub start_nginx {
    my (%o) = @_;
    my $dir = tempdir('vpt-nginx-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
    chmod 0755, $dir;
    my $conf = "$dir/nginx.conf";
    write_file($conf, nginx_conf(%o, dir => $dir));

    my $nginx = nginx_bin();
    my $out = `$nginx -p $dir -c $conf -e $dir/error.log 2>&1`;
    if ($? != 0) {
        die "nginx failed to start: $out\n" . read_file("$dir/error.log");
    }

    my $ng = { dir => $dir, conf => $conf };
    wait_for(sub { -s "$dir/nginx.pid" }, 5)
        or die "nginx wrote no pid: " . read_file("$dir/error.log");
    $ng->{pid} = read_file("$dir/nginx.pid") + 0;

    for my $port (@{ $o{ports} // [] }) {
        wait_for(sub { _port_open($port) }, 5)
            or die "nginx is not listening on $port: "
                   . read_file("$dir/error.log");
    }

    push @CHILDREN, { nginx => $ng };
    return $ng;
}

sub reload_nginx {
    my ($ng, %o) = @_;
    write_file($ng->{conf}, nginx_conf(%o, dir => $ng->{dir})) if %o;
    my @old = worker_pids($ng);
    kill 'HUP', $ng->{pid};
    # the old workers leave once the new ones are up
    wait_for(sub {
        my %now = map { $_ => 1 } worker_pids($ng);
        !grep { $now{$_} } @old;
    }, 10);
}

sub stop_nginx {
    my ($ng) = @_;
    return unless $ng && $ng->{pid};
    kill 'QUIT', $ng->{pid};
    wait_for(sub { !kill 0, $ng->{pid} }, 10);
    kill 'KILL', $ng->{pid} if kill 0, $ng->{pid};
    $ng->{pid} = 0;
    # VPT_LOG_DIR keeps a copy of each error log (make test-asan scans them
    # for worker crashes after the temporary prefixes are gone)
    if (my $keep = $ENV{VPT_LOG_DIR}) {
        (my $name = $0) =~ s{.*/}{};
        my $n = 0;
        $n++ while -e "$keep/$name.$$.$n.error.log";
        write_file("$keep/$name.$$.$n.error.log", error_log($ng));
    }
}

sub worker_pids {
    my ($ng) = @_;
    my @pids;
    for my $d (glob '/proc/[0-9]*') {
        my $status = read_file("$d/status");
        next unless $status =~ /^PPid:\s+(\d+)/m && $1 == $ng->{pid};
        push @pids, (split m{/}, $d)[-1];
    }
    return @pids;
}

# complete lines only: a reader can see a line nginx is still writing (a
# write() to a file is not atomic for a concurrent read()), and that part
# is not the line
sub access_log_lines {
    my ($ng) = @_;
    my $text = read_file("$ng->{dir}/access.log");
    $text =~ s/[^\n]*\z//;
    my @lines = split /\n/, $text;
    return @lines;
}

# the access log's last line, decoded ({} when there is none yet)
sub last_logged {
    my ($ng) = @_;
    my @l = access_log_lines($ng);
    return @l ? JSON::PP::decode_json($l[-1]) : {};
}

sub error_log {
    my ($ng) = @_;
    return read_file("$ng->{dir}/error.log");
}

# --- redis -------------------------------------------------------------------

# start_redis(port => P, unix => PATH, password => PW, args => [...],
#             sentinel => 1, conf => TEXT)
#     -> { port, unix, pid, dir, password }
# One redis-server in a directory of its own, stopped at exit; a sentinel
# is given a configuration file (it rewrites it), conf its lines.
sub start_redis {
    my (%o) = @_;
    my $port = $o{port} // free_port();
    my $dir = tempdir('vpt-redis-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
    my @args;

    if ($o{sentinel}) {
        write_file("$dir/sentinel.conf",
                   "port $port\nbind 127.0.0.1\ndir $dir\n"
                   . "logfile $dir/redis.log\n" . ($o{conf} // ''));
        @args = ('redis-server', "$dir/sentinel.conf", '--sentinel');
    } else {
        @args = ('redis-server', '--port', $port, '--bind', '127.0.0.1',
                 '--save', '', '--appendonly', 'no', '--dir', $dir,
                 '--logfile', "$dir/redis.log",
                 '--enable-debug-command', 'yes');
        push @args, '--unixsocket', $o{unix}, '--unixsocketperm', '777'
            if $o{unix};
        push @args, '--requirepass', $o{password}, '--masterauth',
                    $o{password}
            if defined $o{password};
        push @args, @{ $o{args} // [] };
    }

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec @args or POSIX::_exit(127);
    }

    my $rd = { port => $port, unix => $o{unix}, pid => $pid, dir => $dir,
               password => $o{password} };
    push @CHILDREN, { redis => $rd };
    wait_for(sub {
        my ($r) = eval { redis_pipe($rd, ['PING']) };
        defined $r && !ref $r && $r eq 'PONG';
    }, 10) or die "redis on $port did not start: "
                  . read_file("$dir/redis.log");
    return $rd;
}

sub stop_redis {
    my ($rd, $sig) = @_;
    return unless $rd && $rd->{pid};
    kill $sig // 'TERM', $rd->{pid};
    waitpid $rd->{pid}, 0;
    $rd->{pid} = 0;
}

# A small RESP client: each call a fresh connection, with AUTH first when
# the node has a password (and user).  An error reply is { error => TEXT }.
sub _resp_read {
    my ($s) = @_;
    my $line = <$s>;
    die "redis: connection closed\n" unless defined $line;
    $line =~ s/\r\n$//;
    my ($t, $rest) = (substr($line, 0, 1), substr($line, 1));
    return $rest if $t eq '+';
    return { error => $rest } if $t eq '-';
    return $rest + 0 if $t eq ':';
    if ($t eq '$') {
        return undef if $rest < 0;
        my $buf = '';
        while (length $buf < $rest + 2) {
            my $n = read $s, $buf, $rest + 2 - length $buf, length $buf;
            die "redis: short read\n" unless $n;
        }
        return substr $buf, 0, $rest;
    }
    if ($t eq '*') {
        return undef if $rest < 0;
        return [ map { _resp_read($s) } 1 .. $rest ];
    }
    die "redis: bad reply '$line'\n";
}

sub _resp_encode {
    my (@args) = @_;
    my $req = '*' . @args . "\r\n";
    $req .= '$' . length($_) . "\r\n$_\r\n" for @args;
    return $req;
}

# redis_pipe($node, [cmd...], [cmd...]) -> replies, pipelined on one
# connection
sub redis_pipe {
    my ($rd, @cmds) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $rd->{port}, Proto => 'tcp',
                                  Timeout => 5)
        or die "redis $rd->{port}: connect: $!\n";
    binmode $s;
    if (defined $rd->{password}) {
        unshift @cmds, ['AUTH', (defined $rd->{user} ? $rd->{user} : ()),
                        $rd->{password}];
    }
    print $s join '', map { _resp_encode(@$_) } @cmds;
    my @r = map { _resp_read($s) } @cmds;
    close $s;
    if (defined $rd->{password}) {
        my $auth = shift @r;
        die "redis $rd->{port}: AUTH: $auth->{error}\n" if ref $auth eq 'HASH';
    }
    return @r;
}

# one command; an error reply dies with its text
sub redis_cmd {
    my ($rd, @args) = @_;
    my ($r) = redis_pipe($rd, [@args]);
    die "redis: $r->{error}\n" if ref $r eq 'HASH';
    return $r;
}

# --- the origin: a real HTTP upstream ---------------------------------------

# start_origin(sub { my ($method, $path, $headers) = @_; return {...} })
# The handler returns { status, headers => [k, v, ...], body,
# chunks => [sizes] or chunk => N, delay => seconds, chunked => 0|1 }.
# Bodies are written in the given pieces with a pause between them, so
# nginx sees them as separate reads.
sub start_origin {
    my ($handler) = @_;
    my $port = free_port();
    my $srv = IO::Socket::INET->new(Listen => 128, LocalAddr => '127.0.0.1',
                                    LocalPort => $port, Proto => 'tcp',
                                    ReuseAddr => 1)
        or die "origin: $!";

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $SIG{CHLD} = 'IGNORE';
        while (my $c = $srv->accept) {
            my $kid = fork;
            next if !defined $kid;
            if ($kid) { close $c; next; }
            _origin_serve($c, $handler);
            POSIX::_exit(0);
        }
        POSIX::_exit(0);
    }
    close $srv;
    push @CHILDREN, { origin => $pid };
    return { port => $port, pid => $pid };
}

sub _origin_serve {
    my ($c, $handler) = @_;
    binmode $c;
    $c->autoflush(1);
    my $req = <$c>;
    return unless defined $req;
    my ($method, $path) = split / /, $req;
    my %h;
    while (my $l = <$c>) {
        last if $l =~ /^\r?\n$/;
        $h{lc $1} = $2 if $l =~ /^([^:]+):\s*(.*?)\r?\n$/;
    }
    my $r = $handler->($method, $path, \%h);
    my $body = $r->{body} // '';
    my $chunked = $r->{chunked} // 0;
    my @hdr = @{ $r->{headers} // [] };
    my $head = "HTTP/1.1 " . ($r->{status} // 200) . " X\r\n";
    $head .= "Connection: close\r\n";
    for (my $i = 0; $i < @hdr; $i += 2) {
        $head .= "$hdr[$i]: $hdr[$i + 1]\r\n";
    }
    $head .= $chunked ? "Transfer-Encoding: chunked\r\n"
                      : "Content-Length: " . length($body) . "\r\n";
    print $c "$head\r\n";
    return if $method eq 'HEAD';

    my @sizes = @{ $r->{chunks} // [] };
    if (!@sizes) {
        my $n = $r->{chunk} // (length($body) || 1);
        my $len = length $body;
        for (my $o = 0; $o < $len; $o += $n) {
            push @sizes, ($len - $o < $n ? $len - $o : $n);
        }
    }
    my $off = 0;
    for my $sz (@sizes) {
        my $piece = substr $body, $off, $sz;
        $off += $sz;
        next unless length $piece;
        if ($chunked) {
            print $c sprintf("%x\r\n", length $piece), $piece, "\r\n";
        } else {
            print $c $piece;
        }
        sleep $r->{delay} if $r->{delay};
    }
    if ($off < length $body) {
        my $rest = substr $body, $off;
        print $c ($chunked ? sprintf("%x\r\n", length $rest) . "$rest\r\n"
                           : $rest);
    }
    print $c "0\r\n\r\n" if $chunked;
    close $c;
}

# --- a client ----------------------------------------------------------------

# http_request($port, "GET /x HTTP/1.1\r\n...") -> { status, headers, body }
sub http_request {
    my ($port, $raw, %o) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => $o{timeout} // 10)
        or die "connect $port: $!";
    binmode $s;
    print $s $raw;
    my $data = '';
    while (1) {
        my $n = sysread $s, $data, 65536, length $data;
        last unless $n;
    }
    close $s;
    return _parse_response($data);
}

sub _parse_response {
    my ($data) = @_;
    my $i = index $data, "\r\n\r\n";
    return { status => 0, headers => {}, body => '', raw => $data } if $i < 0;
    my $head = substr $data, 0, $i;
    my $body = substr $data, $i + 4;
    my @lines = split /\r\n/, $head;
    my $status_line = shift @lines;
    my ($status) = $status_line =~ m{^HTTP/\S+ (\d+)};
    my %h;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $k = lc $k;
        $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
    }
    if (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        my $out = '';
        while ($body =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $out .= substr $body, 0, $n;
            substr($body, 0, $n + 2) = '';
        }
        $body = $out;
    }
    return { status => $status, headers => \%h, body => $body,
             status_line => $status_line };
}

# http_get($port, $path, cookie => ..., headers => {...}, method => 'GET',
#          version => '1.1')
sub http_get {
    my ($port, $path, %o) = @_;
    my $method = $o{method} // 'GET';
    my $ver = $o{version} // '1.1';
    my $raw = "$method $path HTTP/$ver\r\nHost: localhost\r\n";
    $raw .= "Connection: close\r\n" if $ver eq '1.1';
    $raw .= "Cookie: vpt_sid=$o{sid}\r\n" if defined $o{sid};
    # a browser's, unless the test names its own: no User-Agent is a bot's
    $raw .= "User-Agent: $BROWSER\r\n"
        unless grep { lc $_ eq 'user-agent' } keys %{ $o{headers} // {} };
    for my $k (sort keys %{ $o{headers} // {} }) {
        $raw .= "$k: $o{headers}{$k}\r\n";
    }
    return http_request($port, "$raw\r\n", %o);
}

END {
    my $rc = $?;
    for my $c (reverse @CHILDREN) {
        if ($c->{nginx}) {
            stop_nginx($c->{nginx});
        } elsif ($c->{redis}) {
            stop_redis($c->{redis});
        } elsif ($c->{origin}) {
            kill 'KILL', $c->{origin};
            waitpid $c->{origin}, 0;
        }
    }
    $? = $rc;
}

1;
