# Drk tiers against QEMU TCG and native
#
# Written by `drk experiment` next to its data, engines.dat: one row per group (workload, then the geometric
# mean), and for each series three columns: median, 95% CI low, 95% CI high ("-" where there is no data).
# Restyle freely; `gnuplot engines.gp` in this folder redraws engines.svg, engines.png and, where gnuplot has
# cairo, engines.pdf.

reset
set encoding utf8
set datafile separator "\t"
set datafile missing "-"

# Paper style: no frame on top/right, light horizontal grid behind the bars, colour-blind-safe palette
# (Okabe & Ito), thin dark outlines so that bars stay distinct in greyscale print.
set border 3 lw 1 lc rgb "#333333"
set grid ytics lw 1 lc rgb "#e0e0e0" dt 1
set grid noxtics
set tics out nomirror
set xtics scale 0 rotate by 30 right
set ylabel "slowdown vs. qemu-tcg (CPU time)"
set title "Drk tiers against QEMU TCG and native"
set key outside bottom center horizontal Left reverse maxrows 1 samplen 1.2 spacing 1.1 width 2 noenhanced
set style data histograms
set style histogram errorbars gap 1.4 lw 1
set style fill solid 1.0 border rgb "#333333"
set boxwidth 0.9 relative
set bars 0.35
set offsets 0, 0, graph 0.06, 0
set xrange [-0.6:8.6]
set logscale y 10
set yrange [*:*]
set format y "%g"
set arrow from graph 0, first 1 to graph 1, first 1 nohead back dt 2 lw 1 lc rgb "#555555"


array palette[8] = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"]

set terminal svg size 920,380 dynamic font "Helvetica,11" background rgb "white"
set output "engines.svg"
plot "engines.dat" using 2:3:4:xtic(1) title columnheader(2) fc rgb palette[1] lc rgb "#333333", \
     "" using 5:6:7 title columnheader(5) fc rgb palette[2] lc rgb "#333333", \
     "" using 8:9:10 title columnheader(8) fc rgb palette[3] lc rgb "#333333", \
     "" using 11:12:13 title columnheader(11) fc rgb palette[4] lc rgb "#333333"

if (strstrt(GPVAL_TERMINALS, " pngcairo ") > 0) {
    set terminal pngcairo size 920*2,380*2 font "Helvetica,22" linewidth 2 background rgb "white"
} else {
    set terminal png size 920*2,380*2 font "Helvetica,22" linewidth 2 background rgb "white"
}
set output "engines.png"
replot

if (strstrt(GPVAL_TERMINALS, " pdfcairo ") > 0) {
    set terminal pdfcairo size 9.2in,3.8in font "Helvetica,9" linewidth 1 background rgb "white"
    set output "engines.pdf"
    replot
}
set output
