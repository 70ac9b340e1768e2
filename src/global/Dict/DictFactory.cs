// NAME
//	DictFactory - how DictOpen creates a table of one type
// POSTFIX
//	src/util/dict_open.c (DICT_OPEN_FN)
// DESCRIPTION
//	Name is the part after "type:". A factory that cannot open the
//	table returns DictSurrogate.Create(...) (fatal in commands, an
//	error-returning table in daemons), as dict_surrogate() does.
namespace Postfix.Global.Dict;

public delegate Dict DictFactory(string name, DictOpenFlags openFlags, DictFlags dictFlags);
