# NAME
#	smtp_check - SMTP dialogues against throwaway loopback instances
AREA = "smtp"


def check(run, conf, realconf):
    run.add(AREA, "smtp", "skip", note="not implemented yet")
