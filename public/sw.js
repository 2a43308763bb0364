// Junction's service worker: keeps the app shell so the inbox opens offline with its full history
// (the history itself lives in IndexedDB; this only has to serve the code that reads it).
// Hand-written on purpose: three rules, no build step.
//   navigations       network first, cached shell as the fallback
//   /_next/static/*   cache first (file names are content hashes, so a cached file never goes stale)
//   socket.io, /api   never touched: live traffic and encrypted blobs are not the shell
const CACHE = "junction-shell-v1";
const SHELL = ["/", "/manifest.webmanifest", "/icons/icon-192.png", "/icons/icon-512.png"];

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // one by one, so a single failure (offline install) does not abort the worker
      await Promise.all(SHELL.map((url) => cache.add(url).catch(() => undefined)));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(names.filter((name) => name !== CACHE).map((name) => caches.delete(name)));
      await self.clients.claim();
    })(),
  );
});

// The page sends the static URLs it loaded before this worker controlled it.
self.addEventListener("message", (event) => {
  const data = event.data;
  if (!data || data.type !== "cache-urls" || !Array.isArray(data.urls)) return;
  const urls = data.urls.filter((url) => typeof url === "string" && isStatic(new URL(url, self.location.origin)));
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await Promise.all(
        urls.map(async (url) => {
          if (await cache.match(url)) return;
          await cache.add(url).catch(() => undefined);
        }),
      );
    })(),
  );
});

function isStatic(url) {
  return url.origin === self.location.origin && url.pathname.startsWith("/_next/static/");
}

function isLive(url) {
  return url.pathname.startsWith("/socket.io") || url.pathname.startsWith("/api/");
}

async function networkFirstShell(request) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put("/", response.clone());
    return response;
  } catch (error) {
    const cached = (await cache.match("/")) ?? (await cache.match(request, { ignoreSearch: true }));
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

async function staleWhileRevalidate(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  const fresh = fetch(request)
    .then(async (response) => {
      if (response.ok) await cache.put(request, response.clone());
      return response;
    })
    .catch(() => cached ?? Response.error());
  return cached ?? fresh;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || isLive(url)) return;
  if (request.mode === "navigate") {
    // the app is one page: every navigation inside the scope is the shell
    if (url.pathname === "/") event.respondWith(networkFirstShell(request));
    return;
  }
  if (isStatic(url)) {
    event.respondWith(cacheFirst(request));
    return;
  }
  if (SHELL.includes(url.pathname)) event.respondWith(staleWhileRevalidate(request));
});
