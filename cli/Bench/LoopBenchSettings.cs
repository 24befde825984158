namespace Drk.Cli.Bench;

/// <summary>What <see cref="LoopBenchOptions"/> parsed: how long and how often to run the loop, over which memories, how to report.</summary>
internal sealed record LoopBenchSettings(long Instructions, int Runs, bool MachineReadable, BenchMemory[] Memories)
{
    /// <summary>Loop iterations for about <see cref="Instructions"/> guest instructions.</summary>
    public long Iterations => Math.Max(1, Instructions / InterpreterLoop.InstructionsPerIteration);

    /// <summary>How a report's table names <paramref name="memory"/>.</summary>
    public static string MemoryName(BenchMemory memory) => memory == BenchMemory.Flat ? "FlatMemory" : "Mmu (page walk + soft TLB)";
}
