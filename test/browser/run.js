// Browser tests: Debian's Chromium driven by playwright-core loads the built-in
// viewer and Leaflet, OpenLayers and MapLibre pages whose tiles come from a
// `bootstrap serve` started here on 127.0.0.1 (free port) and stopped at the end.
// Prints TAP lines ("ok N - ...", "not ok N - ..."), one per test, and the plan
// ("1..N") at the end, as test/run.sh requires.
//
// Expected colours come from GDAL (`gdallocationinfo -wgs84` on the source
// files), not from cogtiler.
"use strict";
const { chromium } = require("playwright-core");
const { PNG } = require("pngjs");
const { spawn, execFileSync } = require("child_process");
const fs = require("fs");
const http = require("http");
const os = require("os");
const path = require("path");

const ROOT = path.resolve(__dirname, "../..");
const BOOTSTRAP = path.resolve(ROOT, process.env.BOOTSTRAP || "./bootstrap");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const OUT = path.join(ROOT, "test/out/browser");
const DEMO = path.join(ROOT, "data/bluemarble_topo_bathy_200412_4326_cog.tif");
const TEMPS = path.join(ROOT, "test/data/mapserver/temperatures.tif");
const MAGENTA = [255, 0, 255];
const W = 1024, H = 768;

let n = 0, failures = 0;
function ok(cond, what, why) {
  n++;
  if (cond) console.log(`ok ${n} - ${what}`);
  else { failures++; console.log(`not ok ${n} - ${what}${why ? ": " + oneLine(why) : ""}`); }
  return cond;
}
function oneLine(s) { return String(s).replace(/\s*\n\s*/g, " | "); }

// The server, on a free port it picks itself (--port 0, "listening on URL").
function startServer(config) {
  return new Promise((resolve, reject) => {
    const p = spawn(BOOTSTRAP, ["serve", "--host", "127.0.0.1", "--port", "0", "--config", config],
                    { stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    const timer = setTimeout(() => reject(new Error("server did not start: " + err)), 10000);
    p.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve({ proc: p, url: m[1] }); }
    });
    p.stderr.on("data", (d) => { err += d; });
    p.on("exit", (code) => reject(new Error(`server exited (${code}): ${err}`)));
  });
}

// RGB(A) of a source pixel at lon/lat, read by GDAL.
function gdalValues(file, lon, lat) {
  const s = execFileSync("gdallocationinfo", ["-valonly", "-wgs84", file, String(lon), String(lat)]);
  return s.toString().trim().split(/\s+/).map(Number);
}

// IHDR width and height of a PNG body, or null.
function pngSize(buf) {
  const sig = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  if (!buf || buf.length < 24 || !buf.subarray(0, 8).equals(sig)) return null;
  return [buf.readUInt32BE(16), buf.readUInt32BE(20)];
}

// Watches a page: every tile response, failed request and console error.
function watch(page) {
  const w = { tiles: [], failed: [], errors: [], pending: [], seen: 0 };
  page.on("console", (m) => {
    if (m.type() === "error") w.errors.push(m.text() + " (" + m.location().url + ")");
  });
  page.on("pageerror", (e) => w.errors.push(String(e)));
  page.on("requestfailed", (r) => {
    // Leaflet cancels tiles that left the view (net::ERR_ABORTED): not a failure.
    const why = (r.failure() || {}).errorText || "";
    if (r.url().includes("/tiles/") && !why.includes("ERR_ABORTED")) w.failed.push(r.url() + " " + (r.failure() || {}).errorText);
  });
  page.on("response", (r) => {
    const u = new URL(r.url());
    if (!/^\/tiles\/[^/]+\/\d+\/\d+\/\d+(@2x)?\.(png|webp|jpg)$/.test(u.pathname)) return;
    w.seen++;
    w.pending.push(r.body().then(
      (b) => w.tiles.push({ url: r.url(), status: r.status(), type: r.headers()["content-type"],
                            size: pngSize(b) }),
      (e) => w.tiles.push({ url: r.url(), status: r.status(), type: "", size: null, err: e })));
  });
  return w;
}

async function settle(w) {
  await Promise.all(w.pending);
  w.pending = [];
}

// type: the Content-Type every tile must have; the size is read from PNG
// tiles here, and from what the browser decoded for the others (testClientPage).
function checkTiles(w, what, minCount, type = "image/png") {
  const png = type === "image/png";
  const bad = w.tiles.filter((t) => t.status !== 200 || t.type !== type || (png && (!t.size ||
                                    !((t.size[0] === 256 && t.size[1] === 256) ||
                                      (t.size[0] === 512 && t.size[1] === 512)))));
  ok(w.tiles.length >= minCount, `${what}: at least ${minCount} tiles requested`,
     `${w.tiles.length} tiles`);
  ok(bad.length === 0 && w.failed.length === 0,
     `${what}: every tile is 200 ${type}${png ? " of 256x256 or 512x512" : ""}`,
     JSON.stringify(bad.slice(0, 3).concat(w.failed.slice(0, 3))));
  ok(w.errors.length === 0, `${what}: no console errors`, w.errors.slice(0, 3).join(" | "));
}

function pixel(img, x, y) {
  const i = (img.width * Math.round(y) + Math.round(x)) * 4;
  return [img.data[i], img.data[i + 1], img.data[i + 2]];
}

// Mean colour of the (2r+1)^2 pixels around x, y.
function meanAround(img, x, y, r) {
  const s = [0, 0, 0];
  let k = 0;
  for (let dy = -r; dy <= r; dy++)
    for (let dx = -r; dx <= r; dx++) {
      const p = pixel(img, x + dx, y + dy);
      for (let c = 0; c < 3; c++) s[c] += p[c];
      k++;
    }
  return s.map((v) => v / k);
}

// Places where the demo is clearly ocean or land, with GDAL's colour there.
const PLACES = [
  { name: "South Pacific", lon: -140, lat: -20, kind: "ocean" },
  { name: "South Atlantic", lon: -30, lat: -30, kind: "ocean" },
  { name: "Indian Ocean", lon: 80, lat: -10, kind: "ocean" },
  { name: "Sahara", lon: 25, lat: 23, kind: "land" },
  { name: "central Australia", lon: 133, lat: -25, kind: "land" },
];

// Screenshot checks shared by every page: not blank, no background showing
// through (gaps, missing tiles, seams), the demo's colours where they belong,
// and no discontinuity along tile boundaries.
async function checkPicture(page, what, shotName, opts = {}) {
  const buf = await page.screenshot({ path: path.join(OUT, shotName) });
  const img = PNG.sync.read(buf);
  // Not blank: the colours vary.
  let sum = 0, sum2 = 0;
  for (let i = 0; i < img.data.length; i += 4) { sum += img.data[i + 2]; sum2 += img.data[i + 2] ** 2; }
  const npx = img.data.length / 4, sd = Math.sqrt(sum2 / npx - (sum / npx) ** 2);
  ok(sd > 20, `${what}: the picture is not blank`, `blue channel sd ${sd.toFixed(1)}`);
  if (opts.background !== false) {
    let magenta = 0;
    for (let i = 0; i < img.data.length; i += 4)
      if (Math.abs(img.data[i] - MAGENTA[0]) < 8 && img.data[i + 1] < 8 &&
          Math.abs(img.data[i + 2] - MAGENTA[2]) < 8) magenta++;
    ok(magenta === 0, `${what}: no background shows between or instead of tiles`,
       `${magenta} magenta pixels`);
  }
  for (const p of PLACES) {
    const [x, y] = await page.evaluate(([lon, lat]) => window.project(lon, lat), [p.lon, p.lat]);
    if (x < 3 || y < 3 || x > W - 4 || y > H - 4) continue;
    const got = meanAround(img, x, y, 1);
    const want = gdalValues(DEMO, p.lon, p.lat);
    const isOcean = got[2] > got[0] + 10, isLand = got[0] > got[2] + 25;
    const close = got.every((v, c) => Math.abs(v - want[c]) <= 40);
    ok((p.kind === "ocean" ? isOcean : isLand) && close,
       `${what}: ${p.name} is ${p.kind} (${got.map(Math.round)} vs GDAL ${want})`);
  }
  if (!opts.boundaries) return;
  // Tile boundaries at zoom 2: meridians -90, 0, 90 and parallels
  // +-66.51326 and 0. The step across a boundary must look like the step
  // between any two neighbouring columns (rows) nearby.
  const mean = (a) => a.reduce((s, v) => s + v, 0) / a.length;
  const diff = (p, q) => Math.abs(p[0] - q[0]) + Math.abs(p[1] - q[1]) + Math.abs(p[2] - q[2]);
  for (const lon of [-90, 0, 90]) {
    const [x] = await page.evaluate((l) => window.project(l, 0), lon);
    const bx = Math.round(x);
    const across = [], inside = [];
    for (let y = 10; y < H - 10; y++) {
      across.push(diff(pixel(img, bx - 1, y), pixel(img, bx, y)));
      inside.push(diff(pixel(img, bx - 3, y), pixel(img, bx - 2, y)),
                  diff(pixel(img, bx + 1, y), pixel(img, bx + 2, y)));
    }
    ok(mean(across) < 2 * mean(inside) + 3,
       `${what}: no seam at the tile boundary x=${bx} (lon ${lon})`,
       `step ${mean(across).toFixed(1)} vs ${mean(inside).toFixed(1)} nearby`);
  }
  for (const lat of [66.51326, 0, -66.51326]) {
    const [, y] = await page.evaluate((l) => window.project(0, l), lat);
    const by = Math.round(y);
    if (by < 4 || by > H - 4) continue;
    const across = [], inside = [];
    for (let x = 10; x < W - 10; x++) {
      across.push(diff(pixel(img, x, by - 1), pixel(img, x, by)));
      inside.push(diff(pixel(img, x, by - 3), pixel(img, x, by - 2)),
                  diff(pixel(img, x, by + 1), pixel(img, x, by + 2)));
    }
    ok(mean(across) < 2 * mean(inside) + 3,
       `${what}: no seam at the tile boundary y=${by} (lat ${lat})`,
       `step ${mean(across).toFixed(1)} vs ${mean(inside).toFixed(1)} nearby`);
  }
}

// Serves the test pages and the map libraries from node_modules on an origin
// of their own (a second loopback port), so the tiles are cross-origin
// requests, as from a web site to a tile CDN.
function startPageServer() {
  const libs = {
    "/lib/leaflet/": path.join(ROOT, "web/node_modules/leaflet/dist/"),
    "/lib/ol/": path.join(__dirname, "node_modules/ol/"),
    "/lib/maplibre-gl/": path.join(__dirname, "node_modules/maplibre-gl/dist/"),
    "/pages/": path.join(__dirname, "pages/"),
  };
  const types = { ".html": "text/html", ".js": "application/javascript", ".css": "text/css" };
  const srv = http.createServer((req, res) => {
    const u = new URL(req.url, "http://127.0.0.1");
    let file = null;
    for (const [prefix, dir] of Object.entries(libs))
      if (u.pathname.startsWith(prefix)) file = path.join(dir, u.pathname.slice(prefix.length));
    if (u.pathname === "/lib/ol/ol.js") file = path.join(libs["/lib/ol/"], "dist/ol.js");
    if (!file || u.pathname.includes("..") || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, { "content-type": "text/plain" });
      return res.end("not found");
    }
    res.writeHead(200, { "content-type": types[path.extname(file)] || "application/octet-stream" });
    res.end(fs.readFileSync(file));
  });
  return new Promise((resolve) => srv.listen(0, "127.0.0.1", () =>
    resolve({ srv, origin: `http://127.0.0.1:${srv.address().port}` })));
}

async function waitReady(page, what) {
  try {
    await page.waitForFunction(() => window.ready === true, null, { timeout: 30000 });
    return ok(true, `${what}: map reports its tiles loaded`);
  } catch (e) {
    return ok(false, `${what}: map reports its tiles loaded`, e.message.split("\n")[0]);
  }
}

// ext: the tile format the page asks for (leaflet.html takes ?ext=).
async function testClientPage(context, origin, server, name, title, ext = "png") {
  const page = await context.newPage();
  const w = watch(page);
  const type = { png: "image/png", webp: "image/webp", jpg: "image/jpeg" }[ext];
  await page.goto(`${origin}/pages/${name}.html?server=${encodeURIComponent(server)}&ext=${ext}`);
  if (await waitReady(page, title)) {
    await page.waitForTimeout(300); // let the last frame paint
    await settle(w);
    checkTiles(w, title, 12, type);
    if (ext !== "png") {
      const imgs = await page.$$eval("img.leaflet-tile", (v) =>
        v.map((i) => [i.complete, i.naturalWidth, i.naturalHeight, i.src]));
      const bad = imgs.filter((d) => !d[0] || d[1] !== 256 || d[2] !== 256 || !d[3].endsWith("." + ext));
      ok(imgs.length >= 12 && bad.length === 0,
         `${title}: Chromium decoded every .${ext} tile at 256x256`,
         `${imgs.length} tiles, bad: ${JSON.stringify(bad.slice(0, 3))}`);
    }
    await checkPicture(page, title, `${name}${ext === "png" ? "" : "-" + ext}.png`, { boundaries: true });
  }
  await page.close();
}

// Tile URLs requested while fn runs (after the network has been quiet).
// (waitForLoadState("networkidle") returns at once on a page that was idle
// before, so this waits for the first tile answer, then for 500 ms without one.)
async function tilesDuring(page, w, fn) {
  await settle(w);
  const before = w.tiles.length, seen = w.seen;
  await fn();
  const start = Date.now();
  while (w.seen === seen && Date.now() - start < 15000) await page.waitForTimeout(50);
  for (let last = -1; last !== w.seen;) {
    last = w.seen;
    await page.waitForTimeout(500);
  }
  await settle(w);
  return w.tiles.slice(before);
}

async function testViewer(context, server) {
  const what = "viewer";
  const page = await context.newPage();
  const w = watch(page);
  await page.goto(server + "/");
  await page.waitForLoadState("networkidle");
  await page.waitForFunction(() => window.cogtiler && document.querySelector("#layer").options.length > 0);
  const options = await page.$$eval("#layer option", (os) => os.map((o) => [o.value, o.disabled]));
  ok(JSON.stringify(options) ===
     JSON.stringify([["bluemarble", false], ["temperatures", false], ["missing", true]]),
     `${what}: the layer switcher lists the configured layers, the unreadable one disabled`,
     JSON.stringify(options));
  await settle(w);
  ok(w.tiles.length > 0 && w.tiles.every((t) => t.url.includes("/tiles/bluemarble/")),
     `${what}: opens on the default layer`, w.tiles.map((t) => t.url).slice(0, 2).join(" "));
  checkTiles(w, `${what} (bluemarble)`, 4);
  ok(await page.$eval("#colormap", (e) => e.disabled), `${what}: colormap control is off for RGB`);
  // Pin the view so the colours can be checked where GDAL says.
  await page.evaluate(() => window.cogtiler.map.setView([0, 0], 2, { animate: false }));
  await page.waitForLoadState("networkidle");
  await page.evaluate(() => { window.project = (lon, lat) => {
    const p = window.cogtiler.map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }; });
  await page.addStyleTag({ content: "#panel { display: none; }" });
  await page.waitForTimeout(400);
  await checkPicture(page, what, "viewer.png", { background: false });
  await page.addStyleTag({ content: "#panel { display: block; }" });

  // Layer switcher.
  let got = await tilesDuring(page, w, () => page.selectOption("#layer", "temperatures"));
  ok(got.length > 0 && got.every((t) => t.url.includes("/tiles/temperatures/") && t.status === 200),
     `${what}: switching layer requests the new layer's tiles`, got.map((t) => t.url).slice(0, 2).join(" "));
  ok(new URL(page.url()).pathname === "/map/temperatures", `${what}: the address becomes /map/temperatures`,
     page.url());
  ok(got.every((t) => /colormap_name=rdbu_r/.test(t.url) && /rescale=-40%2C40/.test(t.url)),
     `${what}: the layer's default colormap and rescale are in its tile URLs`, got[0] && got[0].url);
  // Colormap control.
  got = await tilesDuring(page, w, () => page.selectOption("#colormap", "viridis"));
  ok(got.length > 0 && got.every((t) => /colormap_name=viridis/.test(t.url) && t.status === 200),
     `${what}: choosing a colormap requests tiles with colormap_name=viridis`,
     got.map((t) => t.url).slice(0, 2).join(" "));
  // Rescale control.
  got = await tilesDuring(page, w, async () => {
    await page.fill("#rmin", "-10");
    await page.fill("#rmax", "30");
    await page.click("#apply");
  });
  ok(got.length > 0 && got.every((t) => /rescale=-10%2C30/.test(t.url) && t.status === 200),
     `${what}: applying a rescale requests tiles with rescale=-10,30`,
     got.map((t) => t.url).slice(0, 2).join(" "));
  // Value on click: the popup shows GDAL's value at the clicked place.
  await page.evaluate(() => window.cogtiler.map.setView([0, 0], 2, { animate: false }));
  const [cx, cy] = await page.evaluate(() => window.project(25, 23));
  await page.mouse.click(cx, cy);
  try {
    await page.waitForSelector(".leaflet-popup-content .values", { timeout: 10000 });
    const text = await page.$eval(".leaflet-popup-content .values", (e) => e.innerText);
    const [lonlat, vals] = text.split("\n");
    const [lon, lat] = lonlat.split(",").map(Number);
    const want = gdalValues(TEMPS, lon, lat)[0];
    const shown = Number(vals);
    ok(Math.abs(shown - want) < 1e-3 && Math.abs(lon - 25) < 1 && Math.abs(lat - 23) < 1,
       `${what}: clicking shows the value under the point (${text.replace("\n", " -> ")}; GDAL ${want})`);
  } catch (e) {
    ok(false, `${what}: clicking shows the value under the point`, e.message.split("\n")[0]);
  }
  ok(w.errors.length === 0, `${what}: no console errors`, w.errors.slice(0, 3).join(" | "));
  await page.screenshot({ path: path.join(OUT, "viewer-temperatures.png") }); // for people
  await page.close();

  // /map/LAYER opens on that layer.
  const p2 = await context.newPage();
  const w2 = watch(p2);
  await p2.goto(server + "/map/temperatures");
  await p2.waitForLoadState("networkidle");
  await settle(w2);
  ok(await p2.$eval("#layer", (e) => e.value) === "temperatures" && w2.tiles.length > 0 &&
     w2.tiles.every((t) => t.url.includes("/tiles/temperatures/")),
     "viewer at /map/temperatures opens on that layer");
  checkTiles(w2, "viewer at /map/temperatures", 1);
  // A colormapped layer's legend: the colormap from its first to its last
  // entry (colormaps/rdbu_r.txt, the table the server compiles in) between the
  // layer's rescale ends.
  const table = fs.readFileSync(path.join(ROOT, "colormaps/rdbu_r.txt"), "utf8").split("\n")
    .filter((l) => /^\d/.test(l)).map((l) => l.trim().split(/\s+/).map(Number));
  const rgba = (c) => `rgba(${c[0]}, ${c[1]}, ${c[2]}, ${c[3] / 255})`;
  try {
    await p2.waitForSelector("#legend .ramp", { timeout: 10000 });
    const lg = await p2.$eval("#legend", (el) => ({
      visible: !el.hidden, title: el.querySelector(".title").textContent,
      first: el.querySelector(".ramp").getAttribute("data-first"),
      last: el.querySelector(".ramp").getAttribute("data-last"),
      ends: [...el.querySelectorAll(".ends span")].map((e) => e.textContent) }));
    ok(table.length === 256 && lg.visible && lg.title === "rdbu_r" && lg.first === rgba(table[0]) &&
       lg.last === rgba(table[255]) && lg.ends.join(",") === "-40,40",
       "viewer: a colormapped layer's legend is its colormap (first and last entries) from -40 to 40",
       JSON.stringify(lg));
  } catch (e) {
    ok(false, "viewer: a colormapped layer's legend", e.message.split("\n")[0]);
  }
  await p2.close();
}

// The viewer over a derived layer's weighted overlay (test/overlay_fixtures.sh):
// a slider per input kept at 100 in all, a legend of the scale in the
// colormap's colours, the tiles re-rendered with the new weights, and no
// sliders for an expression layer. Expected colours come from the server's own
// GET colormaps/NAME and its tiles fetched directly.
async function testOverlay(context) {
  const what = "overlay viewer";
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cogtiler-overlay-"));
  let server = null, page = null;
  // The viewer's tile layer is done loading (after a setView or setUrl).
  const loaded = async () => {
    await page.waitForFunction(() => { const t = window.cogtiler.tiles(); return t && !t.isLoading(); },
                               null, { timeout: 30000 });
    await page.waitForLoadState("networkidle");
    await page.waitForTimeout(300); // let the last frame paint
  };
  // A screenshot of the map alone (the panel hidden for it).
  const shot = async (name) => {
    const style = await page.addStyleTag({ content: "#panel { display: none; }" });
    const buf = await page.screenshot({ path: path.join(OUT, name) });
    await style.evaluate((e) => e.remove());
    return PNG.sync.read(buf);
  };
  const near = (p, q) => p.every((v, c) => Math.abs(v - q[c]) <= 2);
  try {
    execFileSync("bash", [path.join(ROOT, "test/overlay_fixtures.sh"), dir],
                 { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
    server = await startServer(path.join(dir, "layers.json"));
    ok(true, `${what}: server for the overlay fixtures started at ${server.url}`);
    const layers = (await (await fetch(server.url + "/layers")).json()).layers;
    const info = layers.find((l) => l.name === "priority");
    const cmap = await (await fetch(server.url + "/colormaps/rdylgn")).json();

    page = await context.newPage();
    const w = watch(page);
    const requested = []; // every tile URL of priority the page asks, in order
    page.on("request", (r) => {
      if (/^\/tiles\/priority\/\d+\/\d+\/\d+\.png$/.test(new URL(r.url()).pathname)) requested.push(r.url());
    });
    await page.goto(server.url + "/map/priority");
    await page.waitForFunction(() => window.cogtiler && window.cogtiler.tiles() &&
                               document.querySelector("#legend .swatch"), null, { timeout: 30000 });
    // Native zoom 12, where a tile pixel is a screen pixel.
    const Z = 12, LON = -34.87, LAT = -8.0;
    await page.evaluate(([lat, lon, z]) => window.cogtiler.map.setView([lat, lon], z, { animate: false }),
                        [LAT, LON, Z]);
    await loaded();
    await settle(w);
    checkTiles(w, what, 4);

    // The sliders.
    const sliders = await page.$$eval("#weights input[type=range]", (es) => es.map((e) =>
      [e.getAttribute("data-input"), Number(e.value), e.offsetParent !== null]));
    ok(JSON.stringify(sliders) === JSON.stringify([["cover", 60, true], ["slope", 40, true]]),
       `${what}: exactly 2 sliders, cover 60 and slope 40`, JSON.stringify(sliders));
    const labels = await page.$$eval("#weight-list label", (es) => es.map((e) => e.textContent));
    const shown = await page.$$eval("#weight-list output", (es) => es.map((e) => e.textContent));
    ok(labels.length === 2 && labels[0] === "cover" && /^slope\b.*\bslope\b/.test(labels[1]) &&
       JSON.stringify(shown) === JSON.stringify(["60%", "40%"]),
       `${what}: sliders labelled by input (and terrain kind), values shown in %`,
       JSON.stringify([labels, shown]));
    ok(requested.length > 0 && requested.every((u) => !new URL(u).searchParams.has("weights")),
       `${what}: at the configured weights the tile URLs carry no weights=`, requested[0]);

    // The legend: swatches in the colours of LUT index round((v - lo) / (hi - lo) * 255).
    const legend = await page.$eval("#legend", (el) => {
      const style = (s) => getComputedStyle(s.querySelector(".box"));
      return {
        visible: !el.hidden && el.offsetParent !== null,
        scale: [...el.querySelectorAll(".scale .swatch")].map((s) =>
          [Number(s.getAttribute("data-value")), style(s).backgroundColor]),
        restricted: [...el.querySelectorAll('[data-kind="restricted"]')].map((s) => style(s).backgroundColor),
        nodata: [...el.querySelectorAll('[data-kind="nodata"]')].map((s) =>
          [style(s).backgroundColor, style(s).backgroundImage]),
      };
    });
    const css = (c) => c[3] === 255 ? `rgb(${c[0]}, ${c[1]}, ${c[2]})` : `rgba(${c[0]}, ${c[1]}, ${c[2]}, ${c[3] / 255})`;
    const [lo, hi] = info.rescale;
    const want = [];
    for (let v = info.derived.scale[0]; v <= info.derived.scale[1]; v++)
      want.push([v, css(cmap[Math.min(255, Math.max(0, Math.round((v - lo) / (hi - lo) * 255)))])]);
    ok(legend.visible && legend.scale.length === 9 && legend.restricted.length === 1 && legend.nodata.length === 1,
       `${what}: the legend (#legend) has 9 scale swatches, restricted and no data`,
       JSON.stringify(legend));
    ok(JSON.stringify(legend.scale) === JSON.stringify(want),
       `${what}: the scale swatches are the colours of GET colormaps/rdylgn at the rescaled values`,
       `${JSON.stringify(legend.scale)} vs ${JSON.stringify(want)}`);
    ok(legend.restricted[0] === css(info.derived.restricted_color) && legend.nodata.length === 1 &&
       legend.nodata[0][0] === "rgba(0, 0, 0, 0)" && /gradient/.test(legend.nodata[0][1]),
       `${what}: restricted is drawn in restricted_color, no data transparent (checkered)`,
       JSON.stringify([legend.restricted, legend.nodata]));

    // A tile pixel whose colour differs between the weights, amid 5x5 uniform pixels.
    const n2 = 2 ** Z;
    const tx = Math.floor((LON + 180) / 360 * n2);
    const ty = Math.floor((1 - Math.asinh(Math.tan(LAT * Math.PI / 180)) / Math.PI) / 2 * n2);
    const tile = async (weights) => {
      const r = await fetch(`${server.url}/tiles/priority/${Z}/${tx}/${ty}.png?weights=${weights}`);
      return r.ok ? PNG.sync.read(Buffer.from(await r.arrayBuffer())) : null;
    };
    const t6040 = await tile("60,40"), t8020 = await tile("80,20");
    const [ox, oy] = await page.evaluate(([gx, gy, z]) => {
      const m = window.cogtiler.map;
      const p = m.latLngToContainerPoint(m.unproject([gx, gy], z));
      return [p.x, p.y];
    }, [tx * 256, ty * 256, Z]);
    const rgba = (img, x, y) => Array.from(img.data.subarray((img.width * y + x) * 4, (img.width * y + x) * 4 + 4));
    const uniform = (img, x, y) => {
      const c = rgba(img, x, y);
      for (let dy = -2; dy <= 2; dy++)
        for (let dx = -2; dx <= 2; dx++)
          if (rgba(img, x + dx, y + dy).some((v, k) => v !== c[k])) return false;
      return c[3] === 255;
    };
    let best = null;
    if (t6040 && t8020)
      for (let y = 2; y < 254; y++)
        for (let x = 2; x < 254; x++) {
          const sx = ox + x + 0.5, sy = oy + y + 0.5;
          if (sx < 10 || sy < 10 || sx > W - 10 || sy > H - 10) continue;
          const a = rgba(t6040, x, y), b = rgba(t8020, x, y);
          if (!a.slice(0, 3).some((v, k) => Math.abs(v - b[k]) > 10)) continue;
          if (!uniform(t6040, x, y) || !uniform(t8020, x, y)) continue;
          const d = (x - 128) ** 2 + (y - 128) ** 2;
          if (!best || d < best.d) best = { x, y, sx, sy, a: a.slice(0, 3), b: b.slice(0, 3), d };
        }
    ok(best && Math.abs(ox - Math.round(ox)) < 0.01 && Math.abs(oy - Math.round(oy)) < 0.01 &&
       await page.evaluate(() => window.cogtiler.map.getZoom()) === Z,
       `${what}: a map pixel whose colour differs between weights 60,40 and 80,20 (tile ${Z}/${tx}/${ty}` +
       (best ? ` pixel ${best.x},${best.y}: ${best.a} vs ${best.b})` : ")"), `tile origin ${ox},${oy}`);
    if (best) {
      const img = await shot("viewer-overlay-60-40.png");
      const got = pixel(img, Math.floor(best.sx), Math.floor(best.sy));
      ok(near(got, best.a), `${what}: the map shows the 60,40 colour there (${got} vs ${best.a})`);
    }

    // Moving cover to 80 moves slope to 20 and re-renders with weights=80,20.
    const before = requested.length;
    await page.$eval('input[data-input="cover"]', (e) => {
      e.value = "80";
      e.dispatchEvent(new Event("input", { bubbles: true }));
      e.dispatchEvent(new Event("change", { bubbles: true }));
    });
    const moved = await page.$$eval("#weights input[type=range]", (es) => es.map((e) => Number(e.value)));
    const movedShown = await page.$$eval("#weight-list output", (es) => es.map((e) => e.textContent));
    ok(JSON.stringify(moved) === "[80,20]" && JSON.stringify(movedShown) === '["80%","20%"]',
       `${what}: setting cover to 80 sets slope to 20`, JSON.stringify([moved, movedShown]));
    await loaded();
    await settle(w);
    const after = requested.slice(before);
    ok(after.length > 0 && after.every((u) => new URL(u).searchParams.get("weights") === "80,20"),
       `${what}: the tiles requested afterwards carry weights=80,20 (${after.length})`,
       after.slice(0, 2).join(" "));
    if (best) {
      const img = await shot("viewer-overlay-80-20.png");
      const got = pixel(img, Math.floor(best.sx), Math.floor(best.sy));
      ok(near(got, best.b), `${what}: the map shows the 80,20 colour there (${got} vs ${best.b})`);
    }
    checkTiles(w, `${what} (after the weights)`, 5);

    // An expression layer has no sliders nor a legend of a scale (its colormap's
    // ramp instead, as any colormapped one-band layer).
    const got = await tilesDuring(page, w, () => page.selectOption("#layer", "ndvi"));
    await page.waitForTimeout(300);
    const ndvi = await page.evaluate(() => ({
      sliders: document.querySelectorAll("#weights input[type=range]").length,
      panel: document.querySelector("#weights").offsetParent !== null,
      scale: document.querySelectorAll("#legend .scale .swatch").length,
      ramp: document.querySelectorAll("#legend .ramp").length,
    }));
    ok(ndvi.sliders === 0 && !ndvi.panel && ndvi.scale === 0 && ndvi.ramp === 1,
       `${what}: the expression layer ndvi shows no sliders and no scale legend, its colormap's ramp`,
       JSON.stringify(ndvi));
    ok(got.length > 0 && got.every((t) => t.url.includes("/tiles/ndvi/") && t.status === 200 &&
                                          !new URL(t.url).searchParams.has("weights")),
       `${what}: ndvi's tiles are asked without weights= and answer 200`,
       got.map((t) => `${t.status} ${t.url}`).slice(0, 2).join(" "));
    ok(w.errors.length === 0, `${what}: no console errors`, w.errors.slice(0, 3).join(" | "));
  } catch (e) {
    ok(false, `${what}: run`, e.stack);
  } finally {
    if (page) await page.close();
    if (server) {
      server.proc.kill();
      if (server.proc.exitCode === null)
        await new Promise((res) => { server.proc.on("exit", res); setTimeout(res, 3000); });
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// A pyramid exported to a folder (`bootstrap pyramid -o DIR/`) and served as
// static files by nginx (test/lib/nginx.sh), as from S3: the Leaflet page over
// it gets the same checks as over the server (tiles 200 image/png, a picture
// with the demo's colours, no seams).
async function testPyramidFolder(context, origin, config) {
  const dir = path.join(OUT, "pyramid");
  fs.rmSync(dir, { recursive: true, force: true });
  try {
    execFileSync(BOOTSTRAP, ["pyramid", "--config", config, "--layer", "bluemarble", "--zoom", "0-3",
                             "-o", path.join(dir, "root/tiles/bluemarble/")], { stdio: "pipe" });
    ok(true, "bootstrap pyramid exports the demo's z0-3 to a folder");
  } catch (e) {
    return ok(false, "bootstrap pyramid exports the demo's z0-3 to a folder", e.stderr || e.message);
  }
  const nginx = spawn("bash", ["-c", '. test/lib/nginx.sh && nginx_start "$1" "$2" "$3" && echo "$NGINX_URL" && wait',
                               "nginx", path.join(dir, "nginx"), path.join(dir, "root"),
                               "types { image/png png; }"],
                      { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  try {
    const url = await new Promise((resolve, reject) => {
      let out = "", err = "";
      nginx.stdout.on("data", (d) => {
        out += d;
        if (out.includes("\n")) resolve(out.trim());
      });
      nginx.stderr.on("data", (d) => { err += d; });
      nginx.on("exit", () => reject(new Error("nginx did not start: " + err)));
    });
    await testClientPage(context, origin, url, "leaflet", "Leaflet over the exported folder (nginx)");
  } catch (e) {
    ok(false, "Leaflet over the exported folder (nginx)", e.message);
  } finally {
    try { process.kill(-nginx.pid, "SIGTERM"); } catch (e) { /* already gone */ }
  }
}

// A source across the antimeridian (rio-tiler's cog_dateline.tif, 178.0 E to
// 178.5 W): the viewer opens on it (its view centred there, tiles asked on both
// sides of 180 and only where the data is: every one a 200), and MapLibre,
// configured from its TileJSON (bounds that do not wrap, as TileJSON 3.0
// requires; with west > east MapLibre asked for no tile at all), draws tiles on
// both sides.
async function testAntimeridian(context, origin) {
  const what = "antimeridian";
  const config = path.join(OUT, "dateline.json");
  fs.writeFileSync(config, JSON.stringify({ layers: { dateline: {
    source: path.join(ROOT, "test/data/rio-tiler/cog_dateline.tif"), rescale: [0, 5000] } } }));
  let server, page;
  // the zoom of the tiles asked, and whether both x = 0 and x = 2^z - 1 are there
  const sides = (tiles) => {
    const xs = {};
    for (const t of tiles) {
      const m = /\/(\d+)\/(\d+)\/(\d+)\.png$/.exec(new URL(t.url).pathname);
      if (m) (xs[m[1]] = xs[m[1]] || new Set()).add(Number(m[2]));
    }
    return Object.keys(xs).some((z) => xs[z].has(0) && xs[z].has(2 ** Number(z) - 1));
  };
  try {
    server = await startServer(config);
    page = await context.newPage();
    let w = watch(page);
    await page.goto(server.url + "/map/dateline");
    await page.waitForFunction(() => window.cogtiler && window.cogtiler.tiles(), null, { timeout: 30000 });
    await page.waitForLoadState("networkidle");
    await settle(w);
    const view = await page.evaluate(() => {
      const c = window.cogtiler.map.getCenter();
      return [c.wrap().lng, c.lat, window.cogtiler.map.getZoom()];
    });
    ok(Math.abs(Math.abs(view[0]) - 179.74) < 1 && Math.abs(view[1] - 51.68) < 1 && view[2] >= 5,
       `${what}: the viewer opens centred on the data across 180 (not on the rest of the world)`,
       JSON.stringify(view));
    ok(sides(w.tiles), `${what}: the viewer asks for tiles on both sides of 180`,
       w.tiles.map((t) => new URL(t.url).pathname).slice(0, 8).join(" "));
    checkTiles(w, `${what} (viewer)`, 2);
    await page.close();

    page = await context.newPage();
    w = watch(page);
    await page.goto(`${origin}/pages/maplibre.html?server=${encodeURIComponent(server.url)}` +
                    "&layer=dateline&lon=179.74&lat=51.68&zoom=8");
    if (await waitReady(page, `${what} (MapLibre GL)`)) {
      await settle(w);
      ok(sides(w.tiles), `${what}: MapLibre GL, from the TileJSON, asks for tiles on both sides of 180`,
         w.tiles.map((t) => new URL(t.url).pathname).slice(0, 8).join(" "));
      checkTiles(w, `${what} (MapLibre GL)`, 2);
    }
  } catch (e) {
    ok(false, what, e.stack);
  } finally {
    if (page) await page.close().catch(() => {});
    if (server) server.proc.kill();
  }
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const config = path.join(OUT, "layers.json");
  fs.writeFileSync(config, JSON.stringify({
    default_layer: "bluemarble",
    layers: {
      bluemarble: { source: DEMO, attribution: "NASA Blue Marble" },
      temperatures: { source: TEMPS, colormap: "rdbu_r", rescale: [-40, 40] },
      missing: { source: path.join(OUT, "no-such-file.tif") },
    },
  }));
  const server = await startServer(config);
  ok(true, `server started at ${server.url}`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "cogtiler-chromium-"));
  let context, pages;
  try {
    // TileJSON of a layer whose source cannot be opened: 502 with the reason.
    const r = await fetch(server.url + "/tiles/missing/tilejson.json");
    const body = await r.json();
    ok(r.status === 502 && /cannot open source/.test(body.detail) && !body.detail.includes(OUT),
       "TileJSON of an unreadable source answers 502 with the reason, not the path",
       `${r.status} ${JSON.stringify(body)}`);

    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: W, height: H },
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    pages = await startPageServer();
    const origin = pages.origin;
    await testClientPage(context, origin, server.url, "leaflet", "Leaflet");
    await testClientPage(context, origin, server.url, "leaflet", "Leaflet (WebP tiles)", "webp");
    await testClientPage(context, origin, server.url, "leaflet", "Leaflet (JPEG tiles)", "jpg");
    await testClientPage(context, origin, server.url, "ol", "OpenLayers");
    await testClientPage(context, origin, server.url, "ol-wmts", "OpenLayers WMTS");
    await testClientPage(context, origin, server.url, "maplibre", "MapLibre GL");
    await testViewer(context, server.url);
    await testAntimeridian(context, origin);
    await testOverlay(context);
    await testPyramidFolder(context, origin, config);
  } catch (e) {
    ok(false, "browser run", e.stack);
  } finally {
    if (context) await context.close();
    if (pages) pages.srv.close();
    server.proc.kill();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  if (server.proc.exitCode === null)
    await new Promise((res) => { server.proc.on("exit", res); setTimeout(res, 3000); });
  console.log(`# ${n - failures} passed, ${failures} failed`);
  console.log(`1..${n}`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  ok(false, "browser run", e.stack);
  console.log(`1..${n}`);
  process.exit(1);
});
