# Makefile - build, install and test the Postfix-compatible toolchain.
#
#   make            build every command and daemon into out/ (NativeAOT)
#   make install    install like Debian's postfix (DESTDIR honoured)
#   make test       unit tests + compat tests against the reference Postfix
#   make demo       show the system on a sample configuration
#   make bench      benchmarks, ours beside the reference (docs/benchmarks.md)

DOTNET      ?= dotnet
OUT         ?= out
DESTDIR     ?=
SBINDIR     ?= /usr/sbin
BINDIR      ?= /usr/bin
DAEMONDIR   ?= /usr/lib/postfix/sbin
MANDIR      ?= /usr/share/man
COMPATDIR   ?= /usr/share/postfix-compat
RID         ?= linux-x64
export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# Commands (src/<name>/<name>.csproj), published into out/sbin.
COMMANDS    := $(foreach d,$(filter-out util global attrprobe daemons,$(notdir $(wildcard src/*))),$(if $(wildcard src/$(d)/$(d).csproj),$(d)))
# Set-group-id postdrop programs (as Debian installs them).
SETGID      := postdrop postqueue
# Daemons: one multi-call binary (src/daemons/multicall) with a link per
# daemon name, the names being those of its dispatch table.
DAEMONS     := $(shell test -f src/daemons/multicall/Daemons.cs && sed -n 's/^ *\["\([a-z-]*\)"\] = .*/\1/p' src/daemons/multicall/Daemons.cs)
MANPAGES    := $(wildcard man/man1/*.1 man/man5/*.5 man/man8/*.8)

.PHONY: all build commands daemons man install test unit-test compat-test demo bench deps clean

all: build

build: commands daemons man

commands: deps-dotnet
	@mkdir -p $(OUT)/sbin
	@for c in $(COMMANDS); do \
	    echo "publish $$c"; \
	    $(DOTNET) publish src/$$c/$$c.csproj -c Release -r $(RID) -o $(OUT)/obj-publish/$$c --nologo -v quiet -clp:ErrorsOnly || exit 1; \
	    cp -f $(OUT)/obj-publish/$$c/$$c $(OUT)/sbin/$$c || exit 1; \
	done
	@# As installed: postdrop and postqueue set-gid postdrop (when we can).
	@if [ "$$(id -u)" = 0 ] && getent group postdrop >/dev/null; then \
	    for c in $(SETGID); do [ -f $(OUT)/sbin/$$c ] && chgrp postdrop $(OUT)/sbin/$$c && chmod 2755 $(OUT)/sbin/$$c; done; \
	fi; true

daemons: deps-dotnet
	@mkdir -p $(OUT)/libexec/postfix
	@if [ -n "$(DAEMONS)" ]; then \
	    echo "publish daemons: $(DAEMONS)"; \
	    $(DOTNET) publish src/daemons/multicall/multicall.csproj -c Release -r $(RID) -o $(OUT)/obj-publish/daemons --nologo -v quiet -clp:ErrorsOnly || exit 1; \
	    cp -f $(OUT)/obj-publish/daemons/postfix-daemons $(OUT)/libexec/postfix/postfix-daemons || exit 1; \
	    for d in $(DAEMONS); do ln -sf postfix-daemons $(OUT)/libexec/postfix/$$d; done; \
	fi

man:
	@for p in $(MANPAGES); do \
	    s=$$(dirname $$p | sed 's,man/,,'); mkdir -p $(OUT)/man/$$s; cp -f $$p $(OUT)/man/$$s/; \
	done

install: build
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DAEMONDIR)
	@for c in $(COMMANDS); do \
	    case " $(SETGID) " in *" $$c "*) install -m 2555 -g postdrop $(OUT)/sbin/$$c $(DESTDIR)$(SBINDIR)/$$c;; \
	    *) install -m 755 $(OUT)/sbin/$$c $(DESTDIR)$(SBINDIR)/$$c;; esac; \
	done
	@# mailq and newaliases are sendmail under other names (as Debian links them).
	@if [ -f $(OUT)/sbin/sendmail ]; then \
	    install -d $(DESTDIR)$(BINDIR); \
	    ln -sf $(SBINDIR)/sendmail $(DESTDIR)$(BINDIR)/mailq; \
	    ln -sf $(SBINDIR)/sendmail $(DESTDIR)$(BINDIR)/newaliases; \
	fi
	@if [ -n "$(DAEMONS)" ]; then \
	    install -m 755 $(OUT)/libexec/postfix/postfix-daemons $(DESTDIR)$(DAEMONDIR)/postfix-daemons; \
	    for d in $(DAEMONS); do ln -sf postfix-daemons $(DESTDIR)$(DAEMONDIR)/$$d; done; \
	fi
	@for p in $(MANPAGES); do \
	    s=$$(dirname $$p | sed 's,man/,,'); install -d $(DESTDIR)$(MANDIR)/$$s; install -m 644 $$p $(DESTDIR)$(MANDIR)/$$s/; \
	    gzip -9nf $(DESTDIR)$(MANDIR)/$$s/$$(basename $$p); \
	done
	@# The compatibility runner, for "postfix compat" (postfix-compat(1)).
	install -d $(DESTDIR)$(COMPATDIR)/check
	install -m 755 compat-tests/run $(DESTDIR)$(COMPATDIR)/run
	install -m 644 compat-tests/check/*.py $(DESTDIR)$(COMPATDIR)/check/

# deps: what a fresh machine of this kind lacks (apt packages, NuGet restore).
deps: deps-apt deps-dotnet

deps-apt:
	@sh tools/install-deps.sh

deps-dotnet:
	@$(DOTNET) restore Toolchain.sln --nologo -v quiet

unit-test: deps-dotnet
	$(DOTNET) test Toolchain.sln --nologo -v quiet -clp:ErrorsOnly

compat-test: build deps-apt
	bash compat-tests/run-all.sh

test: deps-apt build unit-test compat-test

demo: deps-apt build
	sh tools/demo.sh

bench: deps-apt build
	sh tools/bench.sh
	bash tools/bench-core.sh
	bash tools/bench-delivery.sh
	bash tools/bench-smtpd.sh

clean:
	rm -rf $(OUT) artifacts
