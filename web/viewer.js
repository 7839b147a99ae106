/* The cogtiler viewer: a Leaflet map over the configured layers (GET layers),
 * with a layer switcher, colormap and rescale controls, and the values under a
 * clicked point (GET tiles/LAYER/point/LON,LAT). A derived layer's weighted
 * overlay (a "derived" with a "scale") gets a slider per input (weights=) and a
 * legend of its scale (GET colormaps/NAME). Every URL is relative to the page's
 * root (data-root), so the page works under an API stage or a CDN path. */
(function () {
  "use strict";
  /* Made absolute once: the address bar changes to map/LAYER below. */
  var root = new URL(document.body.getAttribute("data-root") || "./", location.href).pathname;
  var current = document.body.getAttribute("data-layer");
  var byName = {};
  var tiles = null;
  /* A weighted overlay's weights: whole percentages in input order summing to
   * 100, as the sliders show them (weights), and the configured ones made whole
   * the same way (configured); both null for every other layer. */
  var weights = null, configured = null;
  var redrawTimer = null;
  var luts = {};       /* colormap name -> promise of its 256 RGBA entries */
  var legendFor = 0;   /* the legend being built; a late LUT for an older one is dropped */
  var $ = function (id) { return document.getElementById(id); };

  var map = L.map("map", { worldCopyJump: true }).setView([20, 0], 2);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a> | cogtiler');

  function status(text, isError) {
    $("status").textContent = text;
    $("status").className = isError ? "error" : "";
  }

  function getJSON(url) {
    return fetch(url).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.detail || "HTTP " + r.status);
        return body;
      });
    });
  }

  /* The query string of the controls: colormap_name and rescale. */
  function query() {
    var p = new URLSearchParams();
    var cm = $("colormap").value, lo = $("rmin").value, hi = $("rmax").value;
    if (cm && !$("colormap").disabled) p.set("colormap_name", cm);
    if (lo !== "" && hi !== "") p.set("rescale", lo + "," + hi);
    /* weights= only once they differ from the configured ones: the layer as
     * configured keeps the URL every other client asks (one cache entry), and
     * configured weights that are not whole numbers are drawn exactly. */
    if (weights && weights.join(",") !== configured.join(",")) p.set("weights", weights.join(","));
    var s = p.toString();
    return s ? "?" + s : "";
  }

  /* The layer's configured format ("format" in /layers); a browser cannot
   * draw GeoTIFF tiles, so those layers are shown as PNG. */
  function tileExt() {
    var f = byName[current] && byName[current].format;
    return f === "webp" || f === "jpg" ? f : "png";
  }

  function tileUrl() {
    return root + "tiles/" + encodeURIComponent(current) + "/{z}/{x}/{y}." + tileExt() + query();
  }

  function isOverlay(info) {
    var d = info.derived;
    return !!(d && d.scale && d.inputs && d.inputs.length);
  }

  /* total split over shares in proportion to them, as whole numbers summing to
   * total (largest remainder, ties to the earlier input); equal parts when every
   * share is 0. */
  function apportion(shares, total) {
    var sum = shares.reduce(function (a, v) { return a + v; }, 0);
    var exact = shares.map(function (v) { return sum > 0 ? total * v / sum : total / shares.length; });
    var out = exact.map(Math.floor);
    var left = total - out.reduce(function (a, v) { return a + v; }, 0);
    var order = out.map(function (v, i) { return i; }).sort(function (a, b) {
      return (exact[b] - out[b]) - (exact[a] - out[a]) || a - b;
    });
    for (var k = 0; k < left && k < order.length; k++) out[order[k]]++;
    return out;
  }

  /* Input i to v %; the rest over the other inputs in proportion to their
   * current weights (equally when they are all 0), so the sum stays 100. */
  function setWeight(i, v) {
    if (weights.length === 1) return;
    v = Math.max(0, Math.min(100, Math.round(v) || 0));
    var others = weights.filter(function (w, j) { return j !== i; });
    var rest = apportion(others, 100 - v);
    weights = weights.map(function (w, j) { return j === i ? v : rest[j < i ? j : j - 1]; });
    showWeights();
  }

  function showWeights() {
    weights.forEach(function (w, i) {
      $("weight-" + i).value = w;
      $("weight-out-" + i).value = w + "%";
    });
  }

  /* Re-renders the tiles with the controls' parameters; schedule: after 150 ms
   * without another call (while a slider is dragged). */
  function redraw() {
    clearTimeout(redrawTimer);
    redrawTimer = null;
    if (tiles) tiles.setUrl(tileUrl());
  }
  function schedule() {
    clearTimeout(redrawTimer);
    redrawTimer = setTimeout(redraw, 150);
  }

  /* The weights panel of layer info: a slider per input of a weighted overlay,
   * none otherwise. */
  function buildWeights(info) {
    var list = $("weight-list");
    list.textContent = "";
    weights = configured = null;
    $("weights").hidden = !isOverlay(info);
    if (!isOverlay(info)) return;
    var inputs = info.derived.inputs;
    configured = apportion(inputs.map(function (x) { return Math.max(Number(x.weight) || 0, 0); }), 100);
    weights = configured.slice();
    inputs.forEach(function (input, i) {
      var label = document.createElement("label");
      label.htmlFor = "weight-" + i;
      label.textContent = input.name;
      if (input.terrain) {
        var kind = document.createElement("span");
        kind.className = "hint";
        kind.textContent = " (" + input.terrain + ")";
        label.appendChild(kind);
      }
      var range = document.createElement("input");
      range.type = "range";
      range.id = "weight-" + i;
      range.min = 0;
      range.max = 100;
      range.step = 1;
      range.disabled = inputs.length === 1;
      range.setAttribute("data-input", input.name);
      range.addEventListener("input", function () { setWeight(i, Number(this.value)); schedule(); });
      range.addEventListener("change", function () { setWeight(i, Number(this.value)); redraw(); });
      var out = document.createElement("output");
      out.id = "weight-out-" + i;
      out.htmlFor = range.id;
      out.setAttribute("data-input", input.name);
      var row = document.createElement("div");
      row.className = "row";
      row.appendChild(range);
      row.appendChild(out);
      list.appendChild(label);
      list.appendChild(row);
    });
    showWeights();
  }

  /* The 256 RGBA entries of colormap name (GET colormaps/NAME, kept); no name:
   * the grey ramp the server draws a one-band layer with. */
  function lut(name) {
    if (!name) {
      var grey = [];
      for (var i = 0; i < 256; i++) grey.push([i, i, i, 255]);
      return Promise.resolve(grey);
    }
    if (!luts[name])
      luts[name] = getJSON(root + "colormaps/" + encodeURIComponent(name)).then(function (m) {
        var out = [];
        for (var i = 0; i < 256; i++) out.push(m[i]);
        return out;
      }, function (err) { delete luts[name]; throw err; });
    return luts[name];
  }

  /* The LUT index of value v between lo and hi, as the server computes it. */
  function lutIndex(v, lo, hi) {
    var t = (v - lo) / (hi - lo) * 255;
    if (!(t > 0)) return 0;
    return t >= 255 ? 255 : Math.floor(t + 0.5);
  }

  function swatch(rgba, text) {
    var el = document.createElement("div");
    el.className = "swatch";
    var box = document.createElement("span");
    box.className = "box";
    if (rgba) box.style.backgroundColor =
      "rgba(" + rgba[0] + ", " + rgba[1] + ", " + rgba[2] + ", " + (rgba[3] === undefined ? 1 : rgba[3] / 255) + ")";
    else box.className += " nodata";
    el.appendChild(box);
    el.appendChild(document.createTextNode(text));
    return el;
  }

  /* The legend for request token, once the colormap's table colors is here
   * (a later request's legend replaces it): the elements parts(colors) makes,
   * in place of what it showed. */
  function fillLegend(token, name, parts) {
    var legend = $("legend");
    lut(name).then(function (colors) {
      if (token !== legendFor) return;
      legend.textContent = "";
      parts(colors).forEach(function (e) { legend.appendChild(e); });
      legend.hidden = false;
    }, function (err) {
      if (token === legendFor) status("legend: " + err.message, true);
    });
  }

  /* The legend of a colormapped one-band layer: the colormap as a bar from
   * the low to the high end of the rescale (the controls', else the layer's;
   * "low" and "high" when the server takes the source's own range). */
  function buildRamp(info, token) {
    var name = $("colormap").value || info.colormap;
    var lo = $("rmin").value, hi = $("rmax").value;
    if (lo === "" || hi === "") {
      lo = info.rescale ? String(info.rescale[0]) : "low";
      hi = info.rescale ? String(info.rescale[1]) : "high";
    }
    fillLegend(token, name, function (colors) {
      var css = function (c) { return "rgba(" + c[0] + ", " + c[1] + ", " + c[2] + ", " + c[3] / 255 + ")"; };
      var stops = [];
      for (var i = 0; i < 256; i += 17) stops.push(css(colors[i])); /* 0, 17, ..., 255 */
      var title = document.createElement("div");
      title.className = "title";
      title.textContent = name;
      var bar = document.createElement("div");
      bar.className = "ramp";
      bar.style.background = "linear-gradient(to right, " + stops.join(", ") + ")";
      bar.setAttribute("data-first", css(colors[0]));
      bar.setAttribute("data-last", css(colors[255]));
      var ends = document.createElement("div");
      ends.className = "ends";
      [lo, hi].forEach(function (t) {
        var e = document.createElement("span");
        e.textContent = t;
        ends.appendChild(e);
      });
      return [title, bar, ends];
    });
  }

  /* The legend of a weighted overlay: a swatch per whole value of its scale in
   * the colormap and rescale of the controls (the layer's by default), then
   * restricted and no data. */
  function buildLegend(info) {
    var legend = $("legend"), token = ++legendFor;
    if (!isOverlay(info)) {
      legend.hidden = true;
      legend.textContent = "";
      if (info.bands === 1 && ($("colormap").value || info.colormap)) buildRamp(info, token);
      return;
    }
    var d = info.derived, scale = d.scale;
    var lo = parseFloat($("rmin").value), hi = parseFloat($("rmax").value);
    if (!isFinite(lo) || !isFinite(hi)) {
      lo = info.rescale ? info.rescale[0] : scale[0];
      hi = info.rescale ? info.rescale[1] : scale[1];
    }
    fillLegend(token, $("colormap").value || info.colormap, function (colors) {
      var title = document.createElement("div");
      title.className = "title";
      title.textContent = "Score " + scale[0] + "\u2013" + scale[1];
      var row = document.createElement("div");
      row.className = "scale";
      for (var v = Math.ceil(scale[0]); v <= scale[1]; v++) {
        var s = swatch(colors[lutIndex(v, lo, hi)], String(v));
        s.setAttribute("data-value", v);
        row.appendChild(s);
      }
      var special = document.createElement("div");
      special.className = "special";
      if (d.restricted_color) {
        var r = swatch(d.restricted_color, "restricted");
        r.setAttribute("data-kind", "restricted");
        special.appendChild(r);
      }
      var n = swatch(null, "no data");
      n.setAttribute("data-kind", "nodata");
      special.appendChild(n);
      return [title, row, special];
    });
  }

  /* A tile layer over a source across the antimeridian (options.dataBounds
   * [west, south, east, north], west > east): Leaflet's own check (the world's
   * tile range), then the tile's bounds, wrapped to -180..180, must touch the
   * data's latitudes and [west, 180] or [-180, east]. */
  var AcrossTiles = L.TileLayer.extend({
    _isValidTile: function (coords) {
      if (!L.TileLayer.prototype._isValidTile.call(this, coords)) return false;
      var t = this._tileCoordsToBounds(coords), d = this.options.dataBounds;
      return t.getNorth() > d[1] && t.getSouth() < d[3] &&
             (t.getEast() > d[0] || t.getWest() < d[2]);
    }
  });

  /* Switches the map to layer name; fit: zoom to its bounds. */
  function show(name, fit) {
    var info = byName[name];
    if (!info) return;
    current = name;
    $("layer").value = name;
    $("colormap").disabled = info.bands !== 1;
    $("colormap").value = info.colormap || "";
    $("rmin").value = info.rescale ? info.rescale[0] : "";
    $("rmax").value = info.rescale ? info.rescale[1] : "";
    clearTimeout(redrawTimer);
    redrawTimer = null;
    buildWeights(info);
    buildLegend(info);
    if (tiles) map.removeLayer(tiles);
    /* [west, south, east, north]; west > east across the antimeridian, where
     * Leaflet's bounds would be the rest of the world: the view's east edge
     * one turn further, and tiles asked where they touch [west, 180] or
     * [-180, east] (AcrossTiles), as the server has none elsewhere */
    var b = info.bounds, across = b[0] > b[2];
    tiles = new (across ? AcrossTiles : L.TileLayer)(tileUrl(), {
      minZoom: 0,
      maxZoom: Math.max(info.maxzoom + 4, 18),
      maxNativeZoom: info.maxzoom,
      bounds: across ? undefined : L.latLngBounds([b[1], b[0]], [b[3], b[2]]),
      dataBounds: b,
      attribution: info.attribution || ""
    }).addTo(map);
    tiles.on("tileerror", function () { status("a tile failed to load", true); });
    if (fit) map.fitBounds([[Math.max(b[1], -85), b[0]],
                            [Math.min(b[3], 85), across ? b[2] + 360 : b[2]]]);
    if (window.history && history.replaceState)
      history.replaceState(null, "", root + "map/" + encodeURIComponent(name) + location.search);
    status(name + ": " + info.bands + " band" + (info.bands === 1 ? "" : "s") +
           ", zoom " + info.minzoom + "-" + info.maxzoom);
  }

  $("layer").addEventListener("change", function () { show(this.value, true); });
  $("colormap").addEventListener("change", function () {
    if (tiles) tiles.setUrl(tileUrl());
    if (byName[current]) buildLegend(byName[current]);
  });
  $("panel").addEventListener("submit", function (e) {
    e.preventDefault();
    if (tiles) tiles.setUrl(tileUrl());
    if (byName[current]) buildLegend(byName[current]);
  });
  $("weights-reset").addEventListener("click", function () {
    if (!weights) return;
    weights = configured.slice();
    showWeights();
    redraw();
  });

  map.on("click", function (e) {
    var ll = e.latlng.wrap();
    var at = ll.lng.toFixed(5) + "," + ll.lat.toFixed(5);
    getJSON(root + "tiles/" + encodeURIComponent(current) + "/point/" + at).then(function (p) {
      var vals = p.values.map(function (v) { return v === null ? "nodata" : String(v); });
      L.popup().setLatLng(e.latlng)
        .setContent('<div class="values">' + at + "<br>" + vals.join(", ") + "</div>")
        .openOn(map);
    }, function (err) {
      L.popup().setLatLng(e.latlng).setContent(at + "<br>" + err.message).openOn(map);
    });
  });

  Promise.all([getJSON(root + "layers"), getJSON(root + "colormaps")]).then(function (r) {
    r[1].colormaps.forEach(function (name) {
      $("colormap").appendChild(new Option(name, name));
    });
    r[0].layers.forEach(function (l) {
      var opt = new Option(l.name + (l.error ? " (unavailable)" : ""), l.name);
      opt.disabled = !!l.error;
      $("layer").appendChild(opt);
      if (!l.error) byName[l.name] = l;
    });
    if (!byName[current]) current = r[0]["default"];
    show(current, true);
  }).catch(function (err) { status(err.message, true); });

  window.cogtiler = {
    map: map, show: show, tileUrl: tileUrl,
    tiles: function () { return tiles; },
    weights: function () { return weights && weights.slice(); }
  };
})();
