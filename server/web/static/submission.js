// One submission: its fix, the household's position and the village boundary on the map, and the keys that decide
// it (A approve, I has issues, R reject, N next) without leaving the keyboard.
(function () {
  "use strict";

  var element = document.getElementById("map");
  var place = document.getElementById("place");
  if (element && window.ol && place) {
    var map = SurveyMap.create(element);
    var data = JSON.parse(place.textContent);
    var source = new ol.source.Vector();
    if (data.boundary) {
      var boundary = new ol.format.GeoJSON().readFeature({ type: "Feature", geometry: data.boundary, properties: { kind: "boundary" } },
        { dataProjection: "EPSG:4326", featureProjection: "EPSG:3857" });
      source.addFeature(boundary);
    }
    [["household", data.household], ["gps", data.gps]].forEach(function (pair) {
      if (pair[1]) { source.addFeature(new ol.Feature({ geometry: SurveyMap.point(pair[1].lat, pair[1].lon), kind: pair[0] })); }
    });
    var COLOURS = { gps: "#1d4ed8", household: "#ea580c" };
    map.addLayer(new ol.layer.Vector({ source: source, style: function (feature) {
      if (feature.get("kind") === "boundary") {
        return new ol.style.Style({ stroke: new ol.style.Stroke({ color: "#0f766e", width: 2 }),
          fill: new ol.style.Fill({ color: "rgba(15, 118, 110, 0.08)" }) });
      }
      return new ol.style.Style({ image: new ol.style.Circle({ radius: 7, fill: new ol.style.Fill({ color: COLOURS[feature.get("kind")] }),
        stroke: new ol.style.Stroke({ color: "#fff", width: 2 }) }) });
    } }));
    if (source.getFeatures().length) {
      var extent = ol.proj.transformExtent(source.getExtent(), "EPSG:3857", "EPSG:4326");
      SurveyMap.fit(map, extent);
    }
  }

  var form = document.getElementById("decision");
  var comment = document.getElementById("comment");
  var next = document.getElementById("next");
  var pending = null; // a decision that waits for its comment

  function decide(button) {
    var needsComment = button.value !== "approved";
    if (needsComment && !comment.value.trim()) {
      pending = button;
      comment.required = true;
      comment.focus();
      comment.setAttribute("placeholder", comment.dataset.hint || "");
      return;
    }
    form.requestSubmit(button);
  }

  if (form) {
    form.querySelectorAll("button[name=decision]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (button.value !== "approved" && !comment.value.trim()) { event.preventDefault(); decide(button); }
      });
    });
    comment.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && pending) { event.preventDefault(); decide(pending); }
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.target.closest("input, textarea, select")) { return; }
    var key = event.key.toLowerCase();
    var buttons = { a: "approve", i: "has-issues", r: "reject" };
    if (form && buttons[key]) { event.preventDefault(); decide(document.getElementById(buttons[key])); }
    else if (key === "n" && next) { event.preventDefault(); window.location.assign(next.href); }
  });
})();
