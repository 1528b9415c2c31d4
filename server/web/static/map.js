// The review pages' map: OpenLayers drawing only what this server sends (our vector tiles, an optional configured
// raster background), so nothing is fetched from the internet and no WebGL is needed.
(function () {
  "use strict";

  var YUNNAN = [97.5, 21.1, 106.2, 29.3]; // where the map opens when the reader's areas have no known extent

  function areaStyle() {
    return new ol.style.Style({
      stroke: new ol.style.Stroke({ color: "rgba(80, 90, 110, 0.8)", width: 1 }),
      fill: new ol.style.Fill({ color: "rgba(0, 0, 0, 0)" })
    });
  }

  function create(element) {
    var layers = [];
    if (element.dataset.base) {
      layers.push(new ol.layer.Tile({
        source: new ol.source.XYZ({ url: element.dataset.base, attributions: element.dataset.attribution || undefined })
      }));
    }
    if (element.dataset.areas) {
      layers.push(new ol.layer.VectorTile({
        source: new ol.source.VectorTile({ format: new ol.format.MVT(), url: element.dataset.areas }),
        style: areaStyle()
      }));
    }
    var map = new ol.Map({ target: element, layers: layers, view: new ol.View({ center: [0, 0], zoom: 2, maxZoom: 19 }) });
    var extent = element.dataset.extent ? JSON.parse(element.dataset.extent) : YUNNAN;
    fit(map, extent);
    element.olMap = map; // for the page's other scripts and the browser tests
    return map;
  }

  function fit(map, lonLatExtent) {
    var west = lonLatExtent[0], south = lonLatExtent[1], east = lonLatExtent[2], north = lonLatExtent[3];
    if (east - west < 0.002 && north - south < 0.002) { // one point: a village's worth of room around it
      west -= 0.01; east += 0.01; south -= 0.01; north += 0.01;
    }
    map.getView().fit(ol.proj.transformExtent([west, south, east, north], "EPSG:4326", "EPSG:3857"),
      { padding: [20, 20, 20, 20], maxZoom: 17 });
  }

  function point(lat, lon) {
    return new ol.geom.Point(ol.proj.fromLonLat([lon, lat]));
  }

  window.SurveyMap = { create: create, fit: fit, point: point };
})();
