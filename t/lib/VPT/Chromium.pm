package VPT::Chromium;

# Headless Chromium (Debian's chromium) driven over the DevTools protocol
# on a pipe (--remote-debugging-pipe: JSON messages ended by a NUL on file
# descriptors 3 and 4), so the tests need no WebSocket client: open a page
# at a given viewport, evaluate JavaScript in it, take a screenshot.
#
#   my $b = VPT::Chromium->new or skip ...;
#   my $tab = $b->open_page('http://...', 1280, 800);
#   my $v = $b->eval($tab, 'document.title');
#   $b->screenshot($tab, 'page.png');

use strict;
use warnings;

use Fcntl qw(F_DUPFD);
use File::Temp qw(tempdir);
use IO::Select;
use JSON::PP;
use MIME::Base64 qw(decode_base64);
use POSIX ();
use Time::HiRes qw(time);

my $json = JSON::PP->new->utf8->canonical;

sub binary {
    for my $b (qw(/usr/bin/chromium /usr/bin/chromium-browser)) {
        return $b if -x $b;
    }
    return undef;
}

sub new {
    my ($class) = @_;
    my $bin = binary() or return undef;
    my $profile = tempdir('vpt-chromium-XXXXXX', TMPDIR => 1, CLEANUP => 1);

    pipe(my $cmd_r, my $cmd_w) or die "pipe: $!";
    pipe(my $res_r, my $res_w) or die "pipe: $!";

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        # out of the way of 3 and 4 first, then onto them (without
        # close-on-exec: dup2 clears it)
        my $in = fcntl($cmd_r, F_DUPFD, 10);
        my $out = fcntl($res_w, F_DUPFD, 10);
        POSIX::dup2($in, 3);
        POSIX::dup2($out, 4);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', "$profile/chromium.log";
        open STDERR, '>&', \*STDOUT;
        { exec $bin, '--headless', '--disable-gpu', '--no-sandbox',
             '--hide-scrollbars', '--no-first-run', '--mute-audio',
             '--remote-debugging-pipe', "--user-data-dir=$profile",
             # a desktop Chrome's: "HeadlessChrome" is a bot's, and the
             # module offers bots nothing
             '--user-agent=Mozilla/5.0 (X11; Linux x86_64) '
             . 'AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 '
             . 'Safari/537.36',
             'about:blank' }
        POSIX::_exit(127);
    }

    close $cmd_r;
    close $res_w;
    my $old = select $cmd_w;
    $| = 1;
    select $old;

    my $self = bless { pid => $pid, w => $cmd_w, r => $res_r, buf => '',
                       id => 0, events => [], profile => $profile }, $class;
    my $v = eval { $self->call('Browser.getVersion') };
    return $v ? $self : undef;
}

# one message from the browser, or undef after $deadline
sub _read {
    my ($self, $deadline) = @_;
    my $sel = IO::Select->new($self->{r});
    while (1) {
        my $i = index $self->{buf}, "\0";
        if ($i >= 0) {
            my $m = substr $self->{buf}, 0, $i;
            substr($self->{buf}, 0, $i + 1) = '';
            return $json->decode($m);
        }
        my $left = $deadline - time;
        return undef if $left <= 0 || !$sel->can_read($left);
        my $n = sysread $self->{r}, $self->{buf}, 1 << 20, length $self->{buf};
        die "chromium closed its pipe\n" unless $n;
    }
}

# calls METHOD, returns its result; dies on an error or after 30 s
sub call {
    my ($self, $method, $params, $session) = @_;
    my $id = ++$self->{id};
    my $msg = { id => $id, method => $method, params => $params // {} };
    $msg->{sessionId} = $session if $session;
    print { $self->{w} } $json->encode($msg), "\0";

    my $deadline = time + 30;
    while (my $m = $self->_read($deadline)) {
        if (defined $m->{id} && $m->{id} == $id) {
            die "$method: $m->{error}{message}\n" if $m->{error};
            return $m->{result};
        }
        push @{ $self->{events} }, $m if $m->{method};
    }
    die "$method: no answer\n";
}

# waits for an event of METHOD on SESSION; true if it came
sub wait_event {
    my ($self, $method, $session, $timeout) = @_;
    my $match = sub {
        my ($m) = @_;
        return ($m->{method} // '') eq $method
               && ($m->{sessionId} // '') eq ($session // '');
    };
    my @kept;
    my $found;
    for my $m (@{ $self->{events} }) {
        if (!$found && $match->($m)) { $found = 1 } else { push @kept, $m }
    }
    $self->{events} = \@kept;
    return 1 if $found;

    my $deadline = time + ($timeout // 15);
    while (my $m = $self->_read($deadline)) {
        return 1 if $match->($m);
        push @{ $self->{events} }, $m if $m->{method};
    }
    return 0;
}

# a new tab of WIDTH x HEIGHT CSS pixels at URL, loaded; returns its session
sub open_page {
    my ($self, $url, $width, $height) = @_;
    my $t = $self->call('Target.createTarget', { url => 'about:blank' });
    my $s = $self->call('Target.attachToTarget',
                        { targetId => $t->{targetId}, flatten => JSON::PP::true });
    my $session = $s->{sessionId};
    $self->call('Page.enable', {}, $session);
    $self->call('Emulation.setDeviceMetricsOverride',
                { width => $width, height => $height, deviceScaleFactor => 1,
                  mobile => JSON::PP::false }, $session);
    $self->navigate($session, $url);
    return $session;
}

sub navigate {
    my ($self, $session, $url) = @_;
    $self->call('Page.navigate', { url => $url }, $session);
    $self->wait_event('Page.loadEventFired', $session, 15)
        or die "$url: not loaded\n";
}

# the value of a JavaScript expression (JSON-able), evaluated in the page
sub eval {
    my ($self, $session, $expr) = @_;
    my $r = $self->call('Runtime.evaluate',
                        { expression => $expr, returnByValue => JSON::PP::true,
                          awaitPromise => JSON::PP::true }, $session);
    die "evaluate: $r->{exceptionDetails}{text}\n" if $r->{exceptionDetails};
    return $r->{result}{value};
}

# a PNG of the first screen
sub screenshot {
    my ($self, $session, $file) = @_;
    my $r = $self->call('Page.captureScreenshot', { format => 'png' },
                        $session);
    open my $fh, '>', $file or die "$file: $!";
    binmode $fh;
    print $fh decode_base64($r->{data});
    close $fh;
}

sub DESTROY {
    my ($self) = @_;
    return unless $self->{pid};
    local $?;
    eval { $self->call('Browser.close') };
    close $self->{w};
    for (1 .. 50) {
        last if waitpid($self->{pid}, POSIX::WNOHANG()) != 0;
        select undef, undef, undef, 0.1;
    }
    kill 'KILL', $self->{pid} if kill 0, $self->{pid};
    waitpid $self->{pid}, 0;
    $self->{pid} = 0;
}

1;
