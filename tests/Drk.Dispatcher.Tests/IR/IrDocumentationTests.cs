using System.Globalization;
using System.Text.RegularExpressions;
using Drk.Dispatcher.IR;

namespace Drk.Dispatcher.Tests.IR;

/// <summary>
/// The IR listings of docs/ir.md are what the code prints: each listing preceded by a
/// <c>&lt;!-- drk ir ARGS --&gt;</c> comment must equal <c>./drk ir ARGS</c>. When the lowering or the
/// optimiser changes, rerun with DRK_UPDATE_DOCS=1 to rewrite the listings, then reread the prose.
/// </summary>
public sealed partial class IrDocumentationTests
{
    [GeneratedRegex(@"<!-- drk ir (?<args>[^>]*?) -->\n```\n(?<listing>.*?)```\n", RegexOptions.Singleline)]
    private static partial Regex Listing();

    [Fact]
    public void The_listings_in_docs_ir_md_are_what_the_code_prints()
    {
        string path = FindDoc();
        string doc = File.ReadAllText(path).ReplaceLineEndings("\n");
        var stale = new List<string>();
        int count = 0;
        string updated = Listing().Replace(doc, m =>
        {
            count++;
            string args = m.Groups["args"].Value;
            string expected = Print(args);
            if (expected != m.Groups["listing"].Value) stale.Add(args);
            return $"<!-- drk ir {args} -->\n```\n{expected}```\n";
        });
        Assert.True(count >= 4, $"found only {count} checked listings in {path}");
        if (stale.Count > 0 && Environment.GetEnvironmentVariable("DRK_UPDATE_DOCS") == "1")
        {
            File.WriteAllText(path, updated);
            return;
        }
        Assert.True(stale.Count == 0,
            $"{stale.Count} listing(s) of docs/ir.md differ from the code: {string.Join("; ", stale)}. "
            + "Rerun this test with DRK_UPDATE_DOCS=1 to rewrite them (then check the prose around them).");
    }

    /// <summary>What <c>drk ir ARGS</c> prints: options --rip HEX, --cpl N, --lowered, --optimised; the rest is the code in hex.</summary>
    private static string Print(string args)
    {
        var words = args.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        ulong rip = 0x401000;
        int cpl = 0;
        var forms = IrListingForms.Both;
        var hex = new List<string>();
        for (int i = 0; i < words.Length; i++)
        {
            switch (words[i])
            {
                case "--rip": rip = ulong.Parse(words[++i], NumberStyles.HexNumber, CultureInfo.InvariantCulture); break;
                case "--cpl": cpl = int.Parse(words[++i], CultureInfo.InvariantCulture); break;
                case "--lowered": forms = IrListingForms.Lowered; break;
                case "--optimised": forms = IrListingForms.Optimised; break;
                default: hex.Add(words[i].Trim('"')); break;
            }
        }
        return IrListing.Format(Convert.FromHexString(string.Concat(hex)), rip, cpl, forms);
    }

    private static string FindDoc()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "docs", "ir.md");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("docs/ir.md not found above " + AppContext.BaseDirectory);
    }
}
