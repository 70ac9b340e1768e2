// Msg keeps its writer and tag in static state, as msg(3) does:
// in-process tests must not run in parallel.
using Xunit;

[assembly: CollectionBehavior(DisableTestParallelization = true)]
