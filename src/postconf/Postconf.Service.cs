// NAME
//	Postconf (service) - parameters defined by master.cf services
// POSTFIX
//	src/postconf/postconf_service.c
// DESCRIPTION
//	A service whose command is a delivery agent (local, error, virtual,
//	smtp, lmtp, pipe) gets the per-transport scheduler parameters
//	"service_name_suffix" with default "$default_parameter"; pipe and
//	spawn also get "service_time_limit". A name that already exists keeps
//	its default but becomes a service parameter.
using Postfix.Global.Params;

namespace Postfix.Commands.Postconf;

internal static partial class Postconf
{
    private static readonly (string Suffix, string Default)[] PipeParams =
    {
        ("_time_limit", "command_time_limit"),
        ("_recipient_limit", "default_recipient_limit"),
        ("_extra_recipient_limit", "default_extra_recipient_limit"),
        ("_recipient_refill_limit", "default_recipient_refill_limit"),
        ("_recipient_refill_delay", "default_recipient_refill_delay"),
        ("_delivery_slot_cost", "default_delivery_slot_cost"),
        ("_delivery_slot_loan", "default_delivery_slot_loan"),
        ("_delivery_slot_discount", "default_delivery_slot_discount"),
        ("_minimum_delivery_slots", "default_minimum_delivery_slots"),
        ("_initial_destination_concurrency", "initial_destination_concurrency"),
        ("_destination_concurrency_limit", "default_destination_concurrency_limit"),
        ("_destination_recipient_limit", "default_destination_recipient_limit"),
        ("_destination_concurrency_positive_feedback", "default_destination_concurrency_positive_feedback"),
        ("_destination_concurrency_negative_feedback", "default_destination_concurrency_negative_feedback"),
        ("_destination_concurrency_failed_cohort_limit", "default_destination_concurrency_failed_cohort_limit"),
        ("_destination_rate_delay", "default_destination_rate_delay"),
        ("_transport_rate_delay", "default_transport_rate_delay"),
    };

    private static readonly (string Suffix, string Default)[] ServiceParams = PipeParams[1..];

    private static readonly (string Suffix, string Default)[] SpawnParams = PipeParams[..1];

    private static (string Suffix, string Default)[]? ServiceDefs(string program) => program switch
    {
        "local" or "error" or "virtual" or "smtp" or "lmtp" => ServiceParams,
        "pipe" => PipeParams,
        "spawn" => SpawnParams,
        _ => null,
    };

    public static void RegisterServiceParameters()
    {
        foreach (var entry in MasterTable)
        {
            if (entry.Argv.Count <= MasterField.Command)
                continue;
            var defs = ServiceDefs(entry.Argv[MasterField.Command]);
            if (defs == null)
                continue;
            var service = entry.Argv[MasterField.Service];
            foreach (var (suffix, def) in defs)
            {
                var name = service + suffix;
                if (ParamTable.TryGetValue(name, out var node))
                    node.SetClass(ParamFlags.Service);
                else
                    ParamTable[name] = new ParamNode(ParamFlags.Service, "$" + def);
            }
        }
    }
}
