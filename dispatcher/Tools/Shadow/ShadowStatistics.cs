namespace Drk.Dispatcher.Tools.Shadow;

/// <summary>What a <see cref="ShadowMemory"/> costs in host memory right now, and how often it had to materialise chunks.</summary>
/// <param name="Chunks">Chunks covering the guest memory (each <see cref="ShadowMemory.ChunkSize"/> guest bytes).</param>
/// <param name="MaterializedChunks">Chunks that own their storage (written to with mixed values).</param>
/// <param name="UniformChunkValues">Distinct values for which a shared uniform chunk exists.</param>
/// <param name="HostBytes">Host bytes held: the chunk directory, the materialised chunks and the shared uniform chunks.</param>
/// <param name="Materializations">Uniform chunks turned into owned ones since construction (a chunk made uniform again and re-written counts twice).</param>
public readonly record struct ShadowStatistics(long Chunks, long MaterializedChunks, int UniformChunkValues, long HostBytes, long Materializations);
