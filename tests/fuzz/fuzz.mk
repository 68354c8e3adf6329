# tests/fuzz: libFuzzer harnesses (make fuzz) and their replay drivers
# (make unit / make check).  Included by the top-level Makefile.
#
#   make fuzz            build every harness with clang + libFuzzer + ASan +
#                        UBSan into build/fuzz/ and run each for FUZZ_TIME s
#   make fuzz-build      build them only
#   make fuzz-seeds      regenerate tests/fuzz/corpus/*/seed-* (make-seeds)
#   FUZZ_HARNESSES=...   a subset, e.g. FUZZ_HARNESSES="pkt conf"
#
# The replay drivers (tests/fuzz/replay-NAME) are the same harnesses with
# driver.c for main(), built with $(CC) and the normal flags (sanitizers
# when configured with them); tests/unit/fuzz-regress.sh runs them over
# tests/fuzz/corpus/NAME and tests/fuzz/regress/NAME.

FUZZ_ALL	= pkt tcptrack sshtrack_clear sshtrack_keyed seal control conf \
		  rpkg cpr drainrec
FUZZ_HARNESSES	?= $(FUZZ_ALL)
FUZZ_TIME	?= 60
FUZZ_CC		?= clang
FUZZ_DIR	= build/fuzz
FUZZ_SAN	= -fsanitize=address,undefined -fno-sanitize-recover=all \
		  -fno-omit-frame-pointer
FUZZ_CFLAGS	= -std=c11 -O1 -g $(WARN) -Wno-unused-command-line-argument \
		  $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_LIB_SRCS	= $(CORE_OBJS:.o=.c) replay/cpr.c replay/rio.c
FUZZ_LIB_OBJS	= $(addprefix $(FUZZ_DIR)/obj/,$(FUZZ_LIB_SRCS:.c=.o))
FUZZ_BINS	= $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_ALL))
FUZZ_REPLAYS	= $(addprefix tests/fuzz/replay-,$(FUZZ_ALL))
FUZZ_TOOL_OBJS	= tests/fuzz/driver.o tests/fuzz/fuzz_common.o \
		  tests/fuzz/seedgen.o $(addprefix tests/fuzz/fuzz_,$(FUZZ_ALL:=.o))

.PHONY: fuzz fuzz-build fuzz-seeds

$(FUZZ_DIR)/obj/%.o: %.c src/version.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) -Itests/fuzz -Itests/unit -Ireplay $(FUZZ_CFLAGS) \
		-MMD -MP \
		-c -o $@ $<

$(FUZZ_DIR)/libsj-fuzz.a: $(FUZZ_LIB_OBJS)
	rm -f $@
	ar rcs $@ $(FUZZ_LIB_OBJS)

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o \
    $(FUZZ_DIR)/obj/tests/fuzz/fuzz_common.o $(FUZZ_DIR)/libsj-fuzz.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(LIBS)

fuzz-build: $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_HARNESSES))

fuzz: fuzz-build
	FUZZ_TIME=$(FUZZ_TIME) tests/fuzz/run-fuzz $(FUZZ_HARNESSES)

# The replay drivers and the seed generator: normal compiler and flags.
tests/fuzz/%.o: tests/fuzz/%.c src/version.h
	$(CC) $(CPPFLAGS) -Itests/fuzz -Itests/unit -Ireplay $(CFLAGS) \
		-Wno-missing-prototypes -MMD -MP -c -o $@ $<

tests/fuzz/replay-%: tests/fuzz/fuzz_%.o tests/fuzz/driver.o \
    tests/fuzz/fuzz_common.o replay/cpr.o replay/rio.o src/libsj.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

tests/fuzz/seedgen: tests/fuzz/seedgen.o tests/fuzz/fuzz_common.o \
    replay/cpr.o replay/rio.o src/libsj.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

fuzz-seeds: tests/fuzz/seedgen $(PROGS) tests/unit/fake-sshd
	tests/fuzz/make-seeds

-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_TOOL_OBJS:.o=.d) \
	$(addprefix $(FUZZ_DIR)/obj/,$(FUZZ_TOOL_OBJS:.o=.d))
