// Maillage — the maps. Without this script the pages still work: the result list is
// server-rendered and holds the same actions as the map.
//
// Accessibility (RGAA 4.1): zoom buttons and credits in French; every marker and
// cluster is a keyboard-focusable button with a name ("Médiathèque — Lille",
// "23 actions"); Enter or Space on a marker opens its bubble and moves focus to the
// link inside, Escape closes it and returns focus to the marker; Enter on a cluster
// zooms into it. The France outline is always drawn, so the map is readable without
// third-party tiles (the default).
(function () {
  "use strict";

  // The filter panel starts open on wide screens (closed on phones, where results
  // should come first).
  var panel = document.getElementById("filtres");
  if (panel && window.matchMedia && window.matchMedia("(min-width: 40rem)").matches) {
    panel.open = true;
  }

  if (typeof L === "undefined") { return; }

  // A map on `element` with French controls, the France outline and, when the page
  // gives a tile URL, third-party tiles. `options.interactive = false` for small maps.
  function baseMap(element, options) {
    var map = L.map(element, { scrollWheelZoom: false, maxZoom: 18, zoomControl: false });
    L.control.zoom({ zoomInTitle: "Zoomer", zoomOutTitle: "Dézoomer" }).addTo(map);
    map.attributionControl.setPrefix('<a href="https://leafletjs.com" hreflang="en">Leaflet</a>');
    if (element.dataset.tiles) {
      L.tileLayer(element.dataset.tiles, { maxZoom: 18, attribution: element.dataset.attribution || "" }).addTo(map);
    }
    if (!(options && options.outline === false)) {
      fetch("/static/france-outline.geojson")
        .then(function (r) { return r.json(); })
        .then(function (outline) {
          L.geoJSON(outline, { style: { color: "#00558c", weight: 1, fillColor: "#dfe9f2", fillOpacity: element.dataset.tiles ? 0.1 : 0.5 }, interactive: false }).addTo(map).bringToBack();
        })
        .catch(function () {});
    }
    return map;
  }

  // A div icon that is a named button (Leaflet makes keyboard markers focusable
  // with role="button"; the name goes on that same element).
  var NamedIcon = L.DivIcon.extend({
    createIcon: function (old) {
      var div = L.DivIcon.prototype.createIcon.call(this, old);
      div.setAttribute("aria-label", this.options.label);
      div.setAttribute("role", "button");
      div.tabIndex = 0;
      return div;
    }
  });

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
  function plural(n, one, many) { return n + " " + (n < 2 ? one : many); }
  function isActivation(event) {
    var key = event.originalEvent && event.originalEvent.key;
    return key === "Enter" || key === " ";
  }

  // Focus follows the bubble: into its link when it opens, back to its marker when
  // it closes (Escape, the close button) while focus was inside it.
  function keyboardPopups(map) {
    map.on("popupopen", function (event) {
      var link = event.popup.getElement() && event.popup.getElement().querySelector(".leaflet-popup-content a");
      if (link) { link.focus(); }
    });
    map.getContainer().addEventListener("keydown", function (event) {
      var popup = map._popup;
      if (event.key !== "Escape" || !popup || !popup.isOpen()) { return; }
      var source = popup._source;
      map.closePopup(popup);
      if (source && source.getElement && source.getElement()) { source.getElement().focus(); }
    });
    map.on("popupclose", function (event) {
      var source = event.popup._source;
      setTimeout(function () {
        var active = document.activeElement;
        if ((!active || active === document.body || !document.contains(active)) && source && source.getElement && source.getElement()) {
          source.getElement().focus();
        }
      }, 0);
    });
  }

  var element = document.getElementById("carte");
  if (element) {
    var map = baseMap(element);
    keyboardPopups(map);
    var cluster = L.markerClusterGroup ? L.markerClusterGroup({
      iconCreateFunction: function (group) {
        var n = group.getChildCount();
        var size = n < 10 ? "small" : (n < 100 ? "medium" : "large");
        return new NamedIcon({
          html: '<div><span aria-hidden="true">' + n + "</span></div>",
          className: "marker-cluster marker-cluster-" + size,
          iconSize: L.point(40, 40),
          label: plural(n, "action", "actions") + " : zoomer sur ce groupe"
        });
      }
    }) : L.layerGroup();
    if (cluster.on) {
      cluster.on("clusterkeypress", function (event) {
        if (!isActivation(event)) { return; }
        event.originalEvent.preventDefault();
        event.layer.zoomToBounds({ padding: [20, 20] });
      });
    }
    map.addLayer(cluster);
    fetch(element.dataset.geojson, { headers: { Accept: "application/geo+json" } })
      .then(function (r) { return r.json(); })
      .then(function (collection) {
        var bounds = [];
        collection.features.forEach(function (feature) {
          var c = feature.geometry.coordinates;
          var p = feature.properties;
          var marker = L.marker([c[1], c[0]], {
            keyboard: true,
            icon: new NamedIcon({ className: "action-marker", iconSize: L.point(16, 16), label: String(p.name) + " — " + String(p.collectivite) })
          });
          marker.bindPopup('<a href="' + text(safeUrl(p.url)) + '">' + text(p.name) + "</a><br>" + text(p.collectivite));
          marker.on("keypress", function (event) {
            if (event.originalEvent.key === " ") { event.originalEvent.preventDefault(); marker.openPopup(); }
          });
          cluster.addLayer(marker);
          bounds.push([c[1], c[0]]);
        });
        element.dataset.markers = String(collection.features.length);
        if (bounds.length > 0) { map.fitBounds(bounds, { maxZoom: 11, padding: [20, 20] }); }
      })
      .catch(function () { element.dataset.markers = "error"; });
  }

  // Small maps of an action's places: points given inline in data-points; the places
  // are also written out on the page.
  document.querySelectorAll(".mini-map[data-points]").forEach(function (mini) {
    var points = JSON.parse(mini.dataset.points || "[]");
    if (points.length === 0) { return; }
    var small = baseMap(mini);
    var bounds = points.map(function (p) {
      L.circleMarker([p[0], p[1]], { radius: 7, color: "#00558c", weight: 2, fillColor: "#2a7ab8", fillOpacity: 0.8, interactive: false })
        .addTo(small);
      return [p[0], p[1]];
    });
    small.fitBounds(bounds, { maxZoom: 14, padding: [20, 20] });
    mini.dataset.markers = String(points.length);
  });

  // Admin: pick an action's place on a map. Clicking sets the latitude and longitude
  // inputs named by data-lat / data-lon; typing in them moves the marker. Without
  // JavaScript (or without a pointer) the inputs are used as they are.
  document.querySelectorAll(".map-picker[data-lat][data-lon]").forEach(function (picker) {
    var lat = document.getElementById(picker.dataset.lat);
    var lon = document.getElementById(picker.dataset.lon);
    if (!lat || !lon) { return; }
    var map = baseMap(picker);
    var marker = null;
    function read() {
      var y = parseFloat(String(lat.value).replace(",", "."));
      var x = parseFloat(String(lon.value).replace(",", "."));
      return (isFinite(y) && isFinite(x) && Math.abs(y) <= 90 && Math.abs(x) <= 180) ? [y, x] : null;
    }
    function place(point) {
      if (!point) { return; }
      if (marker) { marker.setLatLng(point); } else {
        marker = L.marker(point, { keyboard: false, icon: L.divIcon({ className: "action-marker", iconSize: L.point(16, 16) }) }).addTo(map);
      }
    }
    var start = read();
    var fallback = [parseFloat(picker.dataset.centerLat), parseFloat(picker.dataset.centerLon)];
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
      picker.dataset.picked = lat.value + "," + lon.value;
    });
    [lat, lon].forEach(function (input) {
      input.addEventListener("change", function () { place(read()); });
    });
  });
})();
