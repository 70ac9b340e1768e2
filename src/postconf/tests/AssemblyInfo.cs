// postconf keeps its tables in static state, as the C program does:
// in-process tests must not run in parallel.
using Xunit;

[assembly: CollectionBehavior(DisableTestParallelization = true)]
