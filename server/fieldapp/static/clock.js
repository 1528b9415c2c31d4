// China Standard Time (+08:00, no summer time), the clock devices in Yunnan keep: how the app writes and shows moments.

const OFFSET_MS = 8 * 3600 * 1000

/** The wall clock in China at `moment`, as 'YYYY-MM-DDTHH:MM:SS' (no offset). */
export function chinaClock (moment) {
  return new Date(moment.getTime() + OFFSET_MS).toISOString().slice(0, 19)
}

/** A moment as devices write it (protocol.md times): China time with its offset. */
export function chinaTime (moment) {
  return `${chinaClock(moment)}+08:00`
}
