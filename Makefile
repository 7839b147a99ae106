# cogtiler - `make` builds ./bootstrap; `make run` serves the demo map;
# `make test` runs every test, `make check` the quick tier. See README.md.

CC ?= cc
PKGS := gdal libpng libcjson libmicrohttpd libcurl zlib muparser libwebp libjpeg sqlite3
LEAFLET_DIR := web/node_modules/leaflet/dist
SANITIZE ?=
PORT ?= 8080

# Objects of a sanitizer build live apart from the release build.
VARIANT := $(if $(SANITIZE),san,rel)
B := build/$(VARIANT)

CFLAGS ?= -O2 -g
override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -I$(B)
ifneq ($(SANITIZE),)
override CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
override LDFLAGS += -fsanitize=$(SANITIZE)
endif

# pkg-config is asked only when building, so `make deps` works before it exists.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS))
LDLIBS += $(PKG_LIBS) -ldeflate -lgomp -lm -lpthread

LIB_SRCS := src/err.c src/http.c src/parse.c src/tilemath.c src/route.c src/params.c \
            src/config.c src/colormap.c src/raster.c src/pngenc.c src/tile.c src/page.c \
            src/handler.c src/log.c src/app.c src/server.c src/event.c src/runtime.c \
            src/algo.c src/custom.c src/source.c src/gate.c src/buf.c src/geom.c src/geojson.c src/stats.c \
            src/coverage.c src/zonal.c src/fanout.c src/cli.c src/expr.c src/overlay.c \
            src/derive.c src/imgenc.c src/imgfmt.c src/pyramid.c src/tilestore.c
LIB_OBJS := $(LIB_SRCS:src/%.c=$(B)/%.o) $(B)/colormaps.o $(B)/assets.o
COLORMAPS := $(sort $(wildcard colormaps/*.txt))
WEB := web/index.html web/viewer.js web/viewer.css
ASSETS := index.html=web/index.html viewer.js=web/viewer.js viewer.css=web/viewer.css \
          leaflet.js=$(LEAFLET_DIR)/leaflet.js leaflet.css=$(LEAFLET_DIR)/leaflet.css \
          leaflet-LICENSE.txt=$(LEAFLET_DIR)/../LICENSE

.PHONY: all deps deps-test run test check bench soak valgrind clean fuzz-long
all: bootstrap

# --- dependencies (Debian/Ubuntu) ------------------------------------------
BUILD_DEBS := gcc make pkg-config libgdal-dev libpng-dev zlib1g-dev libdeflate-dev libcjson-dev \
              libmicrohttpd-dev libcurl4-openssl-dev libmuparser-dev \
              libwebp-dev libjpeg-dev libsqlite3-dev
TEST_DEBS := $(BUILD_DEBS) libcmocka-dev gdal-bin curl jq valgrind clang libclang-rt-14-dev \
             chromium fonts-dejavu-core nginx-light python3-matplotlib python3-gdal python3-numpy \
             libxml2-utils sqlite3
# (sqlite3: test/test_pyramid.sh reads the exported MBTiles files.)
# (python3-matplotlib: test_colormap recomputes every colormap table with
# matplotlib itself, through test/colormaps_ref.py. python3-gdal and
# python3-numpy: test/zonal_ref.py, the reference of the zonal statistics.)
# Node.js and npm fetch the pinned front-end packages (web/package-lock.json);
# Debian's nodejs/npm are installed only when no npm is on the PATH (a
# NodeSource nodejs already has one).
deps:
	@tools/deps.sh $(BUILD_DEBS)
	@command -v npm >/dev/null || tools/deps.sh nodejs npm
deps-test: deps
	@tools/deps.sh $(TEST_DEBS)

# --- build -------------------------------------------------------------------
$(B)/%.o: src/%.c $(wildcard include/*.h) | $(B)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<
$(B)/%.o: $(B)/%.c | $(B)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<
$(B)/colormaps.c: tools/colormaps.awk $(COLORMAPS) | $(B)
	awk -f tools/colormaps.awk $(COLORMAPS) > $@.tmp && mv $@.tmp $@
$(B)/assets.c: tools/embed.sh $(WEB) $(LEAFLET_DIR)/leaflet.js | $(B)
	tools/embed.sh $@ $(ASSETS)
# Leaflet comes from npm at the version pinned in web/package-lock.json.
$(LEAFLET_DIR)/leaflet.js: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@
$(B)/libcogtiler.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^
$(B):
	mkdir -p $@

# ./bootstrap is whichever variant was built last; the stamp forces a relink
# when the variant changes.
build/variant.$(VARIANT): | $(B)
	rm -f build/variant.* && touch $@
bootstrap: $(B)/main.o $(B)/libcogtiler.a build/variant.$(VARIANT)
	$(CC) $(LDFLAGS) -o $@ $(B)/main.o $(B)/libcogtiler.a $(LDLIBS)

# --- run ---------------------------------------------------------------------
run: deps bootstrap
	./bootstrap serve --host 127.0.0.1 --port $(PORT) --config data/layers.json

# --- tests -------------------------------------------------------------------
TESTS := test_tilemath test_route test_params test_transport test_colormap test_pngenc \
         test_config test_pixels test_overviews test_handler test_event test_algo test_custom \
         test_source test_coverage test_stats test_geojson test_statistics test_fanout_unit \
         test_overlay test_pyramid
TEST_BINS := $(TESTS:%=$(B)/%)
$(B)/test_%: test/test_%.c test/testutil.h test/testapp.h $(B)/libcogtiler.a
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itest -o $@ $< $(B)/libcogtiler.a $(LDFLAGS) $(LDLIBS) -lcmocka

# Fuzz targets (clang's libFuzzer, with its own ASan): each fuzzes for
# FUZZ_SECONDS in the release build's run from its seed folder; a SANITIZE= run
# only replays the seeds and kept crashers (plain replay programs).
FUZZ_SECONDS ?= 20
FUZZ_TARGETS := event custom query url geojson expr png
# The event target links the transport's own files and cJSON only: proof that
# the Lambda event parser depends on the transport contract, not on GDAL.
FUZZ_SRC_event := src/event.c src/http.c src/err.c src/route.c src/parse.c src/tilemath.c \
                  src/imgfmt.c
FUZZ_LIBS_event := -lcjson
FUZZ_SRC_url := src/source.c
FUZZ_SRC_custom := src/custom.c src/parse.c
# The statistics body reader: cJSON only.
FUZZ_SRC_geojson := src/geojson.c src/geom.c src/err.c
FUZZ_LIBS_geojson := -lcjson
# Band math: the user's text into muparser (a C++ library) and out.
FUZZ_SRC_expr := src/expr.c
FUZZ_LIBS_expr := -lmuparser
# The PNG encoder (our own row filters and compression choice), decoded back by libpng.
FUZZ_SRC_png := src/pngenc.c
FUZZ_LIBS_png := -lpng16 -ldeflate -lz
FUZZ_SRC_query := src/params.c src/parse.c src/route.c src/tilemath.c src/http.c src/custom.c \
                  src/imgfmt.c
FUZZERS := $(if $(SANITIZE),,$(FUZZ_TARGETS:%=build/rel/fuzz_%))
REPLAYS := $(FUZZ_TARGETS:%=$(B)/fuzz_%_replay)
$(B)/fuzz_%_replay: test/fuzz_%.c test/fuzz_replay.h $(B)/libcogtiler.a
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Itest -o $@ $< $(B)/libcogtiler.a $(LDFLAGS) $(LDLIBS)
.SECONDEXPANSION:
build/rel/fuzz_%: test/fuzz_%.c test/fuzz_replay.h $$(FUZZ_SRC_$$*) build/rel/libcogtiler.a
	clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	  -fno-sanitize-recover=all -DCOGTILER_LIBFUZZER -Wall -Wextra -Werror -Iinclude -Itest \
	  $(PKG_CFLAGS) -o $@ $< $(FUZZ_SRC_$*) \
	  $(or $(FUZZ_LIBS_$*),build/rel/libcogtiler.a $(PKG_LIBS)) -lgomp -lm -lpthread
# The url= target's allow-list is shared with test_source (fuzz_url.h).
$(B)/test_source $(B)/fuzz_url_replay build/rel/fuzz_url: test/fuzz_url.h

# Long fuzzing (not part of make test): FUZZ_RUNS=10000000 executions, or
# FUZZ_LONG_SECONDS per target, from a corpus kept in build/fuzz-corpus/.
fuzz-long: $(FUZZ_TARGETS:%=build/rel/fuzz_%)
	test/fuzz_long.sh

# The browser tests' npm packages, at the versions pinned in their lock file.
BROWSER_NPM := test/browser/node_modules/.installed
$(BROWSER_NPM): test/browser/package.json test/browser/package-lock.json
	cd test/browser && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# s3rver for the remote-read tests, likewise pinned.
S3_NPM := test/s3/node_modules/.installed
$(S3_NPM): test/s3/package.json test/s3/package-lock.json
	cd test/s3 && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# aws4 for the Lambda pool (test/lambda_pool.js: the Invoke API's SigV4 check), likewise pinned.
LAMBDA_NPM := test/lambda/node_modules/.installed
$(LAMBDA_NPM): test/lambda/package.json test/lambda/package-lock.json
	cd test/lambda && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The Lambda bundle (make bundle: a lean GDAL built once into ~/.cache/cogtiler,
# about 25 minutes on 2 shared cores the first time) is tested in the release run only.
BUNDLE_TEST := $(if $(SANITIZE),,test/test_bundle.sh)
test: deps-test $(if $(SANITIZE),,deps-bundle)
	$(MAKE) bootstrap $(TEST_BINS) $(REPLAYS) $(FUZZERS) $(BROWSER_NPM) $(S3_NPM) $(LAMBDA_NPM)
	$(if $(SANITIZE),,$(MAKE) bundle)
	FUZZ_BUILD=$(B) FUZZ_WITH_LIBFUZZER=$(if $(SANITIZE),,1) FUZZ_SECONDS=$(FUZZ_SECONDS) \
	  test/run.sh $(B) $(TESTS) test/test_cli.sh test/test_server.sh test/test_lambda.sh test/test_lambda_pool.sh test/test_fuzz.sh \
	  test/test_remote.sh test/test_gate.sh test/test_zonal.sh test/test_fanout.sh test/test_overlay.sh test/test_formats.sh test/test_pyramid.sh test/test_wmts.sh test/test_gcps.sh test/test_browser.sh \
	  test/test_template.sh $(BUNDLE_TEST)

# The quick tier: the cmocka programs and the command-line test, built and run
# with nothing installed (no apt, npm only for the build's Leaflet), no
# servers, no browser, no bundle. T= picks one program (test_route) or one
# shell test (test_cli.sh or test/test_cli.sh); F= one cmocka case by name
# (a pattern with * and ?, through COGTILER_TEST_FILTER; see test/testutil.h).
T ?=
F ?=
CHECK_RUN := $(strip $(foreach t,$(or $(T),$(TESTS) test/test_cli.sh),\
               $(if $(filter %.sh,$t),$(if $(findstring /,$t),$t,test/$t),$t)))
CHECK_BAD := $(filter-out $(TESTS) test/%.sh,$(CHECK_RUN)) \
             $(filter-out $(wildcard test/*.sh),$(filter %.sh,$(CHECK_RUN)))
check:
	$(if $(strip $(CHECK_BAD)),$(error T=$(T): not a test program ($(TESTS)) nor a test/*.sh script))
	$(if $(and $(F),$(filter %.sh,$(CHECK_RUN))),$(error F= picks cmocka cases; $(filter %.sh,$(CHECK_RUN)) is a shell test))
	$(MAKE) bootstrap $(addprefix $(B)/,$(filter-out %.sh,$(CHECK_RUN)))
	$(if $(F),COGTILER_TEST_FILTER='$(F)') test/run.sh $(B) $(CHECK_RUN)

# --- benchmark and valgrind ----------------------------------------------------
$(B)/bench_tiles: bench/bench_tiles.c bench/bench_proc.c bench/bench_report.c bench/bench_util.c \
                  bench/bench.h $(B)/libcogtiler.a
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Ibench -o $@ $(filter %.c,$^) $(B)/libcogtiler.a $(LDFLAGS) $(LDLIBS)
# The peers `make bench` measures cogtiler against (MapServer's CGI; gdalwarp
# comes with gdal-bin), its HTTP load generator, and tiffinfo (bench/remote.sh
# maps byte ranges to TIFF blocks), GNU time (bench/zonal.sh: peak RSS). Not needed
# by the tests.
BENCH_DEBS := cgi-mapserver wrk libtiff-tools time
# bench links its own copy of bootstrap from the same objects: ./bootstrap is
# whichever variant was built last, and another make may relink it mid-run.
bench: deps-test $(B)/main.o $(B)/libcogtiler.a $(B)/bench_tiles $(S3_NPM) $(LAMBDA_NPM)
	@tools/deps.sh $(BENCH_DEBS)
	$(MAKE) SANITIZE= bundle
	$(CC) $(LDFLAGS) -o $(B)/bootstrap-bench $(B)/main.o $(B)/libcogtiler.a $(LDLIBS)
	bench/run.sh $(B)/bench_tiles $(B)/bootstrap-bench

# The soak (bench/soak.sh: 100,000 Lambda invocations, 1,000,000 server
# requests; about an hour on 2 cores), written to bench/soak-results.md, which
# `make bench` includes.
soak: deps-test $(B)/main.o $(B)/libcogtiler.a
	@tools/deps.sh $(BENCH_DEBS)
	$(CC) $(LDFLAGS) -o $(B)/bootstrap-soak $(B)/main.o $(B)/libcogtiler.a $(LDLIBS)
	mkdir -p bench/out && { bench/soak.sh $(B)/bootstrap-soak && echo && echo "Run: $$(date -u +%Y-%m-%dT%H:%MZ), cogtiler $$(git rev-parse --short HEAD), $$(nproc) cores."; } \
	  >bench/out/soak-results.md && cp bench/out/soak-results.md bench/soak-results.md

valgrind: deps-test
	$(MAKE) SANITIZE= bootstrap $(TEST_BINS)
	test/valgrind.sh build/rel

clean:
	rm -rf build bootstrap test/out bench/out

# --- bundle --------------------------------------------------------------------
# `make bundle`: the AWS Lambda zip in dist/ (see docs/DEPLOY.md). The lean
# GDAL, PROJ, libcurl and libmicrohttpd it links are built once, as static
# archives, into ~/.cache/cogtiler by tools/bundle-deps.sh; the binary is built
# in build/bundle (B=build/bundle, by tools/bundle.sh, with those and the
# system's static libraries linked in), never over ./bootstrap.
# BUNDLE_LAYERS=FILE adds FILE to the zip as layers.json.
BUNDLE_DEBS := cmake g++ make pkg-config dpkg-dev patch autoconf automake libtool xz-utils \
               zip unzip binutils sqlite3 libsqlite3-dev libssl-dev zlib1g-dev \
               libdeflate-dev libzstd-dev libjpeg-dev libwebp-dev libpng-dev libcjson-dev \
               busybox-static openssl
# (busybox-static, openssl: test/test_bundle.sh runs the bundle in a root holding
# nothing else, and reads a COG over HTTPS with a certificate it makes.)
.PHONY: bundle deps-bundle
deps-bundle: deps
	@tools/deps.sh $(BUNDLE_DEBS)
bundle: deps-bundle
	tools/bundle.sh $(if $(BUNDLE_LAYERS),--layers $(BUNDLE_LAYERS))
# Built by tools/bundle.sh as `make B=build/bundle build/bundle/cogtiler`.
$(B)/cogtiler: $(B)/main.o $(B)/libcogtiler.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
# --- end bundle ----------------------------------------------------------------
