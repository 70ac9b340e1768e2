// NAME
//	DsnFilter - replace a delivery status by table lookup
// POSTFIX
//	src/global/dsn_filter.c, bounce.c (bounce_client_init)
// DESCRIPTION
//	Init(title, maps) is bounce_client_init(): with a non-empty list of
//	tables (for example smtp_delivery_status_filter), every status that
//	the DeliveryStatus calls record is first looked up as "X.Y.Z reason";
//	a result "X.Y.Z new text" replaces status and reason (action
//	"delayed" for 4.x.x, "failed" for 5.x.x). A result that would turn
//	success into failure or back is ignored with a warning
//	"TITLE: bad status code: RESULT".
using Postfix.Global.Dict;
using Postfix.Util;

namespace Postfix.Global.Deliver;

public static class DsnFilter
{
    public static void Init(string title, string mapNames)
    {
        if (DeliveryStatus.Filter != null)
            Msg.Panic("bounce_client_init: duplicate initialization");
        if (mapNames.Length == 0)
            return;
        var maps = Maps.Create(title, mapNames, DictFlags.Lock);
        DeliveryStatus.Filter = dsn => Lookup(maps, dsn);
    }

    private static bool IsSuccess(string s) => DsnUtil.Valid(s) > 0 && s[0] == '2';

    private static bool IsNdr(string s) => DsnUtil.Valid(s) > 0 && s[0] is '4' or '5';

    // Lookup - dsn_filter_lookup().
    public static Dsn? Lookup(Maps maps, Dsn dsn)
    {
        if (Msg.Verbose > 0)
            Msg.Info($"dsn_filter_lookup: {dsn.Status} {dsn.Reason}");
        bool ndr;
        if (IsSuccess(dsn.Status))
            ndr = false;
        else if (IsNdr(dsn.Status))
            ndr = true;
        else
        {
            Msg.Panic($"dsn_filter_lookup: dsn argument with bad status code: {dsn.Status}");
            return null;
        }
        var result = maps.Find(dsn.Status + " " + dsn.Reason);
        if (result == null)
            return null;
        if ((!ndr && !IsSuccess(result)) || (ndr && !IsNdr(result)))
        {
            Msg.Warn($"{maps.Title}: bad status code: {result}");
            return null;
        }
        var (status, text) = DsnUtil.Split("can't happen", result);
        var action = result[0] == '4' ? "delayed" : result[0] == '5' ? "failed" : dsn.Action;
        return new Dsn(status, action, text, dsn.Dtype, dsn.Dtext, dsn.Mtype, dsn.Mname);
    }
}
