#!/usr/bin/env bash
# warm_ab.sh BENCH_TILES CONFIG TILES - the warm tile before and after, in one run
# (bench/run.sh section "warmab"): bench_tiles --warm of this tree and of commit
# BENCH_WARM_BEFORE (default 1888197, the last commit before the tile-format and
# warm-path work of issue 17), built from git in bench/out/before-warm/, on every
# dataset's tiles of the list, the two alternated dataset by dataset for
# BENCH_WARM_AB_ROUNDS rounds (3) of BENCH_WARM_ITER passes (20). Prints the
# median and p95 per dataset of each and their ratio. PNG tiles (the route both
# commits serve). Non-zero when a tile answers an unexpected status.
set -u
bench=$1 config=$2 tiles=$3
ROOT=$(pwd)
OUT=$ROOT/bench/out
BEFORE=${BENCH_WARM_BEFORE:-1888197}
ROUNDS=${BENCH_WARM_AB_ROUNDS:-3}
ITER=${BENCH_WARM_ITER:-20}
say() { echo "bench/warm_ab.sh: $*" >&2; }

src=$OUT/before-warm
if [ ! -x "$src/build/rel/bench_tiles" ] || [ "$(cat "$src/.commit" 2>/dev/null)" != "$BEFORE" ]; then
    say "building bench_tiles of $BEFORE in $src"
    git worktree remove --force "$src" >/dev/null 2>&1
    rm -rf "$src"
    git worktree add --detach "$src" "$BEFORE" >/dev/null 2>&1 || { say "no commit $BEFORE"; exit 2; }
    make -C "$src" -s build/rel/bench_tiles >"$OUT/before-warm-build.log" 2>&1 ||
        { say "cannot build $BEFORE (see $OUT/before-warm-build.log)"; exit 2; }
    echo "$BEFORE" >"$src/.commit"
fi

samples=$OUT/warm_ab.txt
: >"$samples"
rc=0
layers=$(awk '!seen[$1]++ { print $1 }' "$tiles")
for r in $(seq "$ROUNDS"); do
    for layer in $layers; do
        grep "^$layer " "$tiles" >"$OUT/ab_$layer.txt"
        for who in before after; do
            bin=$bench
            [ $who = before ] && bin=$src/build/rel/bench_tiles
            "$bin" --warm "$config" "$OUT/ab_$layer.txt" "$ITER" 2>>"$OUT/warm_ab.err" |
                awk -v w="$who" '$1 == "S" && $6 == 200 { print w, $3, $7 }' >>"$samples" || rc=1
        done
    done
    say "round $r of $ROUNDS done"
done

echo "Before: \`bench_tiles --warm\` of commit $BEFORE; after: this tree. Every 200 tile"
echo "of the list (PNG), $ROUNDS rounds x $ITER passes each, the two alternated dataset by"
echo "dataset in this run; wall ms per tile in process."
echo
echo "| dataset | tiles x passes | before median | before p95 | after median | after p95 | after / before (median) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for layer in $layers; do
    stats() { awk -v w="$1" -v l="$layer" '$1 == w && $2 == l { print $3 }' "$samples" | sort -g |
        awk '{ v[NR] = $1 } END { if (!NR) { print "- - 0"; exit }
             m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
             p = v[int(0.95 * (NR - 1)) + 1]; printf "%.2f %.2f %d\n", m, p, NR }'; }
    read -r bm bp bn < <(stats before)
    read -r am ap an < <(stats after)
    ratio=$(awk -v a="$am" -v b="$bm" 'BEGIN { print (b > 0 ? sprintf("%.2f", a / b) : "-") }')
    echo "| $layer | $an | $bm | $bp | $am | $ap | $ratio |"
done
exit "$rc"
