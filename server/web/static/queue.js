// The submission list beside its map: the map draws every submission of the list's filter (vector tiles, counted
// cells far out); choosing a row marks it on the map, and choosing a point on the map marks its row.
(function () {
  "use strict";

  var element = document.getElementById("map");
  if (!element || !window.ol) { return; }
  var map = SurveyMap.create(element);
  var selected = null;
  var COLOURS = { pending: "#d97706", approved: "#15803d", rejected: "#b91c1c", has_issues: "#7c3aed" };

  function style(feature) {
    var count = feature.get("count");
    if (count !== undefined) { // a cell counting the submissions in it
      var radius = 6 + Math.min(16, Math.log(count + 1) * 3);
      return new ol.style.Style({
        image: new ol.style.Circle({ radius: radius, fill: new ol.style.Fill({ color: "rgba(29, 78, 216, 0.55)" }),
          stroke: new ol.style.Stroke({ color: "#fff", width: 1 }) }),
        text: new ol.style.Text({ text: String(count), fill: new ol.style.Fill({ color: "#fff" }), font: "11px sans-serif" })
      });
    }
    var chosen = feature.get("uuid") === selected;
    return new ol.style.Style({
      image: new ol.style.Circle({ radius: chosen ? 9 : 5,
        fill: new ol.style.Fill({ color: COLOURS[feature.get("review_state")] || "#555" }),
        stroke: new ol.style.Stroke({ color: chosen ? "#111" : "#fff", width: chosen ? 3 : 1 }) }),
      zIndex: chosen ? 10 : 1
    });
  }

  var submissions = new ol.layer.VectorTile({
    source: new ol.source.VectorTile({ format: new ol.format.MVT(), url: element.dataset.tiles }),
    style: style
  });
  map.addLayer(submissions);

  // The row chosen, drawn as a ring even where its point is inside a counted cell.
  var ring = new ol.source.Vector();
  map.addLayer(new ol.layer.Vector({ source: ring, zIndex: 20, style: new ol.style.Style({
    image: new ol.style.Circle({ radius: 11, stroke: new ol.style.Stroke({ color: "#111", width: 3 }) }) }) }));

  var rows = Array.prototype.slice.call(document.querySelectorAll("#submissions tbody tr[data-uuid]"));

  function choose(uuid, fromMap) {
    selected = uuid;
    element.dataset.selected = uuid;
    rows.forEach(function (row) { row.classList.toggle("selected", row.dataset.uuid === uuid); });
    ring.clear();
    var row = rows.filter(function (r) { return r.dataset.uuid === uuid; })[0];
    if (row && row.dataset.lat) {
      var geometry = SurveyMap.point(parseFloat(row.dataset.lat), parseFloat(row.dataset.lon));
      ring.addFeature(new ol.Feature(geometry));
      if (!fromMap) { map.getView().animate({ center: geometry.getCoordinates(), duration: 250 }); }
    }
    if (row && fromMap) { row.scrollIntoView({ block: "nearest" }); }
    submissions.changed();
  }

  rows.forEach(function (row) {
    row.addEventListener("click", function (event) {
      if (event.target.closest("a, input, button, label")) { return; }
      choose(row.dataset.uuid, false);
    });
  });

  map.on("singleclick", function (event) {
    // The layer's own look-up (OpenLayers' documented way for vector tiles): the features drawn under the pixel.
    submissions.getFeatures(event.pixel).then(function (found) {
      var points = found.filter(function (feature) { return feature.get("uuid"); });
      if (points.length) {
        // Visits of one household stand on one spot: each click on it takes the next of them.
        var at = points.map(function (feature) { return feature.get("uuid"); }).indexOf(selected);
        choose(points[(at + 1) % points.length].get("uuid"), true);
      } else if (found.length && found[0].get("count") !== undefined) { // a cell: come closer
        map.getView().animate({ center: event.coordinate, zoom: map.getView().getZoom() + 2, duration: 250 });
      }
    });
  });

  var caption = document.getElementById("map-caption");
  map.on("rendercomplete", function () {
    var extent = map.getView().calculateExtent(map.getSize());
    var drawn = 0;
    submissions.getFeaturesInExtent(extent).forEach(function (feature) {
      drawn += feature.get("count") !== undefined ? feature.get("count") : 1;
    });
    element.dataset.drawn = String(drawn);
    if (caption) { caption.textContent = element.dataset.labelOne.replace("{n}", drawn); }
  });

  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("#submissions input[name=submission]").forEach(function (box) { box.checked = all.checked; });
    });
  }
})();
