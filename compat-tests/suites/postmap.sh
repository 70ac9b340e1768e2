# postmap.sh - postmap(1) against the reference: builds, queries, dumps,
# deletes, options and diagnostics; lmdb files read across both ways.
#
# The case helpers are in compat-tests/table-lib.sh. hash: is Berkeley DB
# in the reference and LMDB here (file.lmdb instead of file.db), so hash
# cases compare outputs with ".lmdb" read as ".db" and dumps sorted.

. "$(dirname "${BASH_SOURCE[0]}")/../table-lib.sh"

PM_GEN="$COMPAT_TMP/pm-gen"
mkdir -p "$PM_GEN"

# --- corpus: every text map, built as lmdb and as hash ------------------
corpus=/work/shared/compat-corpus
[ -d "$corpus" ] || corpus=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared/compat-corpus
for f in $(find "$corpus" -type f ! -name main.cf ! -name master.cf ! -name '*.md' ! -name aliases ! -name 'main.cf.*' | LC_ALL=C sort); do
    pmn=postmap-corpus-$(echo "${f#"$corpus"/}" | tr '/' '_')
    pm_case "$pmn-lmdb" "$f" postmap -c "$PM_CONF" lmdb:src
    pm_then "$pmn-lmdb-s" postmap -c "$PM_CONF" -s lmdb:src
    pm_cross "$pmn-lmdb-cross" lmdb:src
    PM_SED='s/\.lmdb/.db/g' pm_case "$pmn-hash" "$f" postmap -c "$PM_CONF" src
    PM_SED='s/\.lmdb/.db/g' PM_SORT=1 pm_then "$pmn-hash-s" postmap -c "$PM_CONF" -s src
    # Every key of the file, looked up through "-q -" (with case changes).
    keys="$PM_GEN/keys.$$"
    awk '!/^[ \t]*#/ && NF && $0 !~ /^[ \t]/ {print $1; print toupper($1)}' "$f" >"$keys"
    PM_STDIN=$keys PM_SED='s/\.lmdb/.db/g' pm_then "$pmn-hash-q" postmap -c "$PM_CONF" -q - src
    PM_STDIN=$keys PM_SED='s/\.lmdb/.db/g' pm_then "$pmn-hash-q-f" postmap -c "$PM_CONF" -f -q - src
    PM_STDIN=$keys pm_then "$pmn-texthash-q" postmap -c "$PM_CONF" -q - texthash:src
done

# --- generated tables ---------------------------------------------------
gen="$PM_GEN/gen1"
awk 'BEGIN { srand(7); for (i = 0; i < 3000; i++) {
        k = ""; n = 1 + int(rand() * 12);
        for (j = 0; j < n; j++) { c = int(rand() * 36); k = k (c < 26 ? sprintf("%c", (rand() < 0.3 ? 65 : 97) + c) : c - 26) }
        if (rand() < 0.05) printf "#comment %d\n", i;
        if (rand() < 0.03) printf "\n";
        printf "%s%s value-%d%s\n", k, (rand() < 0.1 ? "@example.com" : ""), i, (rand() < 0.05 ? " trailing  " : "");
        if (rand() < 0.05) printf "  continued %d\n", i;
        if (rand() < 0.02) printf "lonely%d\n", i;
        if (rand() < 0.02) printf "\"quoted key %d\" qv\n", i;
        if (rand() < 0.01) printf "\"unbalanced %d qv\n", i;
        if (rand() < 0.01) printf "colon%d: x\n", i;
    } }' >"$gen"
awk '!/^[ \t#]/ && NF {print $1; print toupper($1); print $1 "x"}' "$gen" | head -2000 >"$PM_GEN/gen1.keys"
for opts in "" "-f" "-r" "-w" "-N" "-n" "-rf" "-wN"; do
    pm_case "postmap-gen1-lmdb$opts" "$gen" postmap -c "$PM_CONF" $opts lmdb:src
    pm_then "postmap-gen1-lmdb$opts-s" postmap -c "$PM_CONF" $opts -s lmdb:src
    PM_STDIN=$PM_GEN/gen1.keys pm_then "postmap-gen1-lmdb$opts-q" postmap -c "$PM_CONF" $opts -q - lmdb:src
    pm_cross "postmap-gen1-lmdb$opts-cross" lmdb:src
    PM_SED='s/\.lmdb/.db/g' PM_SORT=1 pm_case "postmap-gen1-hash$opts" "$gen" postmap -c "$PM_CONF" $opts hash:src
    PM_SED='s/\.lmdb/.db/g' PM_SORT=1 pm_then "postmap-gen1-hash$opts-s" postmap -c "$PM_CONF" $opts -s hash:src
    PM_STDIN=$PM_GEN/gen1.keys PM_SED='s/\.lmdb/.db/g' pm_then "postmap-gen1-hash$opts-q" postmap -c "$PM_CONF" $opts -q - hash:src
    PM_STDIN=$PM_GEN/gen1.keys PM_SORT=1 pm_then "postmap-gen1-texthash$opts-q" postmap -c "$PM_CONF" $opts -q - texthash:src
done

# Odd bytes: null bytes, CR LF line ends, a last line without newline.
printf 'a 1\0x\nb\0 2\r\nc 3\r\nd\r\n"e f" 4\ng 5' >"$PM_GEN/odd"
printf 'a\nc\ng\n"e f"\n' >"$PM_GEN/odd.keys"
pm_case postmap-odd "$PM_GEN/odd" postmap -c "$PM_CONF" lmdb:src
pm_then postmap-odd-s postmap -c "$PM_CONF" -s lmdb:src
PM_STDIN=$PM_GEN/odd.keys pm_then postmap-odd-q postmap -c "$PM_CONF" -q - lmdb:src
PM_STDIN=$PM_GEN/odd.keys PM_SORT=1 pm_then postmap-odd-texthash postmap -c "$PM_CONF" -q - texthash:src
printf 'a: 1\0x\nb\0: 2\r\nc: 3\r\n' >"$PM_GEN/odd-aliases"
PM_SED='s/^YP_LAST_MODIFIED\t[0-9]*$/YP_LAST_MODIFIED\tTIME/' pm_case postmap-odd-alias "$PM_GEN/odd-aliases" postalias -c "$PM_CONF" lmdb:src
PM_SED='s/^YP_LAST_MODIFIED:\t[0-9]*$/YP_LAST_MODIFIED:\tTIME/' pm_then postmap-odd-alias-s postalias -c "$PM_CONF" -s lmdb:src

# Single queries, multiple maps, first hit wins.
printf 'a A1\nb B1\n' >"$PM_GEN/m1"
printf 'b B2\nc C2\n' >"$PM_GEN/m2"
pm_case postmap-multi-build "$PM_GEN/m1" postmap -c "$PM_CONF" lmdb:src
[ -z "${PM_DIR:-}" ] || { cp "$PM_GEN/m2" "$PM_DIR/ref/src2"; cp "$PM_GEN/m2" "$PM_DIR/ours/src2"; }
pm_then postmap-multi-build2 postmap -c "$PM_CONF" lmdb:src2 src2
for k in a b c d A; do
    pm_then "postmap-multi-q-$k" postmap -c "$PM_CONF" -q "$k" lmdb:src lmdb:src2
done
PM_SED='s/\.lmdb/.db/g' pm_then postmap-multi-q-mixed postmap -c "$PM_CONF" -q c lmdb:src hash:src2
printf 'a\nb\nc\nd\nC\n' >"$PM_GEN/multi.keys"
PM_STDIN=$PM_GEN/multi.keys pm_then postmap-multi-q-stdin postmap -c "$PM_CONF" -q - lmdb:src lmdb:src2
pm_then postmap-multi-s-first postmap -c "$PM_CONF" -s lmdb:src lmdb:src2
# Deletes: one key, then again (not found), then keys from stdin.
pm_then postmap-d-a postmap -c "$PM_CONF" -d a lmdb:src
pm_then postmap-d-a-again postmap -c "$PM_CONF" -d a lmdb:src
pm_then postmap-d-after-s postmap -c "$PM_CONF" -s lmdb:src
PM_STDIN=$PM_GEN/multi.keys pm_then postmap-d-stdin postmap -c "$PM_CONF" -d - lmdb:src lmdb:src2
pm_then postmap-d-stdin-s postmap -c "$PM_CONF" -s lmdb:src2
PM_STDIN=$PM_GEN/multi.keys pm_then postmap-d-stdin-none postmap -c "$PM_CONF" -d - lmdb:src
# Incremental update from stdin.
printf 'new1 v1\nNEW2 v2\nb dup\n' >"$PM_GEN/incr"
PM_STDIN=$PM_GEN/incr pm_then postmap-i postmap -c "$PM_CONF" -i lmdb:src2
pm_then postmap-i-s postmap -c "$PM_CONF" -s lmdb:src2
pm_cross postmap-i-cross lmdb:src2

# In-memory and composite types.
for m in 'inline:{a=1, {b = x y}, C=3}' 'static:fixed' 'static:{ text  here }' \
         'unionmap:{inline:{a=1},inline:{a=2}, static:3}' 'pipemap:{inline:{a=b},inline:{b=c}}' \
         'internal:x' 'environ:x' 'randmap:{only}' 'inline:{a=}'; do
    for k in a A b c path; do
        compare "postmap-q-$m-$k" postmap -c "$PM_CONF" -q "$k" "$m"
        compare "postmap-q-f-$m-$k" postmap -c "$PM_CONF" -f -q "$k" "$m"
    done
done
for k in root ROOT daemon nobody nosuchuser; do
    compare "postmap-q-unix-passwd-$k" postmap -c "$PM_CONF" -q "$k" unix:passwd.byname
    compare "postmap-q-unix-group-$k" postmap -c "$PM_CONF" -q "$k" unix:group.byname
    compare "postmap-q-f-unix-passwd-$k" postmap -c "$PM_CONF" -f -q "$k" unix:passwd.byname
done
compare postmap-s-inline postmap -c "$PM_CONF" -s 'inline:{a=1}'
compare postmap-s-internal postmap -c "$PM_CONF" -s internal:x

# UTF-8 (compatibility_level 3.6 turns on smtputf8_enable).
printf 'ÄBC utf8-upper\nabc ascii\n\xe9t\xe9 latin1\n' >"$PM_GEN/utf8"
printf 'äbc\nÄBC\nABC\n\xe9t\xe9\n' >"$PM_GEN/utf8.keys"
pm_case postmap-utf8-build "$PM_GEN/utf8" postmap -c "$PM_CONF_UTF8" lmdb:src
pm_then postmap-utf8-s postmap -c "$PM_CONF_UTF8" -s lmdb:src
PM_STDIN=$PM_GEN/utf8.keys pm_then postmap-utf8-q postmap -c "$PM_CONF_UTF8" -q - lmdb:src
PM_STDIN=$PM_GEN/utf8.keys pm_then postmap-utf8-q-u postmap -c "$PM_CONF_UTF8" -u -q - lmdb:src
pm_case postmap-utf8-off-build "$PM_GEN/utf8" postmap -c "$PM_CONF" lmdb:src
PM_STDIN=$PM_GEN/utf8.keys pm_then postmap-utf8-off-q postmap -c "$PM_CONF" -q - lmdb:src
pm_then postmap-utf8-off-s postmap -c "$PM_CONF" -s lmdb:src

# Header and body keys (-h, -b).
printf '/^Subject: .*spam/ REJECT spam\n/^X-Mailer: / WARN mailer\n/^body line 2/ DISCARD\n/^$/ WARN empty\n' >"$PM_GEN/hb"
printf 'From: a@example.com\nSubject: this is\n  spam indeed\nX-Mailer : Foo\n\nbody line 1\nbody line 2\n' >"$PM_GEN/msg"
printf 'Subject: spam\nthis is not a header\nbody line 2\n' >"$PM_GEN/msg2"
if "$OUR_SBIN/postmap" -c "$PM_CONF" -q x regexp:/dev/null 2>/dev/null; [ $? = 1 ]; then
    cat >"$PM_GEN/mime" <<'MSG'
From: a@example.com
Subject: mime test
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XYZ"

preamble
--XYZ
Content-Type: text/plain
X-Mailer: inner

body line 2
--XYZ
Content-Type: message/rfc822

Subject: nested spam
X-Mailer: nested

body line 2 nested
--XYZ--
epilogue
MSG
    for o in -hm -bm -hbm -m; do
        CASE_STDIN=$PM_GEN/mime compare "postmap-mime$o" postmap -c "$PM_CONF" $o -q - "regexp:$PM_GEN/hb"
    done
    CASE_STDIN=$PM_GEN/mime compare "postmap-mime-h" postmap -c "$PM_CONF" -h -q - "regexp:$PM_GEN/hb"
    CASE_STDIN=$PM_GEN/mime compare "postmap-mime-static-hbm" postmap -c "$PM_CONF" -hbm -q - "static:x"
    CASE_STDIN=$PM_GEN/mime compare "postmap-mime-static-hb" postmap -c "$PM_CONF" -hb -q - "static:x"
    for o in -h -b -hb -bh; do
        CASE_STDIN=$PM_GEN/msg compare "postmap-msg$o" postmap -c "$PM_CONF" $o -q - "regexp:$PM_GEN/hb"
        CASE_STDIN=$PM_GEN/msg2 compare "postmap-msg2$o" postmap -c "$PM_CONF" $o -q - "regexp:$PM_GEN/hb"
    done
fi

# Source permissions carry over to the table.
printf 'k v\n' >"$PM_GEN/perm"
pm_case postmap-perm "$PM_GEN/perm" true
[ -z "${PM_DIR:-}" ] || chmod 640 "$PM_DIR/ref/src" "$PM_DIR/ours/src"
pm_then postmap-perm-build postmap -c "$PM_CONF" lmdb:src
pm_mode src.lmdb postmap-perm-mode
pm_case postmap-perm-p "$PM_GEN/perm" true
[ -z "${PM_DIR:-}" ] || chmod 640 "$PM_DIR/ref/src" "$PM_DIR/ours/src"
pm_then postmap-perm-p-build postmap -c "$PM_CONF" -p lmdb:src
pm_mode src.lmdb postmap-perm-p-mode

# -F: values name files, stored base64.
printf 'hello\n' >"$PM_GEN/content1"
printf 'k1 %s\nk2 %s/missing\n' "$PM_GEN/content1" "$PM_GEN" >"$PM_GEN/ffile"
pm_case postmap-F-build "$PM_GEN/ffile" postmap -c "$PM_CONF" -F lmdb:src
pm_then postmap-F-s postmap -c "$PM_CONF" -F -s lmdb:src
pm_then postmap-F-s-raw postmap -c "$PM_CONF" -s lmdb:src
pm_then postmap-F-q postmap -c "$PM_CONF" -F -q k1 lmdb:src

# Not found, empty input, and a few fatal errors (each costs a second).
pm_case postmap-empty /dev/null postmap -c "$PM_CONF" lmdb:src
pm_then postmap-empty-s postmap -c "$PM_CONF" -s lmdb:src
pm_then postmap-empty-q postmap -c "$PM_CONF" -q x lmdb:src
compare postmap-fatal-type postmap -c "$PM_CONF" -q x nosuch:/x
compare postmap-fatal-nofile postmap -c "$PM_CONF" -q x lmdb:/nonexistent/x
compare postmap-fatal-fail postmap -c "$PM_CONF" -q x fail:x
compare postmap-fatal-usage postmap -c "$PM_CONF" -Z
compare postmap-fatal-noargs postmap -c "$PM_CONF"
compare postmap-fatal-sq postmap -c "$PM_CONF" -s -q x lmdb:x
compare postmap-fatal-nobulk postmap -c "$PM_CONF" texthash:/dev/null
compare postmap-fatal-nosource postmap -c "$PM_CONF" lmdb:/nonexistent/x
compare postmap-fatal-hb postmap -c "$PM_CONF" -b -q x lmdb:x
compare postmap-fatal-inline postmap -c "$PM_CONF" -q x 'inline:{a}'
PM_SED='s/\.lmdb/.db/g' pm_case postmap-fatal-hash-d "" postmap -c "$PM_CONF" -d x hash:nosuch
pm_then postmap-hash-d-created-nothing postmap -c "$PM_CONF" -s lmdb:nosuch
