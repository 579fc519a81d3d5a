# SPDX-License-Identifier: MIT
# lockstep-bpf: `make` builds everything into .output/, `make check` runs all tests.
OUTPUT ?= .output
PREFIX ?= /usr/local
CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
MAKEFLAGS += --no-print-directory
endif

WARN := -Wall -Wextra -Werror
DEPFLAGS = -MMD -MP
CFLAGS ?= -O2 -g
LIBBPF_CFLAGS := $(shell $(PKG_CONFIG) --cflags libbpf 2>/dev/null)
LIBBPF_LIBS := $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null || echo -lbpf)
LIBELF_LIBS := $(shell $(PKG_CONFIG) --libs libelf 2>/dev/null || echo -lelf)
CRITERION_LIBS := $(shell $(PKG_CONFIG) --libs criterion 2>/dev/null || echo -lcriterion)
CAPSTONE_CFLAGS := $(shell $(PKG_CONFIG) --cflags capstone 2>/dev/null)
CAPSTONE_LIBS := $(shell $(PKG_CONFIG) --libs capstone 2>/dev/null || echo -lcapstone)
AARCH64_CC ?= aarch64-linux-gnu-gcc
ALL_CFLAGS = $(CFLAGS) $(WARN) $(DEPFLAGS) -std=gnu11 -D_GNU_SOURCE $(EXTRA_CFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(EXTRA_LDFLAGS)

# Pure logic: no libbpf, no QEMU; unit-tested directly.
USER_PURE := duration options procmaps qemucmd history report json metrics tlogread align systab syscmp kbtf gatesrv ginputs procmem sidelife relay qstart claim fwdsum safeopen wirecheck succ renew textbuf
USER_SRCS := $(USER_PURE) elfsym target launch follow lockstep fwd
PLUGIN_PURE := stream plugin_args tlog syslog gate quiet_thread fwd
# Guest pcs as symbol+offset (libelf) and guest code as text (Capstone), for
# reports; unit-tested on the guests built below.
USER_GUEST := gsym disasm
USER_SRCS += $(USER_GUEST)

CMD := $(OUTPUT)/lockstep-bpf
PLUGIN := $(OUTPUT)/liblockstep.so
COUNT_PLUGIN := $(OUTPUT)/libcountblocks.so
STORE_PLUGIN := $(OUTPUT)/libstoreblocks.so
WIRE99_PLUGIN := $(OUTPUT)/tests/liblockstep-wire99.so
UNIT := $(OUTPUT)/unit-tests
GUESTS := $(patsubst tests/guests/%.c,$(OUTPUT)/guests/%,$(wildcard tests/guests/*.c))
# Every guest again as a static PIE (loaded at a non-zero bias) and as an
# aarch64 static binary (run by qemu-aarch64): symbolization and disassembly
# are tested on all three kinds.  All guests are plain C and build for aarch64.
A64_GUEST_EXCLUDE := $(OUTPUT)/guests/cpuid
PIE_GUESTS := $(patsubst $(OUTPUT)/guests/%,$(OUTPUT)/guests/pie/%,$(GUESTS))
A64_GUESTS := $(patsubst $(OUTPUT)/guests/%,$(OUTPUT)/guests/aarch64/%,$(filter-out $(A64_GUEST_EXCLUDE),$(GUESTS)))
GSYM_PROBE := $(OUTPUT)/tests/gsym-probe

.PHONY: all clean check unit e2e demo deps install uninstall vmlinux bench soak sanitize valgrind qemu-max7
all: $(CMD) $(PLUGIN) $(COUNT_PLUGIN) $(STORE_PLUGIN) $(GUESTS) $(WIRE99_PLUGIN)

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/plugin $(OUTPUT)/tests $(OUTPUT)/tests/plugin $(OUTPUT)/guests $(OUTPUT)/bench:
	$(Q)mkdir -p $@

# ---- BPF object and skeleton ----
$(OUTPUT)/lockstep.bpf.o: bpf/lockstep.bpf.c vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) $(DEPFLAGS) -MT $@ \
		-I. -Ibpf $(LIBBPF_CFLAGS) -Wall -Werror -c $< -o $@
	$(Q)llvm-strip -g $@ 2>/dev/null || true

$(OUTPUT)/lockstep.skel.h: $(OUTPUT)/lockstep.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# ---- user space ----
$(OUTPUT)/user/lockstep.o: $(OUTPUT)/lockstep.skel.h
$(OUTPUT)/user/%.o: user/%.c | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -I$(OUTPUT) -Ibpf $(LIBBPF_CFLAGS) -c $< -o $@

# The monitor shares the forwarding channel's layout and texts with the plugin: one source.
$(OUTPUT)/user/fwd.o: plugin/fwd.c | $(OUTPUT)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Ibpf -c $< -o $@

$(CMD): $(addprefix $(OUTPUT)/user/,$(addsuffix .o,$(USER_SRCS)))
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LIBBPF_LIBS) $(LIBELF_LIBS) $(CAPSTONE_LIBS) -lz -lpthread -o $@

# ---- plugin ----
# The plugin runs inside an uninstrumented QEMU, where the ASan runtime cannot
# come first: `make sanitize` gives it UBSan only (its logic gets ASan in the
# unit tests, which build their own copies of its objects).
PLUGIN_CFLAGS = $(filter-out -fsanitize=address,$(ALL_CFLAGS))
PLUGIN_LDFLAGS = $(filter-out -fsanitize=address,$(ALL_LDFLAGS))

$(OUTPUT)/plugin/%.o: plugin/%.c | $(OUTPUT)/plugin
	$(call msg,CC,$@)
	$(Q)$(CC) $(PLUGIN_CFLAGS) -fPIC -fvisibility=hidden -Ibpf -c $< -o $@

# The once-per-chunk fold loop is the plugin's second-largest cost: let it vectorise.
$(OUTPUT)/plugin/stream.o $(OUTPUT)/tests/plugin/stream.o: EXTRA_CFLAGS += -O3

# The plugin shares the monitor's duration parser and syscall table: one source each, built -fPIC here.
PLUGIN_SHARED := duration systab
$(addprefix $(OUTPUT)/plugin/,$(addsuffix .o,$(PLUGIN_SHARED))): $(OUTPUT)/plugin/%.o: user/%.c | $(OUTPUT)/plugin
	$(call msg,CC,$@)
	$(Q)$(CC) $(PLUGIN_CFLAGS) -fPIC -fvisibility=hidden -c $< -o $@

$(PLUGIN): $(addprefix $(OUTPUT)/plugin/,lockstep_plugin.o $(addsuffix .o,$(PLUGIN_SHARED) $(PLUGIN_PURE)))
	$(call msg,LINK,$@)
	$(Q)$(CC) $(PLUGIN_LDFLAGS) -shared $^ -lpthread -o $@

# Benchmark floors: counting blocks, and storing one word per block.
$(OUTPUT)/lib%blocks.so: bench/%blocks.c | $(OUTPUT)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -MT $@ $(ALL_LDFLAGS) -fPIC -shared -Iplugin $< -o $@

# ---- tests ----
# Small static guests run under qemu-x86_64 by the integration tests and the demo.
$(OUTPUT)/guests/%: tests/guests/%.c | $(OUTPUT)/guests
	$(call msg,GUEST,$@)
	$(Q)$(CC) -O1 -g -static -fno-inline -Wall -Wextra -Werror $(DEPFLAGS) $< -o $@ -lpthread

$(OUTPUT)/guests/pie $(OUTPUT)/guests/aarch64:
	$(Q)mkdir -p $@

$(OUTPUT)/guests/pie/%: tests/guests/%.c | $(OUTPUT)/guests/pie
	$(call msg,GUEST,$@)
	$(Q)$(CC) -O1 -g -static-pie -fPIE -fno-inline -Wall -Wextra -Werror $(DEPFLAGS) $< -o $@ -lpthread

$(OUTPUT)/guests/aarch64/%: tests/guests/%.c | $(OUTPUT)/guests/aarch64
	$(call msg,GUEST,$@)
	$(Q)$(AARCH64_CC) -O1 -g -static -fno-inline -Wall -Wextra -Werror $(DEPFLAGS) $< -o $@ -lpthread

# Two more kinds the reports must handle: a dynamically linked PIE (its code
# in ld.so and libc.so.6 of the host, which qemu-x86_64 uses as they are) and
# a stripped static binary (no symbol for any pc in the program).
$(OUTPUT)/guests/dyn $(OUTPUT)/guests/stripped:
	$(Q)mkdir -p $@

$(OUTPUT)/guests/dyn/%: tests/guests/%.c | $(OUTPUT)/guests/dyn
	$(call msg,GUEST,$@)
	$(Q)$(CC) -O1 -g -fPIE -pie -fno-inline -Wall -Wextra -Werror $(DEPFLAGS) $< -o $@ -lpthread

$(OUTPUT)/guests/stripped/%: $(OUTPUT)/guests/% | $(OUTPUT)/guests/stripped
	$(call msg,STRIP,$@)
	$(Q)strip -o $@ $<

EXTRA_GUESTS := $(OUTPUT)/guests/dyn/branchy $(OUTPUT)/guests/stripped/branchy

all: $(PIE_GUESTS) $(A64_GUESTS) $(EXTRA_GUESTS) $(GSYM_PROBE)

# Capstone's own headers only where they are used (its directory holds generic names like arm.h).
$(OUTPUT)/user/disasm.o: ALL_CFLAGS += $(CAPSTONE_CFLAGS)
# test_gsym reads the guests' ELF files.
$(OUTPUT)/tests/test_gsym.o: ALL_CFLAGS += -DLS_GUEST_DIR='"$(abspath $(OUTPUT))/guests"'

# Symbolizes pcs of a running QEMU: tests/gsym_check.sh compares it with QEMU's own log.
$(GSYM_PROBE): tests/gsym_probe.c $(addprefix $(OUTPUT)/user/,gsym.o disasm.o procmaps.o safeopen.o) | $(OUTPUT)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -MT $@ $(ALL_LDFLAGS) -Iuser $^ $(LIBELF_LIBS) $(CAPSTONE_LIBS) -o $@

.PHONY: gsym-check
gsym-check: all
	$(Q)bash tests/gsym_check.sh

UNIT_OBJS := $(addprefix $(OUTPUT)/user/,$(addsuffix .o,$(USER_PURE) $(USER_GUEST))) \
	$(addprefix $(OUTPUT)/tests/plugin/,$(addsuffix .o,$(PLUGIN_PURE)))
UNIT_TESTS := $(patsubst tests/%.c,$(OUTPUT)/tests/%.o,$(wildcard tests/test_*.c))

# The plugin's pure parts again, with every sanitizer the rest of the tests get.
$(OUTPUT)/tests/plugin/%.o: plugin/%.c | $(OUTPUT)/tests/plugin
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Ibpf -c $< -o $@

$(OUTPUT)/tests/%.o: tests/%.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Ibpf -Iuser -Iplugin -c $< -o $@

$(UNIT): $(UNIT_TESTS) $(UNIT_OBJS) | $(GUESTS) $(PIE_GUESTS) $(A64_GUESTS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(CRITERION_LIBS) $(LIBBPF_LIBS) $(LIBELF_LIBS) $(CAPSTONE_LIBS) -lpthread -o $@

# A plugin that speaks another wire format: the monitor must refuse it clearly.
$(WIRE99_PLUGIN): plugin/lockstep_plugin.c plugin/stream.c plugin/plugin_args.c plugin/tlog.c plugin/syslog.c plugin/gate.c \
		plugin/quiet_thread.c plugin/fwd.c \
		user/duration.c user/systab.c | $(OUTPUT)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(PLUGIN_CFLAGS) -MT $@ -DLS_WIRE_VERSION=99 -fPIC -fvisibility=hidden -Ibpf -shared $^ -lpthread -o $@

unit: $(UNIT)
	$(Q)$(UNIT) --jobs 2

e2e: all qemu-max7
	$(Q)bash tests/run-e2e.sh

check: deps qemu-max7
	$(Q)$(MAKE) all $(UNIT)
	$(Q)$(UNIT) --jobs 2
	$(Q)bash tests/gsym_check.sh
	$(Q)bash tests/run-e2e.sh

# Another QEMU for tests/e2e-build.sh: Debian's 7.2 cutting blocks after at
# most 7 instructions, built once into /var/cache/lockstep-bpf (a few
# minutes; cached).  Root only, like the integration tests that use it.
qemu-max7: deps
	$(Q)if [ "$$(id -u)" = 0 ]; then bash scripts/qemu-build.sh >/dev/null; \
	else echo "qemu-max7: not root: not built (tests/e2e-build.sh skips like the other integration tests)"; fi

# The monitor, the plugin and the unit tests built with ASan and UBSan (any
# finding aborts), then the unit and integration tests run on that build.
# Inside QEMU the plugin has UBSan only (see PLUGIN_CFLAGS).
SAN_OUTPUT := $(OUTPUT)/san
SAN_FLAGS := -fsanitize=address -fsanitize=undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
sanitize: deps qemu-max7
	$(Q)$(MAKE) OUTPUT=$(SAN_OUTPUT) EXTRA_CFLAGS="$(SAN_FLAGS)" EXTRA_LDFLAGS="$(SAN_FLAGS)" all $(SAN_OUTPUT)/unit-tests
	$(Q)OUTPUT=$(SAN_OUTPUT) bash tests/sanitize.sh

# The unit tests under valgrind memcheck (tests/valgrind.sh says why a script).
valgrind: deps
	$(Q)$(MAKE) all $(UNIT)
	$(Q)bash tests/valgrind.sh

demo: deps
	$(Q)$(MAKE) all
	$(Q)bash scripts/demo.sh

bench: all
	$(Q)bash bench/run.sh

soak: all
	$(Q)bash bench/soak.sh

deps:
	$(Q)bash scripts/deps.sh

# vmlinux.h is checked in so builds need no /sys; this regenerates it.
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h

install: $(CMD) $(PLUGIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/lockstep-bpf
	install -m 0755 $(CMD) $(DESTDIR)$(PREFIX)/bin/lockstep-bpf
	install -m 0644 $(PLUGIN) $(DESTDIR)$(PREFIX)/lib/lockstep-bpf/liblockstep.so

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/lockstep-bpf $(DESTDIR)$(PREFIX)/lib/lockstep-bpf/liblockstep.so
	-rmdir $(DESTDIR)$(PREFIX)/lib/lockstep-bpf

clean:
	rm -rf $(OUTPUT)

-include $(wildcard $(OUTPUT)/*.d $(OUTPUT)/*/*.d $(OUTPUT)/tests/plugin/*.d)
-include $(wildcard $(OUTPUT)/guests/*/*.d)

# ---- fuzzing ----
# libFuzzer targets (clang's -fsanitize=fuzzer, with ASan and UBSan) for
# every pure reader of what a target's memory holds, and for the plugin's
# argument parser: each runs FUZZ_TIME seconds from its corpus in
# tests/fuzz/corpus/NAME (left unchanged: new inputs go to .output/fuzz).
# A crash leaves its input in .output/fuzz/crash-*: keep it in the corpus.
FUZZ_OUT := $(OUTPUT)/fuzz
FUZZ_TIME ?= 20
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -std=gnu11 -D_GNU_SOURCE \
	-Wall -Wextra -Werror -Ibpf -Iuser -Iplugin
FUZZ_TARGETS := wire records tlog syslog gate plugin_args ginputs
fuzz_srcs_wire := user/wirecheck.c
fuzz_srcs_records := user/history.c
fuzz_srcs_tlog := user/tlogread.c
fuzz_srcs_syslog := user/syscmp.c user/systab.c
fuzz_srcs_gate := plugin/gate.c plugin/stream.c plugin/fwd.c user/systab.c
fuzz_srcs_plugin_args := plugin/plugin_args.c user/duration.c
fuzz_srcs_ginputs := user/ginputs.c user/qemucmd.c user/textbuf.c
FUZZ_BINS := $(addprefix $(FUZZ_OUT)/fuzz_,$(FUZZ_TARGETS))

$(FUZZ_OUT):
	$(Q)mkdir -p $@

.SECONDEXPANSION:
$(FUZZ_OUT)/fuzz_%: tests/fuzz/fuzz_%.c $$(fuzz_srcs_$$*) | $(FUZZ_OUT)
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) $(FUZZ_FLAGS) $^ -lpthread -o $@

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)

fuzz: deps
	$(Q)$(MAKE) fuzz-build
	$(Q)OUTPUT=$(OUTPUT) FUZZ_TIME=$(FUZZ_TIME) bash tests/fuzz/run.sh $(FUZZ_TARGETS)
