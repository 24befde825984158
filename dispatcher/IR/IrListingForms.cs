namespace Drk.Dispatcher.IR;

/// <summary>Which forms of each block an <see cref="IrListing"/> prints.</summary>
[Flags]
public enum IrListingForms
{
    /// <summary>The IR as the lowering produced it.</summary>
    Lowered = 1,
    /// <summary>The IR after the optimiser.</summary>
    Optimised = 2,
    /// <summary>Both, each headed by a line saying which.</summary>
    Both = Lowered | Optimised,
}
