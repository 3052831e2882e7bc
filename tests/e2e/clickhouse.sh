# A private ClickHouse server for the ClickHouse tests (11x) and bench/clickhouse.sh:
# source after lib.sh and ports.sh. Debian 12's clickhouse-server (18.16) on loopback,
# its config, data and logs under a folder of the test's own, free ports, niced, with
# max_threads 2 (it sees one core; the suite shares two). Never the system's server.

# ch_start DIR [HTTP TCP]: start a server in DIR (created), on free ports or the ones
# given; sets CH_HTTP (its HTTP port), CH_TCP and CH_PID. Starting again in the same DIR
# keeps the data (a restart). CH_SHARDS="TCP TCP ...": the cluster fs_shards has those
# servers (on 127.0.0.1) as its shards.
ch_start() {
    _d=$1
    mkdir -p "$_d/data" "$_d/tmp" "$_d/log" "$_d/user_files"
    if [ ! -s "$_d/config.xml" ]; then
        CH_HTTP=${2:-$(free_port 21)}
        CH_TCP=${3:-$(free_port 22)}
        CH_ISRV=$(free_port 23)
        _shards=""
        for _s in ${CH_SHARDS:-}; do
            _shards="$_shards<shard><replica><host>127.0.0.1</host><port>$_s</port></replica></shard>"
        done
        [ -z "$_shards" ] || _shards="<fs_shards>$_shards</fs_shards>"
        cat >"$_d/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>$_d/log/server.log</log><errorlog>$_d/log/server.err.log</errorlog><size>10M</size><count>1</count></logger>
    <http_port>$CH_HTTP</http_port>
    <tcp_port>$CH_TCP</tcp_port>
    <interserver_http_port>$CH_ISRV</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <listen_host>127.0.0.1</listen_host>
    <max_connections>64</max_connections>
    <keep_alive_timeout>3</keep_alive_timeout>
    <max_concurrent_queries>16</max_concurrent_queries>
    <uncompressed_cache_size>0</uncompressed_cache_size>
    <mark_cache_size>67108864</mark_cache_size>
    <path>$_d/data/</path>
    <tmp_path>$_d/tmp/</tmp_path>
    <user_files_path>$_d/user_files/</user_files_path>
    <users_config>$_d/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
    <builtin_dictionaries_reload_interval>3600</builtin_dictionaries_reload_interval>
    <max_session_timeout>3600</max_session_timeout>
    <default_session_timeout>60</default_session_timeout>
    <remote_servers>
        <fs_one>
            <shard><replica><host>127.0.0.1</host><port>$CH_TCP</port></replica></shard>
        </fs_one>
        $_shards
    </remote_servers>
</yandex>
XML
        cat >"$_d/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <profiles><default><max_threads>2</max_threads><max_memory_usage>2000000000</max_memory_usage><log_queries>0</log_queries></default></profiles>
    <users>
        <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
        <fs><password>s3cret</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></fs>
    </users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
XML
        echo "$CH_HTTP $CH_TCP" >"$_d/ports"
    fi
    read -r CH_HTTP CH_TCP <"$_d/ports"
    nice -n 10 clickhouse-server --config-file="$_d/config.xml" >"$_d/log/stdout" 2>&1 &
    CH_PID=$!
    echo "$CH_PID" >"$_d/pid"
    _n=0
    until [ "$(curl -s "http://127.0.0.1:$CH_HTTP/ping" 2>/dev/null)" = "Ok." ]; do
        _n=$((_n + 1))
        if [ "$_n" -gt 600 ] || ! kill -0 "$CH_PID" 2>/dev/null; then
            tail -n 20 "$_d/log/server.err.log" "$_d/log/stdout" >&2 2>/dev/null
            fail "clickhouse-server in $_d did not start"
        fi
        sleep 0.05
    done
}

# ch_stop DIR [SIGNAL]: stop the server of DIR (SIGTERM, or -9 to kill it) and wait.
ch_stop() {
    [ -s "$1/pid" ] || return 0
    _p=$(cat "$1/pid")
    kill "${2:--TERM}" "$_p" 2>/dev/null || true
    _n=0
    while kill -0 "$_p" 2>/dev/null; do
        _n=$((_n + 1))
        [ "$_n" -gt 600 ] && kill -9 "$_p" 2>/dev/null
        sleep 0.05
    done
    rm -f "$1/pid"
}

# chq SQL: one query over HTTP to the server started last; its answer on stdout.
chq() {
    curl -sS --fail-with-body "http://127.0.0.1:$CH_HTTP/" --data-binary "$1"
}
