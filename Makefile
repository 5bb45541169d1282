# eksegress developer Makefile.
#
#   make demo       install what is missing, build, run the demo (simulator, or a
#                   real account read-only when AWS credentials are present)
#   make            build build/eksegress/core.so and build/libeksegress_core.a
#   make test       install missing system packages, build, run every suite
#   make check      test + sanitizers (ASan/UBSan) + valgrind + luacheck + cppcheck
#   make bench      benchmarks (never part of test)
#   make fuzz       libFuzzer targets (FUZZ_SECONDS each)
#
# BUILD selects the output folder, so several builds (and several developers'
# sessions) never write the same objects: make BUILD=build/asan ...

BUILD      ?= build
CC         ?= cc
PYTHON     ?= $(shell [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)
LUA        ?= lua5.4
BUSTED     ?= $(LUA) $(shell command -v busted 2>/dev/null || echo /usr/bin/busted)
FUZZ_SECONDS ?= 60

# pkg-config is evaluated lazily (=), after `setup` has had a chance to run.
CORE_PKGS   = libcurl libcrypto jansson expat
CORE_CFLAGS = $(shell pkg-config --cflags $(CORE_PKGS))
CORE_LIBS   = $(shell pkg-config --libs $(CORE_PKGS))
LUA_CFLAGS  = $(shell pkg-config --cflags lua5.4)
LUA_LIBS    = $(shell pkg-config --libs lua5.4)

WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wpointer-arith -Wwrite-strings -Wformat=2 -Wundef -Wvla -Wold-style-definition
OPT       ?= -O2 -g
SANITIZE  ?=
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -fPIC -fvisibility=hidden $(WARN) $(OPT) $(SANITIZE) $(EXTRA_CFLAGS)
ALL_LDFLAGS = $(SANITIZE) $(EXTRA_LDFLAGS)

CORE_SRC  = $(sort $(wildcard csrc/core/*.c))
CORE_OBJ  = $(CORE_SRC:csrc/core/%.c=$(BUILD)/obj/core/%.o)
BIND_SRC  = $(sort $(wildcard csrc/lua_*.c))
BIND_OBJ  = $(BIND_SRC:csrc/%.c=$(BUILD)/obj/%.o)
CTEST_SRC = $(sort $(wildcard csrc/tests/test_*.c))
CTEST_BIN = $(CTEST_SRC:csrc/tests/%.c=$(BUILD)/tests/%)

CORE_LIB  = $(BUILD)/libeksegress_core.a
CORE_SO   = $(BUILD)/eksegress/core.so

LUA_ENV = LUA_PATH='lua/?.lua;lua/?/init.lua;spec/?.lua;;' LUA_CPATH='$(BUILD)/?.so;;' \
          EKSEGRESS_PYTHON='$(PYTHON)'

.PHONY: demo all setup test test-run ctest ctest-run busted simtest check check-run asan valgrind \
        lint luacheck cppcheck check-layers bench fuzz clean

all: $(CORE_SO) $(CORE_LIB)

setup:
	@sh tools/setup.sh

demo: setup
	@$(MAKE) --no-print-directory -s all
	@PYTHON='$(PYTHON)' sh tools/demo.sh $(BUILD)

$(BUILD)/obj/core/%.o: csrc/core/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CORE_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/%.o: csrc/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CORE_CFLAGS) $(LUA_CFLAGS) -Icsrc/core -MMD -MP -c $< -o $@

$(CORE_LIB): $(CORE_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

# The Lua module resolves Lua API symbols from the host interpreter: no -llua.
$(CORE_SO): $(BIND_OBJ) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) -shared $(ALL_LDFLAGS) -o $@ $(BIND_OBJ) $(CORE_LIB) $(CORE_LIBS)

# C tests of the core link the static library alone; tests named test_lua_*
# also link the binding and a Lua interpreter (they open lua_States in C).
$(BUILD)/tests/test_lua_%: csrc/tests/test_lua_%.c $(BIND_OBJ) $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CORE_CFLAGS) $(LUA_CFLAGS) -Icsrc/core -Icsrc $< $(BIND_OBJ) $(CORE_LIB) \
	  $(ALL_LDFLAGS) $(CORE_LIBS) $(LUA_LIBS) -lm -o $@

$(BUILD)/tests/test_%: csrc/tests/test_%.c $(CORE_LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(CORE_CFLAGS) -Icsrc/core $< $(CORE_LIB) $(ALL_LDFLAGS) $(CORE_LIBS) -lm -lpthread -o $@

-include $(CORE_OBJ:.o=.d) $(BIND_OBJ:.o=.d)

# ---- tests ---------------------------------------------------------------

# The README's test command. Installs what is missing, then runs every suite
# and ends with "N passed, N failed".
test: setup
	@$(MAKE) --no-print-directory test-run

SUITES = "$(MAKE) --no-print-directory -s ctest-run" \
         "$(MAKE) --no-print-directory -s busted" \
         "$(MAKE) --no-print-directory -s simtest"

test-run: all $(CTEST_BIN)
	@tools/run-suites $(SUITES)

ctest: all $(CTEST_BIN)
	@$(MAKE) --no-print-directory ctest-run

# C tests run from the repository root; fixtures live under spec/fixtures.
ctest-run: $(CTEST_BIN)
	@for t in $(CTEST_BIN); do echo "# $$t"; $(CTEST_WRAP) $$t || exit 1; done

busted: all
	@$(LUA_ENV) $(BUSTED_WRAP) $(BUSTED) -o TAP spec

simtest:
	@if [ -f tools/ekssim/tests/run.py ]; then $(PYTHON) tools/ekssim/tests/run.py; \
	 else echo "ok 1 # SKIP simulator not present"; fi

# ---- check: sanitizers, valgrind, linters --------------------------------

check: setup
	@$(MAKE) --no-print-directory check-run

check-run: test-run asan valgrind lint

ASAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LIBASAN    = $(shell $(CC) -print-file-name=libasan.so)
LIBUBSAN   = $(shell $(CC) -print-file-name=libubsan.so)

asan:
	@$(MAKE) --no-print-directory BUILD=build/asan OPT="-O1 -g" SANITIZE="$(ASAN_FLAGS)" all \
	  $(CTEST_SRC:csrc/tests/%.c=build/asan/tests/%)
	@tools/run-suites \
	  "$(MAKE) --no-print-directory -s BUILD=build/asan ctest-run ASAN_OPTIONS=detect_leaks=1" \
	  "$(MAKE) --no-print-directory -s BUILD=build/asan busted \
	     BUSTED_WRAP='env LD_PRELOAD=$(LIBASAN):$(LIBUBSAN) ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1'"

VALGRIND = valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
           --show-leak-kinds=definite --suppressions=tools/valgrind.supp

valgrind: all $(CTEST_BIN)
	@tools/run-suites \
	  "$(MAKE) --no-print-directory -s ctest-run CTEST_WRAP='$(VALGRIND)'" \
	  "$(MAKE) --no-print-directory -s busted BUSTED_WRAP='$(VALGRIND)' EKSEGRESS_SLOW=1"

lint: check-layers luacheck cppcheck

check-layers:
	@if grep -lE '#include *[<"](lua|lauxlib|lualib)\.h' csrc/core/*.c csrc/core/*.h; then \
	  echo "check-layers: csrc/core must not include Lua headers"; exit 1; fi
	@if nm $(CORE_LIB) | grep -E ' U (lua_|luaL_)'; then \
	  echo "check-layers: $(CORE_LIB) references Lua symbols"; exit 1; fi
	@echo "check-layers: core is Lua-free"

luacheck:
	luacheck -q lua spec bin examples bench tools/*.lua 2>/dev/null || luacheck -q lua spec

cppcheck:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
	  --std=c11 --inline-suppr --suppress=missingIncludeSystem -Icsrc/core csrc

# ---- bench and fuzz ------------------------------------------------------

bench: setup all
	@$(MAKE) --no-print-directory -s bench-run

bench-run:
	@sh bench/run.sh $(BUILD)

fuzz: setup
	@sh fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf build
