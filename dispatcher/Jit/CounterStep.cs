namespace Drk.Dispatcher.Jit;

/// <summary>What a REP block done in bulk adds to tool counter <see cref="Counter"/> for each iteration (<see cref="BulkString"/>).</summary>
internal readonly record struct CounterStep(int Counter, long Delta);
