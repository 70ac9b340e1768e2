// postfix tests swap the static Msg and stdout writers: no parallel runs.
using Xunit;

[assembly: CollectionBehavior(DisableTestParallelization = true)]
