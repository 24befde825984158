#!/bin/sh
# Reads `nm -n` output of the first-pass kernel on stdin and writes the
# assembly of the .ksyms section: the text symbols sorted by address, as
#   ksyms_count        .quad  number of symbols
#   ksyms_addresses    .quad  address, ascending
#   ksyms_name_offsets .long  offset of each name in ksyms_names
#   ksyms_names        NUL-terminated names
# With no input it writes an empty table (the first pass links that).
awk 'BEGIN { n = 0 }
$2 ~ /^[tTwW]$/ && !seen[$1]++ { addr[n] = $1; name[n] = $3; n++ }
END {
    print "\t.section .ksyms, \"a\""
    print "\t.balign 8"
    print "\t.globl ksyms_count, ksyms_addresses, ksyms_name_offsets, ksyms_names"
    print "ksyms_count:"
    print "\t.quad " n + 0
    print "ksyms_addresses:"
    for (i = 0; i < n; i++)
        print "\t.quad 0x" addr[i]
    print "ksyms_name_offsets:"
    offset = 0
    for (i = 0; i < n; i++) {
        print "\t.long " offset
        offset += length(name[i]) + 1
    }
    print "ksyms_names:"
    for (i = 0; i < n; i++)
        print "\t.asciz \"" name[i] "\""
}'
