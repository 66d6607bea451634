# The observability pack as an operator installs it: the shipped log format
# (conf.d/vpt-log.conf) through a real nginx, every line one JSON object
# with numbers as numbers, its if= example logging decisions only, the
# tools still reading it; the Prometheus alert rules (promtool check and
# unit tests) and the Grafana dashboard (every query valid PromQL), both
# naming only metrics the real status page exposes.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use VPT::Test;

my $root = repo_root();
my $dir = tmpdir();
my $port = free_port();
my $rules = "$root/contrib/prometheus/vpt-alerts.yml";
my $dashboard = "$root/contrib/grafana/vpt-dashboard.json";

system("make -s -C $root tools >/dev/null") == 0
    or BAIL_OUT('make tools failed');

mkdir "$dir/www";
write_file("$dir/www/thanks.html",
           "<html><body><h1>Thanks</h1><p>order</p></body></html>\n");
write_file("$dir/www/logo.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>");

my $rd = start_redis();
my %ctx = (user => { id => "u\"1\x{e9}" },
           cart => { items => [ { sku => 'a', category => 'toys' } ] });
redis_cmd($rd, 'SET', 'vpt:ctx:s1', JSON::PP->new->utf8->encode(\%ctx));

# the if= line is the one vpt-log.conf's header tells operators to write
my ($if_line) = read_file("$root/conf.d/vpt-log.conf")
    =~ /^#\s*(access_log\s.*\bif=.*;)\s*$/m;
ok($if_line, "vpt-log.conf shows an access_log ... if= example");
(my $decisions = $if_line) =~ s{access_log\s+\S+}{access_log $dir/decisions.log};

my $ng = start_nginx(ports => [$port], http => <<"HTTP");
    vpt_catalog $root/t/data/catalog-redis.json;
    vpt_redis 127.0.0.1:$rd->{port};

    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        access_log $dir/all.log vpt;
        $decisions

        location ~ \\.html\$ {
            vpt on;
            vpt_page confirmation;
            vpt_session_key \$arg_s;
        }
        location = /vpt/accept { vpt_beacon; }
        location = /vpt/status { vpt_status_page; }
    }
HTTP

# --- the log format ---------------------------------------------------------

# the first lookup may come before the worker's connection to Redis is up
my $d;
wait_for(sub {
    ($d) = http_get($port, '/thanks.html?s=s1')->{body}
           =~ /data-vpt-decision="(\w+)"/;
    return $d || !unlink "$dir/all.log", "$dir/decisions.log";
}, 5);
ok($d, "the page has an offer") or diag(read_file("$dir/all.log"));
http_get($port, '/thanks.html');                       # no session
http_get($port, '/logo.svg');                          # not a decision
http_get($port, '/a%22b%5C%0A%01.html?s=s1');          # 404: skipped
is(http_get($port, "/vpt/accept?d=$d&o=hello")->{status}, 204, 'accepted');

my @all;
wait_for(sub { @all = split /\n/, read_file("$dir/all.log"); @all >= 5 }, 5);
is(scalar @all, 5, 'five requests, five lines');

my $json = JSON::PP->new->utf8;
my @rows;
for my $line (@all) {
    my $row = eval { $json->decode($line) };
    ok($row, 'a line is one JSON object') or diag($line);
    push @rows, $row if $row;
    like($line, qr/"http_status":\d{3},/, '... http_status a bare number');
    like($line, qr/"request_time":\d+\.\d{3},/, '... request_time too');
    like($line, qr/"bytes":\d+\}$/, '... bytes too');
}

my ($page) = grep { ($_->{status} // '') eq 'injected' } @rows;
like($page->{request_id}, qr/^[0-9a-f]{32}$/, 'request_id is logged');
is_deeply(JSON::PP->new->decode($page->{context}), \%ctx,
          'the context decodes once to what the shop wrote');
like($page->{value}, qr/^\d+\.\d+$/, 'value is the offer\'s value');

my @dec = map { $json->decode($_) } split /\n/,
    read_file("$dir/decisions.log");
is_deeply([ sort map { $_->{status} } @dec ],
          [ sort qw(injected injected skipped accept) ],
          'the if= log has the decisions (the 404 skipped) and the accept, '
          . 'not the asset')
    or diag(explain \@dec);

# the tools read the format they are documented for
my $rep = `$root/build/tools/vpt-report --json $dir/all.log 2>&1`;
is($?, 0, 'vpt-report reads the log') or diag($rep);
my $rj = eval { $json->decode($rep) } // {};
unlike($rep, qr/"bad"\s*:\s*[1-9]/, '... without a bad line');
my $join = `$root/build/tools/vpt-join $dir/all.log 2>&1`;
is($?, 0, 'vpt-join reads the log') or diag($join);
like($join, qr/"accepted":\s*true/, '... and joins the accept to its page');

# --- the status page's metrics ----------------------------------------------

my $status = http_get($port, '/vpt/status')->{body};
my %exposed = map { $_ => 1 } $status =~ /^(vpt_\w+)/mg;
ok($exposed{vpt_requests_total}, 'the status page answers');

sub promql_names {
    my ($text) = @_;
    my %n = map { $_ => 1 } $text =~ /\b(vpt_[a-z_]+)\b/g;
    # directive names quoted in descriptions are not metrics
    delete @n{qw(vpt_redis_timeout vpt_redis vpt_anchor vpt_placement
                 vpt_status_page)};
    return sort keys %n;
}

# --- alert rules -------------------------------------------------------------

SKIP: {
    skip 'promtool is not installed (tools/install-deps --test)', 4
        if system('command -v promtool >/dev/null');

    my $out = `promtool check rules $rules 2>&1`;
    is($?, 0, 'promtool check rules accepts the alert rules') or diag($out);
    $out = `cd $root/contrib/prometheus && promtool test rules vpt-alerts.test.yml 2>&1`;
    is($?, 0, 'the alert rules fire as their unit tests say') or diag($out);

    my @missing = grep { !$exposed{$_} }
                  promql_names(join ' ', read_file($rules) =~ /expr:(.*?)(?=\n\s+for:)/sg);
    is("@missing", '', 'the rules name only metrics the status page has');

    # every dashboard query, as a recording rule promtool parses
    my $dash = eval { $json->decode(read_file($dashboard)) };
    my @exprs = map { $_->{expr} } map { @{ $_->{targets} // [] } }
                @{ $dash->{panels} // [] };
    my $yml = "groups:\n  - name: dashboard\n    rules:\n";
    my $i = 0;
    for my $e (@exprs) {
        (my $q = $e) =~ s/\$__rate_interval/5m/g;
        $q =~ s/\$instance/.*/g;
        $q =~ s/'/''/g;
        $yml .= "      - record: dashboard_query_" . $i++ . "\n"
              . "        expr: '$q'\n";
    }
    write_file("$dir/dashboard-rules.yml", $yml);
    $out = `promtool check rules $dir/dashboard-rules.yml 2>&1`;
    ok(@exprs >= 8 && $? == 0,
       scalar(@exprs) . ' dashboard queries are valid PromQL') or diag($out);
}

my $dash = eval { JSON::PP->new->decode(read_file($dashboard)) };
ok($dash && @{ $dash->{panels} }, 'the dashboard is JSON with panels');
my @missing = grep { !$exposed{$_} }
    promql_names(join ' ', map { $_->{expr} }
                 map { @{ $_->{targets} // [] } } @{ $dash->{panels} });
is("@missing", '', 'the dashboard names only metrics the status page has');

done_testing();
