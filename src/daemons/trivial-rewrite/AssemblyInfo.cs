[assembly: System.Runtime.CompilerServices.InternalsVisibleTo("trivial-rewrite.Tests")]
