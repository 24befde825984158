using System.Globalization;
using System.Text;
using Drk.Experiments.Analysis;

namespace Drk.Experiments.Figures;

/// <summary>
/// Writes a bar chart as a tab-separated data file and a gnuplot script made from the embedded
/// <c>grouped-bars.gp</c> template, so that a paper author can restyle the figure without rerunning anything.
/// </summary>
public static class GnuplotScriptWriter
{
    private const string TemplateResource = "Drk.Experiments.Figures.Templates.grouped-bars.gp";

    /// <summary>Writes <c>Name.dat</c> and <c>Name.gp</c> into <paramref name="directory"/>; returns the script's path.</summary>
    public static string Write(BarChart chart, string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, chart.Name + ".dat"), Data(chart));
        var script = Path.Combine(directory, chart.Name + ".gp");
        File.WriteAllText(script, Script(chart));
        return script;
    }

    public static string Data(BarChart chart)
    {
        var sb = new StringBuilder();
        sb.Append("# ").Append(chart.YLabel).Append(": median, 95% CI low, 95% CI high per series\n");
        sb.Append("group");
        foreach (var s in chart.Series) sb.Append('\t').Append(Clean(s)).Append("\tlow\thigh");
        sb.Append('\n');
        for (var g = 0; g < chart.Groups.Count; g++)
        {
            sb.Append(Clean(chart.Groups[g]));
            foreach (var e in chart.Values[g])
            {
                if (e is { } v) sb.Append('\t').Append(Number(v.Value)).Append('\t').Append(Number(v.Low)).Append('\t').Append(Number(v.High));
                else sb.Append("\t-\t-\t-");
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    public static string Script(BarChart chart)
    {
        var groups = chart.Groups.Count;
        var bars = chart.Series.Count;
        var longest = chart.Groups.Max(g => g.Length);
        var rotate = groups * Math.Max(longest, 4) > 90;
        // Room per group grows with its bars; a lone series still gets a readable bar.
        var widthPx = Math.Clamp(110 + groups * (bars * 16 + 26), 420, 1400);
        // With only a few bars, widen the x range so that a lone bar does not fill the plot.
        var pad = groups * bars < 4 ? 0.8 : 0.0;
        var heightPx = rotate ? 380 : 330;
        var values = new Dictionary<string, string>
        {
            ["NAME"] = chart.Name,
            ["DATA"] = chart.Name + ".dat",
            ["TITLE"] = Escape(chart.Title),
            ["YLABEL"] = Escape(chart.YLabel),
            ["XTICS"] = rotate ? "rotate by 30 right" : "",
            ["KEYROWS"] = (bars > 4 ? 2 : 1).ToString(CultureInfo.InvariantCulture),
            ["XMIN"] = Number(-0.6 - pad),
            ["XMAX"] = Number(groups - 0.4 + pad),
            ["WIDTH_PX"] = widthPx.ToString(CultureInfo.InvariantCulture),
            ["HEIGHT_PX"] = heightPx.ToString(CultureInfo.InvariantCulture),
            ["WIDTH_IN"] = Number(Math.Round(widthPx / 100.0, 2)),
            ["HEIGHT_IN"] = Number(Math.Round(heightPx / 100.0, 2)),
            ["YAXIS"] = chart.LogScale ? "set logscale y 10\nset yrange [*:*]\nset format y \"%g\"" : "set yrange [0:*]",
            ["REFERENCE"] = chart.ReferenceLine is { } y
                ? $"set arrow from graph 0, first {Number(y)} to graph 1, first {Number(y)} nohead back dt 2 lw 1 lc rgb \"#555555\""
                : "",
            ["SEPARATOR"] = chart.SummaryGroups > 0
                ? $"set arrow from {Number(groups - chart.SummaryGroups - 0.5)}, graph 0 to {Number(groups - chart.SummaryGroups - 0.5)}, graph 1 nohead back dt 3 lw 1 lc rgb \"#999999\""
                : "",
            ["PLOT"] = PlotCommand(chart),
        };
        var text = Template();
        foreach (var (key, value) in values) text = text.Replace($"@{key}@", value, StringComparison.Ordinal);
        return text;
    }

    private static string PlotCommand(BarChart chart)
    {
        var sb = new StringBuilder("plot ");
        for (var s = 0; s < chart.Series.Count; s++)
        {
            var col = 2 + s * 3;
            if (s > 0) sb.Append(", \\\n     ");
            sb.Append(s == 0 ? $"\"{chart.Name}.dat\"" : "\"\"")
              .Append($" using {col}:{col + 1}:{col + 2}")
              .Append(s == 0 ? ":xtic(1)" : "")
              .Append($" title columnheader({col}) fc rgb palette[{s % 8 + 1}] lc rgb \"#333333\"");
            // Past eight series the colours repeat; a fill pattern keeps them apart.
            if (s >= 8) sb.Append($" fs pattern {s / 8 + 1} border rgb \"#333333\"");
        }
        return sb.ToString();
    }

    private static string Template()
    {
        using var stream = typeof(GnuplotScriptWriter).Assembly.GetManifestResourceStream(TemplateResource)
            ?? throw new InvalidOperationException($"missing embedded template {TemplateResource}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static string Number(double x) => double.IsFinite(x) ? x.ToString("G6", CultureInfo.InvariantCulture) : "-";

    // Tabs and newlines would break the data file's columns.
    private static string Clean(string s) => s.Replace('\t', ' ').Replace('\n', ' ');

    private static string Escape(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
}
