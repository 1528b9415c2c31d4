// The field app's service worker (BUILD and SHELL are written above by server/fieldapp): the app opens with no signal.

const SHELL_CACHE = `shell-${BUILD}`

self.addEventListener('install', (event) => {
  // Every file or none: a half-cached release would open broken offline. The outbox lives in IndexedDB, untouched.
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: 'reload' })))).then(() => self.skipWaiting()))
})

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('shell-') && name !== SHELL_CACHE) await caches.delete(name)
    }
    await self.clients.claim()
  })())
})

self.addEventListener('fetch', (event) => {
  const request = event.request
  if (request.method !== 'GET') return
  const url = new URL(request.url)
  if (url.origin !== self.location.origin) return
  if (SHELL.includes(url.pathname)) {
    event.respondWith(caches.open(SHELL_CACHE).then((cache) => cache.match(url.pathname)).then((hit) => hit || fetch(request)))
  }
  // Everything else (the API) goes to the network: the app keeps the forms, the boundaries and everything else it
  // pulled in IndexedDB itself, where a new release of the worker never touches them.
})
