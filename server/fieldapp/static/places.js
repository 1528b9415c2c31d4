// Whether a GPS fix lies in an area, from the boundary the pull brought (GeoJSON, longitude first): no signal needed.

/** True inside `boundary` (Polygon or MultiPolygon, holes excluded), false outside, null when there is none. */
export function inside (boundary, lat, lon) {
  if (!boundary) return null
  const polygons = boundary.type === 'Polygon' ? [boundary.coordinates]
    : boundary.type === 'MultiPolygon' ? boundary.coordinates : []
  return polygons.some(([outer, ...holes]) => inRing(outer, lon, lat) && !holes.some((hole) => inRing(hole, lon, lat)))
}

// Ray casting: a point is inside when a ray from it crosses the ring's edges an odd number of times.
function inRing (ring, x, y) {
  let odd = false
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i]
    const [xj, yj] = ring[j]
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) odd = !odd
  }
  return odd
}
