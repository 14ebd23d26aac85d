# Incremental build of the core + bindings with Debian's em++ (driven by scripts/build-wasm.sh).
# Objects are compiled once; two links: an ES6 module for the browser worker and a CommonJS
# single-file module for node (emscripten 3.1.6's ES6 output uses __dirname/require under node).
ROOT      ?= $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/..)
OUT       ?= $(ROOT)/build-wasm
EMXX      ?= em++
INC_LINKS := $(OUT)/include
# Core sources: every .cpp under core/ (the CLI lives in cli/ and is not part of the glob).
CORE_SRCS := $(shell find $(ROOT)/core -name '*.cpp' | LC_ALL=C sort)
SRCS      := $(CORE_SRCS) $(ROOT)/wasm/bindings.cpp
OBJS      := $(patsubst $(ROOT)/%.cpp,$(OUT)/obj/%.o,$(SRCS))

CXXFLAGS  := -std=c++17 -O3 -msimd128 -fexceptions -DNDEBUG -DEIGEN_NO_DEBUG \
             -I$(ROOT) -I/usr/include/eigen3 -I$(INC_LINKS) -Wall -Wno-unused-parameter
LDFLAGS   := -O3 -msimd128 -fexceptions --bind -sALLOW_MEMORY_GROWTH=1 -sMODULARIZE=1 \
             -sEXPORT_NAME=createPolicyLab --post-js $(ROOT)/wasm/post.js

WEB_OUT   := $(OUT)/web/policylab.mjs
NODE_OUT  := $(OUT)/node/policylab.cjs

all: $(WEB_OUT) $(NODE_OUT)

$(OUT)/obj/%.o: $(ROOT)/%.cpp
	@mkdir -p $(dir $@)
	@echo "em++ $*.cpp"
	@$(EMXX) $(CXXFLAGS) -MMD -MP -c $< -o $@

# Browser: ES6 module, wasm embedded (one file: the worker and the <policy-lab> embed need no
# second request and no URL resolution).
$(WEB_OUT): $(OBJS) $(ROOT)/wasm/post.js
	@mkdir -p $(dir $@)
	@echo "link $@"
	@$(EMXX) $(LDFLAGS) -sEXPORT_ES6=1 -sSINGLE_FILE=1 -sENVIRONMENT=web,worker $(OBJS) -o $@

$(NODE_OUT): $(OBJS) $(ROOT)/wasm/post.js
	@mkdir -p $(dir $@)
	@echo "link $@"
	@$(EMXX) $(LDFLAGS) -sSINGLE_FILE=1 -sENVIRONMENT=node $(OBJS) -o $@

-include $(OBJS:.o=.d)

.PHONY: all
