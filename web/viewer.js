/* The cogtiler viewer: a Leaflet map over the configured layers (GET layers),
 * with a layer switcher, colormap and rescale controls, and the values under a
 * clicked point (GET tiles/LAYER/point/LON,LAT). Every URL is relative to the
 * page's root (data-root), so the page works under an API stage or a CDN path. */
(function () {
  "use strict";
  /* Made absolute once: the address bar changes to map/LAYER below. */
  var root = new URL(document.body.getAttribute("data-root") || "./", location.href).pathname;
  var current = document.body.getAttribute("data-layer");
  var byName = {};
  var tiles = null;
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
    var s = p.toString();
    return s ? "?" + s : "";
  }

  function tileUrl() {
    return root + "tiles/" + encodeURIComponent(current) + "/{z}/{x}/{y}.png" + query();
  }

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
    if (tiles) map.removeLayer(tiles);
    var b = info.bounds; /* [west, south, east, north] */
    tiles = L.tileLayer(tileUrl(), {
      minZoom: 0,
      maxZoom: Math.max(info.maxzoom + 4, 18),
      maxNativeZoom: info.maxzoom,
      bounds: L.latLngBounds([b[1], b[0]], [b[3], b[2]]),
      attribution: info.attribution || ""
    }).addTo(map);
    tiles.on("tileerror", function () { status("a tile failed to load", true); });
    if (fit) map.fitBounds([[Math.max(b[1], -85), b[0]], [Math.min(b[3], 85), b[2]]]);
    if (window.history && history.replaceState)
      history.replaceState(null, "", root + "map/" + encodeURIComponent(name) + location.search);
    status(name + ": " + info.bands + " band" + (info.bands === 1 ? "" : "s") +
           ", zoom " + info.minzoom + "-" + info.maxzoom);
  }

  $("layer").addEventListener("change", function () { show(this.value, true); });
  $("colormap").addEventListener("change", function () { if (tiles) tiles.setUrl(tileUrl()); });
  $("panel").addEventListener("submit", function (e) {
    e.preventDefault();
    if (tiles) tiles.setUrl(tileUrl());
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

  window.cogtiler = { map: map, show: show, tileUrl: tileUrl };
})();
