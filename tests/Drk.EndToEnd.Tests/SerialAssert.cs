namespace Drk.EndToEnd.Tests;

/// <summary>Compares two serial transcripts line by line and names the first difference.</summary>
public static class SerialAssert
{
    public static void SameLines(IReadOnlyList<string> expected, IReadOnlyList<string> actual, string expectedName, string actualName)
    {
        int n = Math.Min(expected.Count, actual.Count);
        for (int i = 0; i < n; i++)
        {
            if (expected[i] != actual[i])
                Assert.Fail($"line {i + 1} differs:\n  {expectedName}: {expected[i]}\n  {actualName}: {actual[i]}\n\n{actualName}:\n{string.Join('\n', actual)}");
        }
        if (expected.Count != actual.Count)
            Assert.Fail($"{expectedName} has {expected.Count} lines, {actualName} {actual.Count}; the first {n} agree\n\n{expectedName}:\n{string.Join('\n', expected)}\n\n{actualName}:\n{string.Join('\n', actual)}");
    }
}
