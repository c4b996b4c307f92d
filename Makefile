# Postel build. `make` builds build/postel; `make check` builds an
# AddressSanitizer + UBSan binary and runs unit, fuzz and end-to-end tests.
CC ?= cc
PKGS := libevent libevent_openssl libevent_pthreads openssl sqlite3 libunbound libcurl libpsl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
WARN := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
	-Wformat=2 -Wno-format-nonliteral -Wno-format-truncation -Wstrict-prototypes -Wmissing-prototypes
BASE_CFLAGS := -std=c17 -D_GNU_SOURCE -Isrc -g -pthread $(WARN) $(PKG_CFLAGS)
LIBS := $(PKG_LIBS) -lcrypt -lpthread -lz

SRCS := $(sort $(wildcard src/*/*.c))
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
MAIN_SRC := src/main.c

REL_DIR := build/release
SAN_DIR := build/asan
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined

REL_OBJS := $(LIB_SRCS:src/%.c=$(REL_DIR)/%.o)
SAN_OBJS := $(LIB_SRCS:src/%.c=$(SAN_DIR)/%.o)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(SAN_DIR)/tests/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
FUZZ_SECONDS ?= 15

.PHONY: all setup run check check-layers unit fuzz fuzz-long e2e asan clean bench bench-imap \
	bench-imap-big install uninstall

all: build/postel

build/postel: $(REL_OBJS) $(REL_DIR)/main.o
	$(CC) -O2 -o $@ $^ $(LIBS)

$(REL_DIR)/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O2 -MMD -MP -c -o $@ $<

# Test drivers (tests/tools/*.c) linked with the sanitizer objects: the
# end-to-end tests run them (smtpc_probe drives the SMTP client).
TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(SAN_DIR)/tools/%)

asan: build/postel-asan $(TOOL_BINS)
build/postel-asan: $(SAN_OBJS) $(SAN_DIR)/main.o
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS)

$(SAN_DIR)/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 $(SAN_FLAGS) -MMD -MP -c -o $@ $<

$(SAN_DIR)/tests/%: tests/unit/%.c $(SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 $(SAN_FLAGS) -Isrc -o $@ $< $(SAN_OBJS) \
		$(LIBS) -lcmocka

# Small programs the end-to-end tests drive (tests/tools/), built like the
# unit tests, e.g. dsn_tool for tests/e2e/test_dsn_format.py.
$(SAN_DIR)/tools/%: tests/tools/%.c $(SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(BASE_CFLAGS) -O1 $(SAN_FLAGS) -Isrc -o $@ $< $(SAN_OBJS) $(LIBS)

# The library is compiled once for every fuzz target (instrumented for
# coverage, without libFuzzer's main), then each target links it.
FUZZ_DIR := build/fuzz
FUZZ_CFLAGS := $(BASE_CFLAGS) -Wno-unknown-warning-option -O1
FUZZ_OBJS := $(LIB_SRCS:src/%.c=$(FUZZ_DIR)/obj/%.o)
.SECONDARY: $(FUZZ_OBJS)

$(FUZZ_DIR)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
		-MMD -MP -c -o $@ $<

$(FUZZ_DIR)/%: tests/fuzz/%.c $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -Isrc \
		-o $@ $< $(FUZZ_OBJS) $(LIBS)

setup:
	bash scripts/setup.sh

# Sets up the machine, builds, and runs the server on its embedded default.
run: setup all
	./build/postel serve

# The include graph of src/ against the layer order written in the script
# (docs/ARCHITECTURE.md, "Layers"); ends "layers: N passed, M failed".
check-layers:
	@/usr/bin/python3 scripts/check-layers.py

unit: $(UNIT_BINS)
	@bash tests/run-unit.sh $(UNIT_BINS)

fuzz: $(FUZZ_BINS)
	@bash tests/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

# Every fuzz target for FUZZ_LONG_SECONDS each (default 10 minutes), keeping
# what it finds in build/fuzz/corpus/ so repeated runs build on each other:
#   make fuzz-long FUZZ_LONG_SECONDS=3600
FUZZ_LONG_SECONDS ?= 600
fuzz-long: $(FUZZ_BINS)
	@FUZZ_CORPUS_DIR=$(CURDIR)/$(FUZZ_DIR)/corpus \
		bash tests/run-fuzz.sh $(FUZZ_LONG_SECONDS) $(FUZZ_BINS)

# -rs: the reason of every skipped test; per-test timeout in
# tests/e2e/pytest.ini.
e2e: build/postel-asan all $(TOOL_BINS)
	POSTEL_BIN=$(CURDIR)/build/postel-asan /usr/bin/python3 -m pytest -q -rs tests/e2e

# Sets up the machine, builds, and runs every suite, each even when an
# earlier one failed; fails when any did. The last line is the total,
# "total: N passed, M failed, K skipped" (tests/run-check.sh).
check: setup
	@MAKE="$(MAKE)" bash tests/run-check.sh

bench: all
	bash bench/run.sh

bench-imap: all
	bash bench/run_imap.sh

bench-imap-big: all
	bash bench/run_imap_big.sh

# `make install` (PREFIX=/usr/local, DESTDIR for staging): the binary, the
# manual pages, the systemd unit with its sysusers.d and tmpfiles.d files,
# an example configuration (never over an existing one), and the fail2ban
# and logrotate examples. README.md, "Installing".
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/postel
SYSCONFDIR ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
INSTALL ?= install

install: build/postel
	$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SYSTEMDUNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
		$(DESTDIR)$(SYSCONFDIR)/postel \
		$(DESTDIR)$(DOCDIR)/examples/fail2ban/filter.d \
		$(DESTDIR)$(DOCDIR)/examples/fail2ban/jail.d
	$(INSTALL) -m 0755 build/postel $(DESTDIR)$(SBINDIR)/postel
	$(INSTALL) -m 0644 docs/man/postel.8 $(DESTDIR)$(MANDIR)/man8/postel.8
	$(INSTALL) -m 0644 docs/man/postel.conf.5 \
		$(DESTDIR)$(MANDIR)/man5/postel.conf.5
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		contrib/systemd/postel.service.in > build/postel.service
	$(INSTALL) -m 0644 build/postel.service \
		$(DESTDIR)$(SYSTEMDUNITDIR)/postel.service
	$(INSTALL) -m 0644 contrib/systemd/postel.sysusers \
		$(DESTDIR)$(SYSUSERSDIR)/postel.conf
	$(INSTALL) -m 0644 contrib/systemd/postel.tmpfiles \
		$(DESTDIR)$(TMPFILESDIR)/postel.conf
	[ -e $(DESTDIR)$(SYSCONFDIR)/postel/postel.conf ] || \
		$(INSTALL) -m 0644 contrib/postel.conf \
			$(DESTDIR)$(SYSCONFDIR)/postel/postel.conf
	$(INSTALL) -m 0644 contrib/fail2ban/filter.d/postel.conf \
		$(DESTDIR)$(DOCDIR)/examples/fail2ban/filter.d/postel.conf
	$(INSTALL) -m 0644 contrib/fail2ban/jail.d/postel.conf \
		$(DESTDIR)$(DOCDIR)/examples/fail2ban/jail.d/postel.conf
	$(INSTALL) -m 0644 contrib/logrotate/postel \
		$(DESTDIR)$(DOCDIR)/examples/logrotate.postel

# Leaves the configuration file (it may hold the administrator's edits).
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/postel $(DESTDIR)$(MANDIR)/man8/postel.8 \
		$(DESTDIR)$(MANDIR)/man5/postel.conf.5 \
		$(DESTDIR)$(SYSTEMDUNITDIR)/postel.service \
		$(DESTDIR)$(SYSUSERSDIR)/postel.conf \
		$(DESTDIR)$(TMPFILESDIR)/postel.conf
	rm -rf $(DESTDIR)$(DOCDIR)

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
