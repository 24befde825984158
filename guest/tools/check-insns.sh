#!/bin/sh
# check-insns.sh FILE...
#
# Fails if compiled code uses an instruction Drk's execution core does not
# have: x87, MMX, SSE, AVX (any use of %st, %mm, %xmm, %ymm, %zmm registers or
# an f*/v* mnemonic), XSAVE/FXSAVE, RDRAND/RDSEED. Only the executable
# sections gcc produced are scanned (.text*); the hand-written 16/32-bit boot
# and trampoline code is not 64-bit code and is reviewed by hand.
# On success prints the distinct mnemonics used, for the execution core's team.
set -eu
status=0
list=$(mktemp)
trap 'rm -f "$list"' EXIT
for f in "$@"; do
    for s in $(objdump -h "$f" | awk '$2 ~ /^\.text/ { print $2 }'); do
        objdump -d --no-show-raw-insn -j "$s" "$f" |
            awk -F'\t' -v file="$f" '
                NF >= 2 && $1 ~ /^ *[0-9a-f]+:$/ {
                    n = split($2, w, " ")
                    i = 1
                    while (i < n && w[i] ~ /^(lock|rep|repz|repnz|repe|repne|data16|cs|ds|notrack|bnd|rex\.?[WRXB]*)$/)
                        i++
                    print file "\t" $1 "\t" w[i] "\t" $2
                }'
    done
done > "$list"
bad=$(awk -F'\t' '
    $4 ~ /%(x|y|z)mm|%mm[0-7]|%st/ || $3 ~ /^(f|v)/ || $3 ~ /^(xsave|xrstor|fxsave|fxrstor|rdrand|rdseed|ldmxcsr|stmxcsr|emms)/ \
        { print "  " $1 " " $2 " " $4 }' "$list")
if [ -n "$bad" ]; then
    echo "check-insns: forbidden instructions:"
    echo "$bad"
    status=1
else
    echo "check-insns: ok, mnemonics used:"
    awk -F'\t' '{ print $3 }' "$list" | sort -u | tr '\n' ' ' | fold -s -w 78 | sed 's/^/  /'
    echo
fi
exit $status
