# postalias.sh - postalias(1) against the reference: aliases(5) parsing
# (continuation lines, quoted names, :include:, commands, files), the "@"
# sentinel and YP_* keys, queries, dumps, deletes, incremental updates,
# and lmdb alias files read across both ways. The helpers are postmap.sh's
# (compat-tests/table-lib.sh); the time in YP_LAST_MODIFIED is masked.

. "$(dirname "${BASH_SOURCE[0]}")/../table-lib.sh"
PA_YP='s/^YP_LAST_MODIFIED\(:*\)\t[0-9]*$/YP_LAST_MODIFIED\1\tTIME/'

PA_GEN="$COMPAT_TMP/pa-gen"
mkdir -p "$PA_GEN"

# pa_all NAME SRC [OPTS] - build as lmdb and hash, dump, query every name.
pa_all() {
    local n=$1 f=$2; shift 2
    awk -F: '!/^[ \t]*#/ && NF && $0 !~ /^[ \t]/ {print $1; print toupper($1)}' "$f" >"$PA_GEN/keys"
    echo @ >>"$PA_GEN/keys"; echo YP_MASTER_NAME >>"$PA_GEN/keys"; echo nosuchalias >>"$PA_GEN/keys"
    pm_case "$n-lmdb" "$f" postalias -c "$PM_CONF" "$@" lmdb:src
    PM_SED=$PA_YP pm_then "$n-lmdb-s" postalias -c "$PM_CONF" "$@" -s lmdb:src
    PM_STDIN=$PA_GEN/keys pm_then "$n-lmdb-q" postalias -c "$PM_CONF" "$@" -q - lmdb:src
    PM_SED=$PA_YP pm_cross "$n-lmdb-cross" lmdb:src
    PM_SED='s/\.lmdb/.db/g' pm_case "$n-hash" "$f" postalias -c "$PM_CONF" "$@" src
    PM_SED="s/\.lmdb/.db/g; $PA_YP" PM_SORT=1 pm_then "$n-hash-s" postalias -c "$PM_CONF" "$@" -s src
    PM_STDIN=$PA_GEN/keys PM_SED='s/\.lmdb/.db/g' pm_then "$n-hash-q" postalias -c "$PM_CONF" "$@" -q - src
}

corpus=/work/shared/compat-corpus
[ -d "$corpus" ] || corpus=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared/compat-corpus
for f in $(find "$corpus" -type f -name aliases | LC_ALL=C sort); do
    pa_all "postalias-corpus-$(echo "${f#"$corpus"/}" | tr '/' '_')" "$f"
done

# Every syntax the parser knows, and the ones it refuses.
cat >"$PA_GEN/syntax" <<'ALIASES'
# comment
root: a, b,c
Postmaster:root
"quoted name": x
pipe: "|/usr/bin/cmd arg", |/bin/x
inc: :include:/etc/file
file: /var/mail/file
cmt: a (comment (nested)) b
ang: Foo Bar <a@b.c>, <d@e>
cont: one,
  two
	three
bad line
a@b: x
a%b: x
x, y: z
: novalue
nokey:
q\"x: y
weird: a@b@c, "x y"@z, x.y@z.., [1.2.3.4], "a\"b"
lit: user@[192.0.2.1]
semi: a; b! c
trail: a,
dup: 1
dup: 2
DUP: 3
Upper: Value With Case
tab:	tabbed	value
ALIASES
pa_all postalias-syntax "$PA_GEN/syntax"
pa_all postalias-syntax-f "$PA_GEN/syntax" -f
pa_all postalias-syntax-r "$PA_GEN/syntax" -r
pa_all postalias-syntax-w "$PA_GEN/syntax" -w
pa_all postalias-syntax-N "$PA_GEN/syntax" -N
pa_all postalias-syntax-n "$PA_GEN/syntax" -n

# Generated aliases: random names and cases, long continued lists.
awk 'BEGIN { srand(11); for (i = 0; i < 1500; i++) {
        k = ""; n = 1 + int(rand() * 10);
        for (j = 0; j < n; j++) k = k sprintf("%c", (rand() < 0.3 ? 65 : 97) + int(rand() * 26));
        printf "%s%d: ", k, i % 1200;
        m = 1 + int(rand() * 4);
        for (j = 0; j < m; j++) {
            if (j) printf (rand() < 0.3 ? ",\n\t" : ", ");
            r = rand();
            if (r < 0.1) printf "\"|/usr/bin/prog %d\"", j; else if (r < 0.2) printf "/var/spool/f%d", j;
            else if (r < 0.25) printf ":include:/etc/postfix/l%d", j; else printf "user%d@example.com", int(rand() * 100);
        }
        printf "\n";
        if (rand() < 0.03) printf "# note\n";
    } }' >"$PA_GEN/gen"
pa_all postalias-gen "$PA_GEN/gen"

# Single queries, several maps, deletes, incremental updates.
printf 'a: A1\nb: B1\n' >"$PA_GEN/m1"
printf 'b: B2\nc: C2\n' >"$PA_GEN/m2"
pm_case postalias-multi "$PA_GEN/m1" postalias -c "$PM_CONF" lmdb:src
[ -z "${PM_DIR:-}" ] || { cp "$PA_GEN/m2" "$PM_DIR/ref/src2"; cp "$PA_GEN/m2" "$PM_DIR/ours/src2"; }
pm_then postalias-multi2 postalias -c "$PM_CONF" lmdb:src2
for k in a b c d B @; do
    pm_then "postalias-multi-q-$k" postalias -c "$PM_CONF" -q "$k" lmdb:src lmdb:src2
done
pm_then postalias-d postalias -c "$PM_CONF" -d b lmdb:src lmdb:src2
pm_then postalias-d-again postalias -c "$PM_CONF" -d b lmdb:src lmdb:src2
PM_SED=$PA_YP pm_then postalias-d-s postalias -c "$PM_CONF" -s lmdb:src2
printf 'a\nc\nzz\n' >"$PA_GEN/dkeys"
PM_STDIN=$PA_GEN/dkeys pm_then postalias-d-stdin postalias -c "$PM_CONF" -d - lmdb:src lmdb:src2
PM_SED=$PA_YP pm_then postalias-d-stdin-s postalias -c "$PM_CONF" -s lmdb:src
printf 'new: x, y\nA: again\n' >"$PA_GEN/incr"
PM_STDIN=$PA_GEN/incr pm_then postalias-i postalias -c "$PM_CONF" -i lmdb:src
PM_SED=$PA_YP pm_then postalias-i-s postalias -c "$PM_CONF" -s lmdb:src

# Errors (each fatal costs a second on both sides).
compare postalias-fatal-usage postalias -c "$PM_CONF" -b
compare postalias-fatal-noargs postalias -c "$PM_CONF"
compare postalias-fatal-nofile postalias -c "$PM_CONF" -q x lmdb:/nonexistent/x
compare postalias-fatal-nosource postalias -c "$PM_CONF" lmdb:/nonexistent/x
compare postalias-fatal-type postalias -c "$PM_CONF" -q x nosuch:x
compare postalias-q-inline postalias -c "$PM_CONF" -q a 'inline:{a=b}'
