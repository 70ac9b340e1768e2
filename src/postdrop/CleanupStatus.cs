// NAME
//	CleanupStatus - the status bits postdrop reports
// POSTFIX
//	src/global/cleanup_user.h (CLEANUP_STAT_*)
namespace Postfix.Commands.Postdrop;

internal static class CleanupStatus
{
    public const int Ok = 0;
    public const int Bad = 1 << 0;
    public const int Write = 1 << 1;
    public const int Size = 1 << 2;
    public const int NoPerm = 1 << 9;
}
