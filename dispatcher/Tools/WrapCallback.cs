namespace Drk.Dispatcher.Tools;

/// <summary>A pre- or post-callback of a wrapped guest function.</summary>
public delegate void WrapCallback(WrappedCall call);
