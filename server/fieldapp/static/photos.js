// Photos shrunk on the phone before they are stored: a camera's 4-12 MB becomes a few hundred KB to send on 2G.

const LONGEST_SIDE = 1600 // enough to read a door plate or judge a wall's cracks
const QUALITY = 0.8

/** The picked or taken file as a JPEG no larger than LONGEST_SIDE; a file that is not an image is kept as it is. */
export async function shrink (file) {
  if (!file.type.startsWith('image/')) return file
  let bitmap
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' })
  } catch {
    return file // a format this browser cannot draw (say HEIC): sent as taken, the server checks its type
  }
  const scale = Math.min(1, LONGEST_SIDE / Math.max(bitmap.width, bitmap.height))
  const canvas = document.createElement('canvas')
  canvas.width = Math.round(bitmap.width * scale)
  canvas.height = Math.round(bitmap.height * scale)
  canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height)
  bitmap.close()
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', QUALITY))
  return blob && blob.size < file.size ? blob : file
}
