// NAME
//	DictOpen.Patterns - the pattern and network table types
// POSTFIX
//	src/util/dict_open.c (dict_open_dflt_table entries for regexp,
//	pcre, cidr, tcp, socketmap; mail_dict.c for memcache, sqlite, pgsql)
// DESCRIPTION
//	Registers the types implemented next to this file with the DictOpen
//	registry.
using System.Collections.Generic;

namespace Postfix.Global.Dict;

public static partial class DictOpen
{
    static partial void AddMoreTypes(Dictionary<string, DictFactory> table)
    {
        table[RegexpDict.TypeName] = RegexpDict.Open;
        table[PcreDict.TypeName] = PcreDict.Open;
        table[CidrDict.TypeName] = CidrDict.Open;
        table[TcpDict.TypeName] = TcpDict.Open;
        table[SocketmapDict.TypeName] = SocketmapDict.Open;
        table[MemcacheDict.TypeName] = MemcacheDict.Open;
        table[SqliteDict.TypeName] = SqliteDict.Open;
        table[PgsqlDict.TypeName] = PgsqlDict.Open;
    }
}
