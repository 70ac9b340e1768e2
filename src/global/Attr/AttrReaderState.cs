// NAME
//	AttrReaderState - where an interrupted attribute scan resumes
// DESCRIPTION
//	The scan consumes input one whole attribute at a time; when the
//	buffer ends inside one, AttrReader stops before it and this state
//	(position in the wish list, hash group phase, conversion count)
//	carries over to the next AttrReader built on more input, as
//	Utf8JsonReader does with JsonReaderState. default is a fresh scan
//	of the zero-terminated encoding.
namespace Postfix.Global.Attr;

public struct AttrReaderState
{
    public AttrReaderState(AttrEncoding encoding) => Encoding = encoding;

    public AttrEncoding Encoding { get; }

    internal bool Started;          // the end-of-input check is done
    internal int Next;              // next spec to fetch
    internal bool HaveWanted;       // Wanted is valid
    internal int Wanted;            // spec being looked for; Next - 1
    internal bool WantEnd;          // looking for the list terminator
    internal byte Phase;            // 0, InHash (before "{"), InGroup (after "{")
    internal int Conversions;
    internal int GroupEnd;          // 0, or the end of the current Func group
    internal int GroupBase;         // conversions before the group

    internal const byte InHash = 1;
    internal const byte InGroup = 2;

    // Reset - ready for the next attribute list on the same stream.
    internal void Reset()
    {
        var e = Encoding;
        this = new AttrReaderState(e);
    }
}
