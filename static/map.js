// Maillage — the directory map. Reads the GeoJSON of the current search (the URL in
// data-geojson), draws the France outline (always, so the map is readable without
// tiles), adds tiles when a tile URL is configured, and clusters the markers.
// The page works without this script: the result list is server-rendered.
(function () {
  "use strict";
  var element = document.getElementById("carte");
  if (!element || typeof L === "undefined") { return; }
  // maxZoom is set on the map itself: marker clustering needs it when there are no tiles.
  var map = L.map(element, { scrollWheelZoom: false, maxZoom: 18 }).setView([46.6, 2.4], 5);
  var tiles = element.dataset.tiles;
  if (tiles) {
    L.tileLayer(tiles, { maxZoom: 18, attribution: element.dataset.attribution || "" }).addTo(map);
  }
  fetch("/static/france-outline.geojson")
    .then(function (r) { return r.json(); })
    .then(function (outline) {
      L.geoJSON(outline, { style: { color: "#00558c", weight: 1, fillColor: "#dfe9f2", fillOpacity: 0.5 }, interactive: false }).addTo(map).bringToBack();
    })
    .catch(function () {});
  var cluster = L.markerClusterGroup ? L.markerClusterGroup() : L.layerGroup();
  map.addLayer(cluster);
  // Escapes text for HTML content and attribute values (quotes included).
  function text(value) {
    return String(value == null ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }
  function safeUrl(value) {
    var url = String(value == null ? "" : value);
    return /^https?:\/\//i.test(url) ? url : "#";
  }
  fetch(element.dataset.geojson, { headers: { Accept: "application/geo+json" } })
    .then(function (r) { return r.json(); })
    .then(function (collection) {
      var bounds = [];
      collection.features.forEach(function (feature) {
        var c = feature.geometry.coordinates;
        var p = feature.properties;
        var marker = L.circleMarker([c[1], c[0]], { radius: 7, color: "#00558c", weight: 2, fillColor: "#2a7ab8", fillOpacity: 0.8 });
        marker.bindPopup('<a href="' + text(safeUrl(p.url)) + '">' + text(p.name) + "</a><br>" + text(p.collectivite));
        cluster.addLayer(marker);
        bounds.push([c[1], c[0]]);
      });
      element.dataset.markers = String(collection.features.length);
      if (bounds.length > 0) { map.fitBounds(bounds, { maxZoom: 11, padding: [20, 20] }); }
    })
    .catch(function () { element.dataset.markers = "error"; });
})();

// Small maps of an action's places: points given inline in data-points.
(function () {
  "use strict";
  if (typeof L === "undefined") { return; }
  document.querySelectorAll(".mini-map[data-points]").forEach(function (element) {
    var points = JSON.parse(element.dataset.points || "[]");
    if (points.length === 0) { return; }
    var map = L.map(element, { scrollWheelZoom: false, maxZoom: 18 });
    if (element.dataset.tiles) {
      L.tileLayer(element.dataset.tiles, { maxZoom: 18, attribution: element.dataset.attribution || "" }).addTo(map);
    }
    var bounds = points.map(function (p) {
      L.circleMarker([p[0], p[1]], { radius: 7, color: "#00558c", weight: 2, fillColor: "#2a7ab8", fillOpacity: 0.8 })
        .bindTooltip(document.createTextNode(String(p[2]))).addTo(map);
      return [p[0], p[1]];
    });
    map.fitBounds(bounds, { maxZoom: 14, padding: [20, 20] });
    element.dataset.markers = String(points.length);
  });
})();

// Admin: pick an action's place on a map. Clicking sets the latitude and longitude
// inputs named by data-lat / data-lon; typing in them moves the marker. Without
// JavaScript the inputs are used as they are.
(function () {
  "use strict";
  if (typeof L === "undefined") { return; }
  document.querySelectorAll(".map-picker[data-lat][data-lon]").forEach(function (element) {
    var lat = document.getElementById(element.dataset.lat);
    var lon = document.getElementById(element.dataset.lon);
    if (!lat || !lon) { return; }
    var map = L.map(element, { scrollWheelZoom: false, maxZoom: 18 });
    if (element.dataset.tiles) {
      L.tileLayer(element.dataset.tiles, { maxZoom: 18, attribution: element.dataset.attribution || "" }).addTo(map);
    } else {
      fetch("/static/france-outline.geojson")
        .then(function (r) { return r.json(); })
        .then(function (outline) { L.geoJSON(outline, { style: { color: "#00558c", weight: 1, fillOpacity: 0.05 } }).addTo(map); })
        .catch(function () {});
    }
    var marker = null;
    function read() {
      var y = parseFloat(String(lat.value).replace(",", "."));
      var x = parseFloat(String(lon.value).replace(",", "."));
      return (isFinite(y) && isFinite(x) && Math.abs(y) <= 90 && Math.abs(x) <= 180) ? [y, x] : null;
    }
    function place(point) {
      if (!point) { return; }
      if (marker) { marker.setLatLng(point); } else { marker = L.marker(point).addTo(map); }
    }
    var start = read();
    var fallback = [parseFloat(element.dataset.centerLat), parseFloat(element.dataset.centerLon)];
    if (start) {
      map.setView(start, 14);
      place(start);
    } else if (isFinite(fallback[0]) && isFinite(fallback[1])) {
      map.setView(fallback, 12);
    } else {
      map.setView([46.6, 2.4], 5);
    }
    map.on("click", function (event) {
      lat.value = event.latlng.lat.toFixed(6);
      lon.value = event.latlng.lng.toFixed(6);
      place([event.latlng.lat, event.latlng.lng]);
      element.dataset.picked = lat.value + "," + lon.value;
    });
    [lat, lon].forEach(function (input) {
      input.addEventListener("change", function () { place(read()); });
    });
  });
})();
