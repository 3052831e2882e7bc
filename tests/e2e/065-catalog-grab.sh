#!/bin/sh
# catalog grab against a local nginx (127.0.0.1 and 127.0.0.2 only; nothing leaves
# loopback) serving a page tree, plus a hostile python3 server (grab_liar.py).
#
# Tree: index -> a.html <-> b.html (a loop), a.html -> deep/c.html -> deep/d.html ->
# deep-3.0.1.bin; files of known sizes at, above and below the 1 MiB threshold; a
# link with a fragment and the same link without; mailto:/javascript: links; a file
# only reachable through a redirect; a HEAD-refused folder (405) whose size must come
# from a ranged GET; an endless redirect chain and a self-redirect; a 6 MiB page with
# a link at each end; a link to a second host (127.0.0.2) that must not be followed.
#
# Checks: the catalogue equals the expected one exactly (size = stat of the file,
# name, product/version guessed, final URL, source grab); every page fetched once;
# nothing sent to the other host; each cap reported with its URL (redirects, body);
# --depth 0/3, --max-pages, --other-hosts, --min-size 0; the hostile server (stall,
# short body, conflicting and absurd Content-Length, bad Content-Range, no length,
# 1 MB of headers, endless page) is reported and the crawl ends within its --timeout, never hangs.
# Exit 77 without nginx or python3.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/ports.sh"
need python3 ss timeout
# nginx lives in /usr/sbin, which a non-root PATH may lack.
NGINX=$(command -v nginx || true)
[ -z "$NGINX" ] && [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx
[ -n "$NGINX" ] || skip "nginx not installed"
# The crawler honours proxy settings; the test must talk to loopback directly.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

P=$(free_port 1)
PL=$(free_port 2)
[ "$PL" = "$P" ] && PL=$((P + 1))
W=$T/www
mkdir -p "$W/files" "$W/deep" "$W/nohead" "$W/dl" "$T/other" "$T/tmp"

# --- the tree ---
mib=1048576
head -c $((3 * mib + 17)) /dev/zero >"$W/files/rel-1.0.0.tar.gz"
head -c $mib /dev/zero >"$W/files/tool_2.5.1-linux-x64.zip"
head -c $((mib - 1)) /dev/zero >"$W/files/small-0.1.bin"
head -c 100 /dev/zero >"$W/files/notes.txt"
head -c $((2 * mib + 5)) /dev/zero >"$W/files/My File.iso"
head -c $((3 * mib / 2)) /dev/zero >"$W/nohead/app-4.0.tar.xz"
head -c $((5 * mib / 4)) /dev/zero >"$W/dl/pkg-9.9.tar.gz"
head -c $((2 * mib)) /dev/zero >"$W/deep/deep-3.0.1.bin"
head -c $((6 * mib / 5)) /dev/zero >"$W/files/bigstart-1.0.bin"
head -c $((6 * mib / 5 + 1)) /dev/zero >"$W/files/bigend-1.0.bin"
head -c $((4 * mib)) /dev/zero >"$T/other/other-7.0.bin"

cat >"$W/index.html" <<EOF
<!DOCTYPE html>
<html><head><title>downloads</title></head><body>
<h1>Downloads</h1>
<ul>
<li><a href="files/rel-1.0.0.tar.gz#sha256">release</a> (<a href="/files/rel-1.0.0.tar.gz">same</a>)
<li><a href=" files/tool_2.5.1-linux-x64.zip ">tool</a>
<li><a href="files/small-0.1.bin">small</a> <a href="files/notes.txt">notes</a>
<li><a href="files/My%20File.iso">iso</a>
<li><a href="nohead/app-4.0.tar.xz">app</a>
<li><a href="/go/pkg">latest pkg</a> <a href="/go/rel">latest rel</a>
<li><a href="/chain/a">mirror</a> <a href="/self">self</a>
<li><a href="mailto:dl@example.invalid">mail</a> <a href="javascript:void(0)">js</a>
<li><a href="//127.0.0.2:$P/other-7.0.bin">elsewhere</a>
<li><a href="a.html">more</a> <a href="big.html">big page</a> <a href="missing.html">gone</a>
</ul>
EOF
cat >"$W/a.html" <<'EOF'
<p><a href="b.html">b</a> <a href="index.html">home</a> <a href="deep/c.html">deeper</a>
EOF
cat >"$W/b.html" <<'EOF'
<p><a href="a.html">a</a> <a href="./b.html#top">me</a> <a href="/">home</a>
EOF
printf '<a href="d.html">d</a>\n' >"$W/deep/c.html"
printf '<a href="deep-3.0.1.bin">deep file</a>\n' >"$W/deep/d.html"
{
    echo '<html><body><a href="files/bigstart-1.0.bin">start</a>'
    i=0
    while [ $i -lt 12 ]; do
        head -c $((512 * 1024)) /dev/zero | tr '\0' 'x'
        i=$((i + 1))
    done
    echo '<a href="files/bigend-1.0.bin">end</a></body></html>'
} >"$W/big.html"

# --- nginx: everything (pid, logs, temp) inside $T ---
user_line=
[ "$(id -u)" = 0 ] && user_line="user root;"
cat >"$T/nginx.conf" <<EOF
$user_line
worker_processes 1;
pid $T/nginx.pid;
error_log $T/error.log;
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log $T/access.log;
    client_body_temp_path $T/tmp/body;
    proxy_temp_path $T/tmp/proxy;
    fastcgi_temp_path $T/tmp/fastcgi;
    uwsgi_temp_path $T/tmp/uwsgi;
    scgi_temp_path $T/tmp/scgi;
    server {
        listen 127.0.0.1:$P;
        root $W;
        location /nohead/ { if (\$request_method = HEAD) { return 405; } }
        location ~ ^/chain/(.*)\$ { return 302 /chain/\$1x; }
        location = /self { return 302 /self; }
        location = /go/pkg { return 302 /dl/pkg-9.9.tar.gz; }
        location = /go/rel { return 301 /files/rel-1.0.0.tar.gz; }
    }
    server {
        listen 127.0.0.2:$P;
        root $T/other;
        access_log $T/other.log;
    }
}
EOF
[ -f /etc/nginx/mime.types ] || skip "/etc/nginx/mime.types missing"
# The real interpreter (not a pyenv shim) so that its pid is the server's.
PY=$(python3 -c 'import sys; print(sys.executable)')
"$NGINX" -p "$T" -c "$T/nginx.conf" -g 'daemon off;' 2>"$T/nginx.err" &
NGINX_PID=$!
"$PY" "$FS_SRC/tests/e2e/grab_liar.py" "$PL" "$T/liar.ready" 2>"$T/liar.log" &
LIAR_PID=$!
# Reap both on the way out (an orphan would linger as a zombie in some sandboxes).
trap 'kill $NGINX_PID $LIAR_PID 2>/dev/null; wait $NGINX_PID $LIAR_PID 2>/dev/null || true' EXIT
trap 'exit 1' INT TERM
wait_for_file "$T/nginx.pid" 10
wait_for_file "$T/liar.ready" 10
n=0
until ss -Hltn "sport = :$P" | grep -q 127.0.0.2; do
    n=$((n + 1))
    [ $n -gt 200 ] && fail "nginx does not listen on $P: $(cat "$T/nginx.err")"
    sleep 0.05
done
BASE=http://127.0.0.1:$P

GSRC=grab
# entry SIZE_FILE NAME PRODUCT VERSION URL: one expected catalogue line.
entry() {
    printf '%s\t%s\t%s\t%s\t\t\t%s\t\t%s\t0\n' "$(stat -c %s "$1")" "$2" "$3" "$4" "$5" "$GSRC"
}
# expect_cat FILE LINES...: header + the lines sorted as the catalogue sorts them.
expect_cat() {
    out=$1
    shift
    {
        printf '#flowsleuth-catalog 1\n'
        printf 'size\tname\tproduct\tversion\tarch\tos\turl\tdigest\tsource\tspread\n'
        printf '%s' "$*" | LC_ALL=C sort -t "$(printf '\t')" -k1,1n -k2,2
    } >"$out"
}
E_REL=$(entry "$W/files/rel-1.0.0.tar.gz" rel-1.0.0.tar.gz rel 1.0.0 "$BASE/files/rel-1.0.0.tar.gz")
E_TOOL=$(entry "$W/files/tool_2.5.1-linux-x64.zip" tool_2.5.1-linux-x64.zip tool 2.5.1 \
    "$BASE/files/tool_2.5.1-linux-x64.zip")
E_ISO=$(entry "$W/files/My File.iso" "My File.iso" "" "" "$BASE/files/My%20File.iso")
E_APP=$(entry "$W/nohead/app-4.0.tar.xz" app-4.0.tar.xz app 4.0 "$BASE/nohead/app-4.0.tar.xz")
E_PKG=$(entry "$W/dl/pkg-9.9.tar.gz" pkg-9.9.tar.gz pkg 9.9 "$BASE/dl/pkg-9.9.tar.gz")
E_BIG=$(entry "$W/files/bigstart-1.0.bin" bigstart-1.0.bin bigstart 1.0 \
    "$BASE/files/bigstart-1.0.bin")
E_DEEP=$(entry "$W/deep/deep-3.0.1.bin" deep-3.0.1.bin deep 3.0.1 "$BASE/deep/deep-3.0.1.bin")
E_OTHER=$(entry "$T/other/other-7.0.bin" other-7.0.bin other 7.0 "http://127.0.0.2:$P/other-7.0.bin")
NL='
'

# --- 1. the default crawl (depth 2) ---
: >"$T/access.log"
fs catalog grab --delay 0 --max-body 4Mi -o "$T/cat.tsv" "$BASE/" 2>"$T/grab.err" ||
    fail "grab exited $?: $(cat "$T/grab.err")"
expect_cat "$T/cat.exp" "$E_REL$NL$E_TOOL$NL$E_ISO$NL$E_APP$NL$E_PKG$NL$E_BIG$NL"
expect_same "$T/cat.exp" "$T/cat.tsv"
grep -q "/chain/a: more than 5 redirects (cap --max-redirects)" "$T/grab.err" ||
    fail "redirect cap not reported: $(cat "$T/grab.err")"
grep -q "/self: redirects to itself" "$T/grab.err" || fail "self-redirect not reported"
grep -q "big.html: page larger than 4194304 bytes (cap --max-body)" "$T/grab.err" ||
    fail "body cap not reported"
grep -q "missing.html: HEAD: HTTP status 404" "$T/grab.err" || fail "404 not reported"
grep -q "1 pages beyond --depth" "$T/grab.err" || fail "depth not counted: $(cat "$T/grab.err")"
[ -s "$T/other.log" ] && fail "the other host was asked: $(cat "$T/other.log")"
# Each page read once, each file asked once, though linked several times and in a loop.
for p in "GET / " "GET /a.html " "GET /b.html " "GET /deep/c.html " "HEAD /files/rel-1.0.0.tar.gz "; do
    c=$(grep -c "\"$p" "$T/access.log" || true)
    [ "$c" = 1 ] || fail "\"$p\" requested $c times"
done
grep -q '"GET /deep/d.html ' "$T/access.log" && fail "d.html read beyond --depth 2"
# HEAD refused: the size came from one ranged GET answered with 206.
grep -q '"HEAD /nohead/app-4.0.tar.xz HTTP/1.1" 405' "$T/access.log" || fail "no 405 on HEAD"
grep -q '"GET /nohead/app-4.0.tar.xz HTTP/1.1" 206' "$T/access.log" || fail "no ranged GET"
grep -q '"GET /files/' "$T/access.log" && fail "a file was downloaded"
grep -qE '"(HEAD|GET) [^"]*(mailto|javascript|#)' "$T/access.log" && fail "bad link requested"

# --- 2. --depth 0: the start page only; --depth 3 reaches deep-3.0.1.bin ---
fs catalog grab --delay 0 --depth 0 -o "$T/d0.tsv" "$BASE/" 2>"$T/d0.err" || fail "depth 0"
grep -q "1 pages read" "$T/d0.err" || fail "depth 0 read more than one page: $(cat "$T/d0.err")"
expect_cat "$T/d0.exp" "$E_REL$NL$E_TOOL$NL$E_ISO$NL$E_APP$NL$E_PKG$NL"
expect_same "$T/d0.exp" "$T/d0.tsv"
fs catalog grab --delay 0 --depth 3 -o "$T/d3.tsv" "$BASE/" 2>"$T/d3.err" || fail "depth 3"
grep -qF "$E_DEEP" "$T/d3.tsv" || fail "depth 3 misses deep-3.0.1.bin"

# --- 3. --max-pages 2: capped and reported ---
fs catalog grab --delay 0 --max-pages 2 -o "$T/mp.tsv" "$BASE/" 2>"$T/mp.err" || fail "max-pages"
grep -q "page cap reached (--max-pages 2)" "$T/mp.err" || fail "page cap not reported"
grep -q "^flowsleuth catalog grab: 2 pages read" "$T/mp.err" || fail "more than 2 pages read"

# --- 4. --other-hosts follows the link to 127.0.0.2; --append keeps old entries ---
fs catalog grab --delay 0 --depth 0 --other-hosts --append "$T/cat.tsv" -o "$T/oh.tsv" \
    "$BASE/" 2>"$T/oh.err" || fail "other-hosts"
grep -q '"HEAD /other-7.0.bin' "$T/other.log" || fail "other host not asked"
# --append of the depth-2 catalogue plus the depth-0 crawl: the depth-0 entries twice.
expect_cat "$T/oh.exp" "$E_REL$NL$E_TOOL$NL$E_ISO$NL$E_APP$NL$E_PKG$NL$E_BIG$NL$E_OTHER$NL$E_REL$NL$E_TOOL$NL$E_ISO$NL$E_APP$NL$E_PKG$NL"
expect_same "$T/oh.exp" "$T/oh.tsv"

# --- 5. --min-size 0 keeps the small files too ---
fs catalog grab --delay 0 --depth 0 --min-size 0 -o - "$BASE/" >"$T/all.tsv" 2>/dev/null
for f in small-0.1.bin notes.txt; do
    grep -q "	$f	" "$T/all.tsv" || fail "--min-size 0 misses $f"
done

# --- 6. the hostile server: every trick reported, the crawl ends within bounds ---
t0=$(date +%s)
# shellcheck disable=SC2086
timeout 60 $FS_EXEC_PREFIX "$FS_BIN" catalog grab --delay 0 --timeout 2s --max-body 64Ki -o "$T/liar.tsv" \
    "http://127.0.0.1:$PL/" 2>"$T/liar.err" || fail "grab on the liar exited $?"
t1=$(date +%s)
[ $((t1 - t0)) -le 15 ] || fail "hostile crawl took $((t1 - t0)) s"
for w in "stall.html: GET timed out (cap --timeout" \
    "short.html: body shorter than its Content-Length" \
    "dup.bin: conflicting Content-Length" \
    "huge-cl.bin: malformed Content-Length" \
    "badrange.bin: malformed Content-Range" \
    "nolen.bin: no size" \
    "headers.bin: HEAD: response headers larger than 262144 bytes" \
    "endless.html: page larger than 65536 bytes (cap --max-body)"; do
    grep -qF "$w" "$T/liar.err" || fail "not reported: $w; got: $(cat "$T/liar.err")"
done
LB=http://127.0.0.1:$PL
expect_cat "$T/liar.exp" "3000000	short-target-1.0.bin	short-target	1.0			$LB/short-target-1.0.bin		$GSRC	0${NL}2000000	ok-1.0.bin	ok	1.0			$LB/ok-1.0.bin		$GSRC	0$NL"
expect_same "$T/liar.exp" "$T/liar.tsv"

# --- 7. whole-crawl caps: --max-time cuts the stalled request short, --max-requests ---
t0=$(date +%s)
fs catalog grab --delay 0 --timeout 30s --max-time 1s -o "$T/mt.tsv" "http://127.0.0.1:$PL/" \
    2>"$T/mt.err" || fail "max-time exited $?"
t1=$(date +%s)
[ $((t1 - t0)) -le 5 ] || fail "--max-time 1s took $((t1 - t0)) s"
grep -q "time cap reached (--max-time 1 s): crawl stopped with [0-9]* URLs not visited" \
    "$T/mt.err" || fail "time cap not reported: $(cat "$T/mt.err")"
fs catalog grab --delay 0 --max-requests 3 -o "$T/mr.tsv" "$BASE/" 2>"$T/mr.err" ||
    fail "max-requests exited $?"
grep -q "request cap reached (--max-requests 3)" "$T/mr.err" || fail "request cap not reported"
grep -q " 3 requests in " "$T/mr.err" || fail "more than 3 requests: $(cat "$T/mr.err")"

# --- 8. usage errors ---
st=0
fs catalog grab -o "$T/x.tsv" "ftp://127.0.0.1/" 2>"$T/u.err" || st=$?
[ "$st" = 2 ] || fail "ftp start URL: exit $st"
grep -q "not an absolute http:// or https:// URL" "$T/u.err" || fail "ftp URL not named"
st=0
fs catalog grab --min-size 1Q -o "$T/x.tsv" "$BASE/" 2>/dev/null || st=$?
[ "$st" = 2 ] || fail "bad --min-size: exit $st"
echo "ok"
