// sendmail tests swap the static Msg writer: no parallel runs.
using Xunit;

[assembly: CollectionBehavior(DisableTestParallelization = true)]
