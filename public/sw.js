// Atrium's service worker: keeps the app shell (styles, WASM bundle, icons,
// offline page) for fast starts, and shows the offline page when a
// navigation fails. Pages and API answers are never cached: they are personal.
const CACHE = "atrium-shell-v1";
const SHELL = [
  "/offline.html",
  "/pkg/atrium.css",
  "/pkg/atrium.js",
  "/pkg/atrium.wasm",
  "/icons/icon-192.png",
  "/icons/icon-512.png",
  "/favicon.ico",
  "/manifest.webmanifest",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      // One missing asset must not stop installation.
      Promise.all(SHELL.map((url) => cache.add(url).catch(() => undefined)))
    ).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;

  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(() => caches.match("/offline.html")));
    return;
  }
  if (url.pathname.startsWith("/pkg/") || url.pathname.startsWith("/icons/")) {
    // Network first so a new build is picked up; the cache covers offline.
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok) {
            const copy = response.clone();
            caches.open(CACHE).then((cache) => cache.put(request, copy));
          }
          return response;
        })
        .catch(() => caches.match(request))
    );
  }
});
