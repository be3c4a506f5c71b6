// Atrium's service worker: keeps the app shell (styles, WASM bundle, icons,
// offline page) for fast starts, and shows the offline page when a
// navigation fails. Pages and API answers are never cached: they are personal.
//
// The server fills in ASSETS when it serves this file: this build's id and
// its shell files, whose names carry content hashes. A new build is a new
// worker with a new cache; activating it drops the old caches.
const ASSETS = "__ATRIUM_ASSETS__";
const BUILD = typeof ASSETS === "object" ? ASSETS.build : "unversioned";
const SHELL = typeof ASSETS === "object" ? ASSETS.shell : ["/offline.html"];
const CACHE = `atrium-shell-${BUILD}`;
// Names like atrium.<22-character hash>.wasm never change their contents.
const HASHED = /\.[A-Za-z0-9_-]{22}\.[a-z]+$/;

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

function fetchAndKeep(request) {
  return fetch(request).then((response) => {
    if (response.ok) {
      const copy = response.clone();
      caches.open(CACHE).then((cache) => cache.put(request, copy));
    }
    return response;
  });
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;

  if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(() => caches.match("/offline.html")));
    return;
  }
  if (url.pathname.startsWith("/pkg/") && HASHED.test(url.pathname)) {
    // A hashed name is immutable: the cached copy is always right.
    event.respondWith(
      caches.match(request).then((hit) => hit || fetchAndKeep(request))
    );
    return;
  }
  if (url.pathname.startsWith("/pkg/") || url.pathname.startsWith("/icons/")) {
    // Network first so a new file is picked up; the cache covers offline.
    event.respondWith(fetchAndKeep(request).catch(() => caches.match(request)));
  }
});
